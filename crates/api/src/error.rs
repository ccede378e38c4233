//! `ApiError`, the one error type of the API, and the one place that chooses
//! statuses and writes `application/problem+json` bodies (RFC 9457).

use api_types::{FieldError, FieldErrorKind, LocPart, Problem};
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use serde_path_to_error::Segment;

use crate::domain::{Problems, bounded_key};

/// Everything that can go wrong serving a request, named for what the client must do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: the body is well-formed JSON but breaks the model's rules.
    #[error("{total} problem(s) in the request body")]
    InvalidInput {
        /// The first problems found (bounded).
        errors: Vec<FieldError>,
        /// How many problems were found in all.
        total: usize,
    },
    /// 400: the body is not JSON (the message says where).
    #[error("{0}")]
    MalformedBody(String),
    /// 415: the request did not say `Content-Type: application/json`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 413: the body is larger than the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 401: the API key is missing or wrong.
    #[error("a valid API key is required")]
    Unauthorized,
    /// 404: no model has this name.
    #[error("no model named {name:?}")]
    ModelNotFound {
        /// The requested name, cut to a bounded length.
        name: String,
        /// The names that exist.
        available: Vec<String>,
    },
    /// 404: no route matches the path.
    #[error("no such endpoint")]
    RouteNotFound,
    /// 405: the route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503: too many requests in progress; retry in a moment.
    #[error("the server is busy")]
    Overloaded,
    /// 503: the request took longer than the configured limit.
    #[error("the request took longer than {limit:?}")]
    TimedOut {
        /// The configured limit.
        limit: std::time::Duration,
    },
    /// 500: our fault; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The 422 for problems found while parsing input.
    pub fn invalid(problems: Problems) -> Self {
        let total = problems.total();
        Self::InvalidInput { errors: problems.into_errors(), total }
    }

    /// The 404 for an unknown model name.
    pub fn model_not_found(name: &str, available: Vec<String>) -> Self {
        Self::ModelNotFound { name: name.chars().take(64).collect(), available }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ModelNotFound { .. } | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Overloaded | Self::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem-details body for this error.
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let (slug, title, detail, errors) = match self {
            Self::InvalidInput { errors, total } => {
                let shown = if *total > errors.len() {
                    format!(" (the first {} are listed)", errors.len())
                } else {
                    String::new()
                };
                let detail = format!("{total} problem(s) in the request body{shown}; see `errors`");
                ("invalid-input", "The input does not satisfy the model's rules", detail, errors.clone())
            }
            Self::MalformedBody(msg) => ("malformed-body", "The body is not valid JSON", msg.clone(), vec![]),
            Self::UnsupportedMediaType => (
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with the header Content-Type: application/json".to_owned(),
                vec![],
            ),
            Self::PayloadTooLarge => (
                "payload-too-large",
                "The request body is too large",
                "split the rows into smaller batches".to_owned(),
                vec![],
            ),
            Self::ModelNotFound { name, available } => (
                "model-not-found",
                "No such model",
                format!("no model is named {name:?}; available models: {}", available.join(", ")),
                vec![],
            ),
            Self::RouteNotFound => (
                "not-found",
                "No such endpoint",
                "see GET /models for the models and their endpoints".to_owned(),
                vec![],
            ),
            Self::MethodNotAllowed => (
                "method-not-allowed",
                "Method not allowed",
                "this endpoint does not accept that HTTP method (predictions are POST, metadata is GET)"
                    .to_owned(),
                vec![],
            ),
            Self::Unauthorized => (
                "unauthorized",
                "A valid API key is required",
                "send the header Authorization: Bearer <API_KEY> with prediction requests".to_owned(),
                vec![],
            ),
            Self::Overloaded => (
                "overloaded",
                "The server is busy",
                "too many requests are in progress; retry after the number of seconds in Retry-After"
                    .to_owned(),
                vec![],
            ),
            Self::TimedOut { limit } => (
                "timeout",
                "The request took too long",
                format!(
                    "the request was not answered within {} ms; send fewer rows per request",
                    limit.as_millis()
                ),
                vec![],
            ),
            Self::Internal(_) => (
                "internal",
                "Internal server error",
                "the server failed to answer; the error has been logged".to_owned(),
                vec![],
            ),
        };
        Problem {
            kind: format!("urn:modelserve:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
            request_id: crate::exchange::current_request_id(),
        }
    }

    /// The problem+json response, without logging (see `into_response`).
    pub fn into_problem_response(self) -> Response {
        let status = self.status();
        let mut response = (status, ApiJson(self.to_problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
        match self {
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(r#"Bearer realm="predictions""#),
                );
            }
            Self::Overloaded => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl IntoResponse for ApiError {
    /// Logs an internal error's whole cause chain, once, then answers opaquely.
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        self.into_problem_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(e) => {
                overflow(&e).unwrap_or_else(|| Self::MalformedBody(e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                // serde's message may quote a key from the body: keep it bounded.
                let msg: String = e.body_text().chars().take(300).collect();
                let error =
                    FieldError { loc: vec!["body".into()], msg, kind: FieldErrorKind::Shape, allowed: None };
                Self::InvalidInput { errors: vec![error], total: 1 }
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            other => Self::MalformedBody(other.body_text()),
        }
    }
}

/// A number too large for a float (`1e400`) is a syntax error to serde_json,
/// but to the client it is a value out of range: report it at its field.
fn overflow(rejection: &dyn std::error::Error) -> Option<ApiError> {
    let mut source = rejection.source();
    while let Some(err) = source {
        if let Some(e) = err.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            if !e.inner().to_string().starts_with("number out of range") {
                return None;
            }
            let mut loc = vec![LocPart::from("body")];
            for segment in e.path().iter() {
                match segment {
                    Segment::Seq { index } => loc.push(LocPart::Index(*index)),
                    Segment::Map { key } => loc.push(bounded_key(key)),
                    Segment::Enum { .. } | Segment::Unknown => {}
                }
            }
            let msg = "must be a finite number; this one is too large to represent".to_owned();
            let error = FieldError { loc, msg, kind: FieldErrorKind::Range, allowed: None };
            return Some(ApiError::InvalidInput { errors: vec![error], total: 1 });
        }
        source = err.source();
    }
    None
}

pub use json::ApiJson;

mod json {
    //! The one place `axum::Json` may be named.
    #![allow(clippy::disallowed_types)]

    use axum::extract::FromRequest;
    use axum::response::{IntoResponse, Response};
    use serde::Serialize;

    use super::ApiError;

    /// `axum::Json` with our rejection: every body-parsing failure becomes an
    /// [`ApiError`], so clients always get problem+json. Also the JSON response
    /// type, so `axum::Json` appears nowhere else (`clippy.toml` enforces it).
    #[derive(Debug, FromRequest)]
    #[from_request(via(axum::Json), rejection(ApiError))]
    pub struct ApiJson<T>(pub T);

    impl<T: Serialize> IntoResponse for ApiJson<T> {
        fn into_response(self) -> Response {
            axum::Json(self.0).into_response()
        }
    }
}
