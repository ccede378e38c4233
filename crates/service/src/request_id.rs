//! The request id both services put on every exchange: the client's own,
//! when it is usable, or a new one; echoed back and forwarded from the UI to
//! the API so one click can be followed through both services' logs.

/// The header carrying the request id.
pub const HEADER: &str = "x-request-id";

/// The longest client-given id kept; longer ones are replaced, since the id
/// is echoed in headers, logs and error bodies.
pub const MAX_LEN: usize = 128;

/// The client's id, if it may be reused as is: non-empty, at most
/// [`MAX_LEN`] bytes, visible ASCII only (so it is safe in a header and a log line).
pub fn usable(given: &str) -> Option<&str> {
    let ok = !given.is_empty() && given.len() <= MAX_LEN && given.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ids_are_reused() {
        assert_eq!(usable("trace-me-123"), Some("trace-me-123"));
        assert_eq!(usable(""), None);
        assert_eq!(usable(&"x".repeat(MAX_LEN + 1)), None);
        assert_eq!(usable("has space"), None);
        assert_eq!(usable("tab\there"), None);
    }
}
