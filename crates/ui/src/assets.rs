//! Static assets compiled into the binary, served under content-hashed names
//! so browsers may cache them forever.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::UiError;

const STYLESHEET: &str = include_str!("../assets/style.css");

/// The stylesheet's URL path, e.g. `/assets/style.3f2a….css`.
pub static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/assets/{}", stylesheet_file_name()));

fn stylesheet_file_name() -> String {
    format!("style.{:016x}.css", fnv1a(STYLESHEET.as_bytes()))
}

/// FNV-1a: a stable content hash (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// `GET /assets/{file}`: only the current hashed name exists.
pub async fn serve(Path(file): Path<String>) -> Result<Response, UiError> {
    if file != stylesheet_file_name() {
        return Err(UiError::PageNotFound);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response())
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
