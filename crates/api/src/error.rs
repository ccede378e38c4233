//! `ApiError`, the one error type of the API, and the one place that chooses
//! statuses and writes `application/problem+json` bodies (RFC 9457).

use api_types::{FieldError, Problem};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::input::{BodyError, Problems};

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
    /// 501: no endpoint of this server takes this method (CONNECT, TRACE, …).
    #[error("method not implemented")]
    MethodNotImplemented,
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
            Self::MethodNotImplemented => StatusCode::NOT_IMPLEMENTED,
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
            Self::MethodNotImplemented => (
                "method-not-implemented",
                "Method not implemented",
                "no endpoint of this server takes that HTTP method; it serves GET, HEAD, POST and OPTIONS"
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
            request_id: crate::request_id::current(),
        }
    }

    /// The problem+json response, without logging (see `into_response`).
    pub fn into_problem_response(self) -> Response {
        let status = self.status();
        // Serializing owned strings and numbers cannot fail.
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
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

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::Malformed(msg) => Self::MalformedBody(msg),
            BodyError::Invalid(problems) => Self::invalid(problems),
        }
    }
}
