//! The request body extractor of the JSON endpoints and the JSON response
//! wrapper: the one place `axum::Json` may be named (`clippy.toml` bans it
//! elsewhere). Rejections are `ApiError`s, so they answer in problem+json.

#![allow(clippy::disallowed_types)]

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
