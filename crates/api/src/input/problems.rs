//! Collects field problems while parsing, keeping the report bounded.

use api_types::{FieldError, LocPart};

/// The most problems one error body lists; the rest are only counted, so a
/// 10,000-row batch of bad rows still gets a short answer.
pub const MAX_REPORTED_PROBLEMS: usize = 50;

/// Object keys longer than this are cut in error locations: a key is client
/// input, and error bodies never echo unbounded input.
const MAX_KEY_CHARS: usize = 64;

/// Every problem found in one request, the first [`MAX_REPORTED_PROBLEMS`] kept.
#[derive(Debug, Default)]
pub struct Problems {
    kept: Vec<FieldError>,
    total: usize,
}

impl Problems {
    /// Records one problem; `make` runs only if it is kept, so the problems
    /// past the cap cost no allocation.
    pub fn record(&mut self, make: impl FnOnce() -> FieldError) {
        self.total += 1;
        if self.kept.len() < MAX_REPORTED_PROBLEMS {
            self.kept.push(make());
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many problems were found, including those not kept.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The kept problems.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.kept
    }
}

/// A key as it may appear in an error location: cut to a bounded length.
pub fn bounded_key(key: &str) -> LocPart {
    match key.char_indices().nth(MAX_KEY_CHARS) {
        Some((cut, _)) => LocPart::Key(format!("{}…", &key[..cut])),
        None => LocPart::Key(key.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use api_types::FieldErrorKind;

    use super::*;

    #[test]
    fn problems_past_the_cap_are_counted_but_not_kept() {
        let mut p = Problems::default();
        let mut made = 0;
        for i in 0..MAX_REPORTED_PROBLEMS + 7 {
            p.record(|| {
                made += 1;
                FieldError {
                    loc: vec![i.into()],
                    msg: "m".to_owned(),
                    kind: FieldErrorKind::Missing,
                    allowed: None,
                }
            });
        }
        assert_eq!(p.total(), MAX_REPORTED_PROBLEMS + 7);
        assert_eq!(made, MAX_REPORTED_PROBLEMS, "problems past the cap are never built");
        assert_eq!(p.into_errors().len(), MAX_REPORTED_PROBLEMS);
    }

    #[test]
    fn a_long_key_is_cut_in_locations() {
        let key = "k".repeat(10_000);
        let LocPart::Key(cut) = bounded_key(&key) else { panic!("a key stays a key") };
        assert_eq!(cut.chars().count(), MAX_KEY_CHARS + 1);
    }
}
