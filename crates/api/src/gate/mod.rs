//! The gate in front of the routes that do work on request: the optional
//! API key, then (for predictions) a permit from load shedding, in one
//! hand-written layer (a router layer costs a boxed clone and a boxed
//! future per request, so two checks are not worth two layers).
//!
//! Only predictions, explanations and operations are guarded: health,
//! readiness, model cards, docs and metrics stay open so platforms, the UI's
//! form pages and operators can use them without the secret.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

use crate::around::{Around, ResponseFuture, Wrap};
use crate::error::ApiError;
use crate::state::AppState;

/// The gate: the key to check (if one is set) and the permits to take (if the routes are shed).
#[derive(Debug, Clone)]
pub struct GateLayer {
    api_key: Option<Arc<SecretString>>,
    permits: Option<Arc<Semaphore>>,
}

impl GateLayer {
    /// Checks `api_key` (if set), then takes one of `permits` (if given).
    pub fn new(api_key: Option<Arc<SecretString>>, permits: Option<Arc<Semaphore>>) -> Wrap<Self> {
        Wrap(Self { api_key, permits })
    }

    /// For prediction routes: the key, then a permit, so a request without
    /// the key is refused before it can take one.
    pub fn predictions(state: &AppState) -> Wrap<Self> {
        Self::new(state.api_key.clone(), Some(state.prediction_permits.clone()))
    }

    /// For operations (reload, load, unload): the key only.
    pub fn operations(state: &AppState) -> Wrap<Self> {
        Self::new(state.api_key.clone(), None)
    }
}

impl Around for GateLayer {
    fn around<S>(&self, route: S, request: Request) -> ResponseFuture
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let refused =
            |error: ApiError| -> ResponseFuture { Box::pin(async move { Ok(error.into_response()) }) };
        if let Some(expected) = &self.api_key
            && !carries_key(&request, expected)
        {
            return refused(ApiError::Unauthorized);
        }
        // Answers 503 at once when the permits are all taken, instead of
        // queueing without bound: a client can retry elsewhere or later, and
        // the requests already admitted keep their latency.
        let permit = match &self.permits {
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => return refused(ApiError::Overloaded),
            },
            None => None,
        };
        let answer = route.oneshot(request);
        Box::pin(async move {
            let response = answer.await;
            drop(permit);
            response
        })
    }
}

/// Whether the request's `Authorization: Bearer` header holds `expected`.
fn carries_key(request: &Request, expected: &SecretString) -> bool {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    key_matches(given.trim().as_bytes(), expected.expose_secret().as_bytes())
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
