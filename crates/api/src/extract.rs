//! The request extractors (JSON and raw bodies, query strings) and the JSON
//! response wrapper: the one place `axum::Json` and `axum::extract::Query`
//! may be named (`clippy.toml` bans them elsewhere). Rejections are
//! `ApiError`s, so they answer in problem+json.

#![allow(clippy::disallowed_types)]

use api_types::{FieldError, FieldErrorKind, LocPart};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// What a JSON endpoint reads.
pub const JSON_ONLY: &str = "JSON with the header Content-Type: application/json";

/// A JSON request body, as bytes: the content type is checked (415) and the
/// size limit applied (413); parsing is the input adapter's job, straight
/// from these bytes.
#[derive(Debug)]
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType { accepted: JSON_ONLY });
        }
        body_bytes(request, state).await.map(Self)
    }
}

/// A request body of any content type, within the body limit (413 past it):
/// the Open Inference Protocol's clients send JSON with no `Content-Type`,
/// or as `application/octet-stream`.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        body_bytes(request, state).await.map(Self)
    }
}

/// A query string read into `T`: a value of the wrong type, or a parameter
/// given twice, is a 422 naming the parameter, like any other input problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

/// A query problem's message is cut here: it may quote the value sent.
const QUERY_MESSAGE_CHARS: usize = 200;

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(query)) => Ok(Self(query)),
            Err(rejection) => Err(query_problem(&rejection.body_text())),
        }
    }
}

/// The 422 for axum's "Failed to deserialize query string: <param>: <why>".
fn query_problem(text: &str) -> ApiError {
    let reason = text.split_once(": ").map_or(text, |(_, rest)| rest);
    let mut loc = vec![LocPart::from("query")];
    let msg = match reason.split_once(": ") {
        Some((param, why))
            if !param.is_empty() && param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            loc.push(LocPart::from(param));
            why
        }
        _ => reason,
    };
    let msg: String = msg.chars().take(QUERY_MESSAGE_CHARS).collect();
    ApiError::InvalidInput {
        errors: vec![FieldError { loc, msg, kind: FieldErrorKind::Type, allowed: None }],
        total: 1,
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`).
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
        .is_some_and(|mime| {
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// The whole body, within the body limit (413 past it).
pub async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    match Bytes::from_request(request, state).await {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::PayloadTooLarge)
        }
        Err(rejection) => Err(ApiError::MalformedBody(rejection.body_text())),
    }
}

/// A JSON response. Request bodies come in as [`JsonBody`]; `axum::Json`
/// appears nowhere else.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
