//! The Open Inference Protocol's model repository extension: list what the
//! models directory holds and whether each serves, load a model from disk,
//! unload one; through the same loader, checks and atomic swap as reloads.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::ErrorBody;
use crate::error::ApiError;
use crate::extract::{ApiJson, RawBody};
use crate::state::AppState;

/// `POST /v2/repository/index`'s optional body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(super) struct IndexRequest {
    /// Only the models ready to serve.
    #[serde(default)]
    ready: bool,
}

/// One entry of the repository index.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct IndexEntry {
    /// The model.
    name: String,
    /// Its version (absent for a file that did not load).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// `READY` or `UNAVAILABLE`.
    state: &'static str,
    /// Why it is unavailable.
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
}

/// Every model the repository holds: each loaded version (`READY`), each
/// model unloaded on request or whose file failed to load (`UNAVAILABLE`).
#[utoipa::path(
    post,
    path = "/v2/repository/index",
    tag = "open inference protocol",
    request_body(content = Option<IndexRequest>, description = "Optional: `{\"ready\": true}` lists only the models that serve"),
    responses(
        (status = 200, description = "The repository's models", body = Vec<IndexEntry>),
        (status = 400, description = "The body is not the index request", body = ErrorBody),
        (status = 401, description = "ADMIN_KEY is set and the request lacks it", body = ErrorBody),
    )
)]
pub(super) async fn index(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<ApiJson<Vec<IndexEntry>>, ApiError> {
    let request = parse_index_request(&body)?;
    let registry = state.models.current();
    let mut entries: Vec<IndexEntry> = registry
        .models()
        .flat_map(|m| {
            let name = m.card().name.clone();
            registry.versions(&name).into_iter().map(move |v| IndexEntry {
                name: name.clone(),
                version: Some(v),
                state: "READY",
                reason: String::new(),
            })
        })
        .collect();
    if !request.ready {
        for name in state.models.held().await {
            entries.push(IndexEntry {
                name,
                version: None,
                state: "UNAVAILABLE",
                reason: "unloaded".to_owned(),
            });
        }
        for failure in registry.failures().into_iter().filter(|f| !f.still_serving) {
            entries.push(IndexEntry {
                name: failure.model,
                version: failure.version,
                state: "UNAVAILABLE",
                reason: format!("{}: {}", failure.file, failure.reason),
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ApiJson(entries))
}

fn parse_index_request(body: &Bytes) -> Result<IndexRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(IndexRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::MalformedBody(format!("the index request is not {{\"ready\": true|false}}: {e}"))
    })
}

/// Loads (or reloads) the model from the models directory and serves it;
/// a file that fails leaves the version serving before, if any.
#[utoipa::path(
    post,
    path = "/v2/repository/models/{name}/load",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name in the models directory")),
    responses(
        (status = 200, description = "The model serves"),
        (status = 400, description = "Its file failed to load; `error` says why", body = ErrorBody),
        (status = 401, description = "The request lacks the admin key", body = ErrorBody),
        (status = 403, description = "Model control is off (MODEL_CONTROL)", body = ErrorBody),
        (status = 404, description = "The models directory holds no such model", body = ErrorBody),
    )
)]
pub(super) async fn load(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.models.load(&name).await?;
    let registry = state.models.current();
    if let Some(failure) = registry.last_error(&name) {
        return Err(ApiError::ModelLoadFailed { model: name, file: failure.file, reason: failure.reason });
    }
    match registry.get(&name) {
        Some(_) => Ok(StatusCode::OK),
        None => Err(ApiError::model_not_found(&name, &registry)),
    }
}

/// Stops serving the model (every version) until it is loaded again; its
/// files stay, and rescans leave it unloaded.
#[utoipa::path(
    post,
    path = "/v2/repository/models/{name}/unload",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "A served model's name")),
    responses(
        (status = 200, description = "The model no longer serves"),
        (status = 401, description = "The request lacks the admin key", body = ErrorBody),
        (status = 403, description = "Model control is off (MODEL_CONTROL)", body = ErrorBody),
        (status = 404, description = "No such model is served", body = ErrorBody),
    )
)]
pub(super) async fn unload(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let registry = state.models.current();
    if registry.get(&name).is_none() {
        return Err(ApiError::model_not_found(&name, &registry));
    }
    state.models.unload(&name).await?;
    Ok(StatusCode::OK)
}
