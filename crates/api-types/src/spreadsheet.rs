//! Cells as both services write them into a CSV file a person will open in
//! a spreadsheet: text a spreadsheet would run as a formula is neutralised.

use std::borrow::Cow;

/// A cell safe to open in a spreadsheet: text a spreadsheet would run as a
/// formula gets a leading apostrophe, so it shows as text. That is text
/// whose first character, past any whitespace or invisible characters, is
/// `=`, `+`, `-` or `@` (or their fullwidth forms), or that starts with a
/// tab or a line break — unless it is a plain number.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    let invisible =
        |c: char| c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}');
    let first = cell.trim_start_matches(invisible).chars().next();
    let formula =
        matches!(first, Some('=' | '+' | '-' | '@' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'));
    let control = cell.starts_with(['\t', '\r', '\n']);
    if (formula || control) && cell.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_are_neutralised_however_they_hide_and_numbers_kept() {
        for risky in [
            "=HYPERLINK(\"http://x\")",
            "@SUM(A1)",
            "+cmd",
            "\t=1",
            " =1+1",
            "\n=1+1",
            "\u{200B}=1+1",
            "\u{FEFF}@A1",
            "\u{FF1D}1+1",
            "\r",
        ] {
            assert_eq!(safe_cell(risky), format!("'{risky}"), "{risky:?}");
        }
        for kept in ["-1.5", "+3", " 42", "Biscoe", "", "a=b"] {
            assert_eq!(safe_cell(kept), kept, "{kept:?}");
        }
    }
}
