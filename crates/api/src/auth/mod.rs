//! The optional API key guarding prediction endpoints.
//!
//! Only predictions are guarded: health, readiness, model cards, docs and
//! metrics stay open so platforms, the UI's form pages and operators can use
//! them without the secret.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Lets the request through when no key is configured or it carries the right one.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(expected) = &state.api_key {
        let given = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !key_matches(given.trim().as_bytes(), expected.expose_secret().as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
    }
    Ok(next.run(request).await)
}

/// Compares in time independent of where the keys differ, so the key
/// cannot be guessed byte by byte from response times.
fn key_matches(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::key_matches;

    #[test]
    fn only_the_exact_key_matches() {
        assert!(key_matches(b"s3cret", b"s3cret"));
        assert!(!key_matches(b"s3cre", b"s3cret"));
        assert!(!key_matches(b"s3creT", b"s3cret"));
        assert!(!key_matches(b"", b"s3cret"));
    }
}
