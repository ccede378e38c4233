//! Static assets compiled into the binary, named by a hash of their content
//! so browsers may cache them forever (`routes::assets` serves them).

use std::sync::LazyLock;

/// The stylesheet's text.
pub const STYLESHEET: &str = include_str!("../assets/style.css");

/// The stylesheet's URL path, e.g. `/assets/style.3f2a….css`.
pub static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/assets/{}", stylesheet_file_name()));

/// The stylesheet's file name, e.g. `style.3f2a….css`.
pub fn stylesheet_file_name() -> String {
    format!("style.{:016x}.css", fnv1a(STYLESHEET.as_bytes()))
}

/// FNV-1a: a stable content hash (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_name_changes_with_its_content() {
        assert_ne!(fnv1a(b"a { color: red }"), fnv1a(b"a { color: blue }"));
        assert!(STYLESHEET_PATH.starts_with("/assets/style.") && STYLESHEET_PATH.ends_with(".css"));
    }
}
