//! `ApiError`, the one error type of the API, and the one place that chooses
//! statuses and writes error bodies: RFC 9457 `application/problem+json` on
//! our JSON API, `{"error": "…"}` on the Open Inference Protocol's routes
//! (whichever the route answering speaks, see `request_scope`).

use api_types::{FieldError, LocPart, Problem};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::input::{BodyError, Problems};
use crate::request_scope::{self, Protocol};

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
    /// 415: the body's `Content-Type` is not one the endpoint reads.
    #[error("unsupported Content-Type")]
    UnsupportedMediaType {
        /// What the endpoint reads, in words.
        accepted: &'static str,
    },
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
        /// Why a file of that name is not served, when one failed to load.
        failure: Option<String>,
    },
    /// 404: the model exists, but not in this version.
    #[error("model {name:?} has no version {version:?}")]
    VersionNotFound {
        /// The model.
        name: String,
        /// The requested version, cut to a bounded length.
        version: String,
        /// The versions it has.
        available: Vec<String>,
    },
    /// 400: asked to load a model whose file does not load (the one
    /// serving before, if any, still does).
    #[error("model {model:?} failed to load")]
    ModelLoadFailed {
        /// The model.
        model: String,
        /// The file at fault.
        file: String,
        /// Why.
        reason: String,
    },
    /// 409: the model exists but is not monitored for drift (no reference
    /// profile, or monitoring is off).
    #[error("model {model:?} is not monitored")]
    NotMonitored {
        /// The model.
        model: String,
        /// Why, in words.
        reason: String,
    },
    /// 409: the model exists but cannot be explained (no background rows,
    /// or a graph no exact method covers).
    #[error("model {model:?} cannot be explained")]
    NotExplainable {
        /// The model.
        model: String,
        /// Why, in words.
        reason: String,
    },
    /// 415: the body is compressed in a way this server does not read.
    #[error("unsupported Content-Encoding")]
    UnsupportedEncoding(String),
    /// 404: no route matches the path.
    #[error("no such endpoint")]
    RouteNotFound,
    /// 405: the route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 501: no endpoint of this server takes this method (CONNECT, TRACE, …).
    #[error("method not implemented")]
    MethodNotImplemented,
    /// 403: loading, unloading and rescanning models over HTTP is off.
    #[error("model control is off")]
    ModelControlOff,
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

    /// The 404 for a model name `registry` does not serve, saying why when
    /// a file of that name failed to load.
    pub fn model_not_found(name: &str, registry: &crate::repository::Registry) -> Self {
        let failure = registry.last_error(name).map(|f| format!("{} failed to load: {}", f.file, f.reason));
        Self::ModelNotFound { name: name.chars().take(64).collect(), available: registry.names(), failure }
    }

    /// The HTTP status for this error, on a route of the current request's protocol.
    pub fn status(&self) -> StatusCode {
        self.status_for(request_scope::protocol())
    }

    fn status_for(&self, protocol: Protocol) -> StatusCode {
        match self {
            // The Open Inference Protocol answers every input problem with a 400.
            Self::InvalidInput { .. } if protocol == Protocol::OpenInference => StatusCode::BAD_REQUEST,
            Self::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedBody(_) | Self::ModelLoadFailed { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ModelNotFound { .. } | Self::VersionNotFound { .. } | Self::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotExplainable { .. } | Self::NotMonitored { .. } => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MethodNotImplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::ModelControlOff => StatusCode::FORBIDDEN,
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
            Self::MalformedBody(msg) => ("malformed-body", "The body cannot be read", msg.clone(), vec![]),
            Self::UnsupportedMediaType { accepted } => (
                "unsupported-media-type",
                "Unsupported media type",
                format!("send the body as {accepted}"),
                vec![],
            ),
            Self::PayloadTooLarge => (
                "payload-too-large",
                "The request body is too large",
                "split the rows into smaller batches".to_owned(),
                vec![],
            ),
            Self::ModelNotFound { name, available, failure } => (
                "model-not-found",
                "No such model",
                match failure {
                    Some(why) => format!(
                        "model {name:?} is not loaded: {why}; available models: {}",
                        available.join(", ")
                    ),
                    None => format!("no model is named {name:?}; available models: {}", available.join(", ")),
                },
                vec![],
            ),
            Self::VersionNotFound { name, version, available } => (
                "version-not-found",
                "No such model version",
                format!(
                    "model {name:?} has no version {version:?}; it serves version{} {}",
                    if available.len() == 1 { "" } else { "s" },
                    available.join(", ")
                ),
                vec![],
            ),
            Self::NotMonitored { model, reason } => (
                "not-monitored",
                "The model is not monitored for drift",
                format!("model {model:?} predicts but its drift is not measured: {reason}"),
                vec![],
            ),
            Self::NotExplainable { model, reason } => (
                "not-explainable",
                "The model cannot be explained",
                format!("model {model:?} predicts but cannot explain its predictions: {reason}"),
                vec![],
            ),
            Self::UnsupportedEncoding(encoding) => (
                "unsupported-encoding",
                "Unsupported Content-Encoding",
                format!("the body is encoded as {encoding:?}; send it as is, or with gzip or deflate"),
                vec![],
            ),
            Self::ModelLoadFailed { model, file, reason } => (
                "model-load-failed",
                "The model failed to load",
                format!("model {model:?} failed to load from {file}: {reason}"),
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
                "A valid key is required",
                "send the header Authorization: Bearer <API_KEY> with prediction requests, and Bearer <ADMIN_KEY> \
                 with operator requests (metrics, monitoring, the repository) when the operator has set one"
                    .to_owned(),
                vec![],
            ),
            Self::ModelControlOff => (
                "model-control-off",
                "Model control is off",
                "loading, unloading and rescanning models over HTTP is off; the operator turns it on with \
                 MODEL_CONTROL=true and an ADMIN_KEY, which such requests then carry"
                    .to_owned(),
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
            request_id: crate::request_scope::current_id(),
        }
    }

    /// The problem+json response, without logging (see `into_response`).
    pub fn into_problem_response(self) -> Response {
        let protocol = request_scope::protocol();
        let status = self.status_for(protocol);
        let (body, content_type) = match protocol {
            // Serializing owned strings and numbers cannot fail.
            Protocol::Json => {
                (serde_json::to_vec(&self.to_problem()).unwrap_or_default(), "application/problem+json")
            }
            // Exactly `application/json`: the kserve client reads the message only then.
            Protocol::OpenInference => (
                serde_json::to_vec(&serde_json::json!({"error": self.message()})).unwrap_or_default(),
                "application/json",
            ),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
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

impl ApiError {
    /// The error in one line, as the Open Inference Protocol carries it: every
    /// input problem located as `input 'x' row 3 feature 'f': …`.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidInput { errors, total } => {
                let listed: Vec<String> =
                    errors.iter().map(|e| format!("{}: {}", where_is(&e.loc), e.msg)).collect();
                match (*total, listed.len()) {
                    (1, _) => listed.join(""),
                    (total, shown) if total > shown => {
                        format!("{total} problems (the first {shown} listed): {}", listed.join("; "))
                    }
                    (total, _) => format!("{total} problems: {}", listed.join("; ")),
                }
            }
            Self::Internal(_) => format!(
                "internal error; quote request id {}",
                request_scope::current_id().unwrap_or_default()
            ),
            other => other.to_problem().detail,
        }
    }
}

/// A location as words: label/value pairs (`["input", "x", "row", 3]` →
/// `input 'x' row 3`); a lone trailing part is shown as it is.
fn where_is(loc: &[LocPart]) -> String {
    let words: Vec<String> = loc
        .chunks(2)
        .map(|pair| match pair {
            [LocPart::Key(label), LocPart::Key(name)] => format!("{label} '{name}'"),
            [LocPart::Key(label), LocPart::Index(i)] => format!("{label} {i}"),
            [LocPart::Key(part)] => part.clone(),
            [LocPart::Index(i)] => i.to_string(),
            [first, second] => format!("{first:?} {second:?}"),
            _ => String::new(),
        })
        .collect();
    words.join(" ")
}

impl IntoResponse for ApiError {
    /// Logs an internal error's whole cause chain, once, then answers opaquely.
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            let request_id = crate::request_scope::current_id();
            tracing::error!(
                request_id = request_id.as_deref().unwrap_or("-"),
                error = format!("{err:#}"),
                "request failed"
            );
        }
        self.into_problem_response()
    }
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::Malformed(msg) => Self::MalformedBody(msg),
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::Invalid(problems) => Self::invalid(problems),
        }
    }
}
