//! The gate in front of the routes that do work on request: the optional
//! API key, then (for predictions) a permit from load shedding, in one
//! hand-written layer (a router layer costs a boxed clone and a boxed
//! future per request, so two checks are not worth two layers).
//!
//! Predictions and explanations carry the API key (when set); what an
//! operator reads (metrics, monitoring, the repository's index) the admin
//! key (when set); model control (reload, load, unload) is closed unless the
//! operator turns it on, and then always needs the admin key. Health,
//! readiness, model cards and docs stay open so platforms and the UI's form
//! pages can use them without a secret.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

use crate::around::{Around, ResponseFuture, Wrap};
use crate::error::ApiError;
use crate::state::AppState;

/// The gate: the key to check (if one is set) and the permits to take (if
/// the routes are shed), or the routes are closed.
#[derive(Debug, Clone)]
pub struct GateLayer {
    key: Option<Arc<SecretString>>,
    permits: Option<Arc<Semaphore>>,
    closed: bool,
}

impl GateLayer {
    /// Checks `key` (if set), then takes one of `permits` (if given).
    pub fn new(key: Option<Arc<SecretString>>, permits: Option<Arc<Semaphore>>) -> Wrap<Self> {
        Wrap(Self { key, permits, closed: false })
    }

    /// For prediction routes: the API key, then a permit, so a request
    /// without the key is refused before it can take one.
    pub fn predictions(state: &AppState) -> Wrap<Self> {
        Self::new(state.api_key.clone(), Some(state.prediction_permits.clone()))
    }

    /// For what an operator reads (metrics, monitoring, the repository's
    /// index): the admin key, when one is set. Counters move with every
    /// prediction: an observer could read what a keyed client sent.
    pub fn operator_reads(state: &AppState) -> Wrap<Self> {
        Self::new(state.admin_key.clone(), None)
    }

    /// For model control (reload, load, unload): closed unless the operator
    /// turned it on, and then always behind the admin key (start-up refuses
    /// model control without one), never open.
    pub fn model_control(state: &AppState) -> Wrap<Self> {
        match (&state.admin_key, state.model_control) {
            (Some(key), true) => Self::new(Some(key.clone()), None),
            _ => Wrap(Self { key: None, permits: None, closed: true }),
        }
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
        if self.closed {
            return refused(ApiError::ModelControlOff);
        }
        if let Some(expected) = &self.key
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
        match permit {
            // Work the route starts on the blocking pool keeps a share of
            // the permit until it stops (the answer may go first: a timeout).
            Some(permit) => Box::pin(crate::request_scope::admitted(Arc::new(permit), answer)),
            None => Box::pin(answer),
        }
    }
}

/// Whether the request's `Authorization` header holds `expected` as a bearer
/// token (the scheme's case does not matter, RFC 9110).
fn carries_key(request: &Request, expected: &SecretString) -> bool {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token);
    key_matches(given.trim().as_bytes(), expected.expose_secret().as_bytes())
}

/// Compares digests of the two keys, in time independent of where they
/// differ and of their lengths, so neither the key nor its length can be
/// guessed from response times.
fn key_matches(given: &[u8], expected: &[u8]) -> bool {
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    given.ct_eq(&expected).into()
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
