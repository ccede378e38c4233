//! Model metadata: the cards the UI builds its forms from.

use std::collections::HashMap;
use std::sync::Arc;

use api_types::{ModelDetails, ModelList, Problem};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::serving::ServedModel;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(show_version))
        .routes(routes!(card_toml))
}

/// Every model's card (its newest version), sorted by name, the default
/// model's name, and every model file that failed to load.
#[utoipa::path(get, path = "/models", tag = "models", responses((status = 200, description = "All model cards", body = ModelList)))]
async fn list(State(state): State<AppState>) -> ApiJson<ModelList> {
    let registry = state.models.current();
    ApiJson(ModelList {
        default_model: registry.default_name().to_owned(),
        models: registry.models().map(|m| m.card().clone()).collect(),
        failures: registry.failures(),
    })
}

/// One model's card and the tensor signature of its loaded graph.
#[utoipa::path(
    get,
    path = "/models/{name}",
    tag = "models",
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "The card and signature", body = ModelDetails),
        (status = 404, description = "No such model; the detail lists the real ones", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn show(State(state): State<AppState>, NamedModel(model): NamedModel) -> ApiJson<ModelDetails> {
    ApiJson(state.models.current().details(&model))
}

/// One version of a model: its card, signature and status.
#[utoipa::path(
    get,
    path = "/models/{name}/versions/{version}",
    tag = "models",
    params(
        ("name" = String, Path, description = "The model's name"),
        ("version" = String, Path, description = "One of the versions `GET /models/{name}` lists"),
    ),
    responses(
        (status = 200, description = "The card and signature of that version", body = ModelDetails),
        (status = 404, description = "No such model or version; the detail lists the real ones", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn show_version(state: State<AppState>, model: NamedModel) -> ApiJson<ModelDetails> {
    show(state, model).await
}

/// The model's card as `card.toml`, ready to save beside its `model.onnx` and
/// edit; for a model dropped in without a card, what was read from its graph.
#[utoipa::path(
    get,
    path = "/models/{name}/card.toml",
    tag = "models",
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "The card, as TOML", body = String, content_type = "application/toml"),
        (status = 404, description = "No such model; the detail lists the real ones", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn card_toml(NamedModel(model): NamedModel) -> Result<Response, ApiError> {
    let text = crate::model::to_toml(model.card())?;
    Ok(([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], text).into_response())
}

/// The default model, while it is loaded; a 404 naming the loaded ones
/// (and why the default is not among them) otherwise.
#[derive(Debug)]
pub(super) struct DefaultModel(pub(super) Arc<ServedModel>);

impl FromRequestParts<AppState> for DefaultModel {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let registry = state.models.current();
        let model = registry.default_model().cloned();
        model.map(Self).ok_or_else(|| ApiError::model_not_found(registry.default_name(), &registry))
    }
}

/// The model named by the `{name}` path segment (in the `{version}` segment's
/// version, where the path has one); a 404 naming the real ones otherwise.
///
/// Resolved from the path before the body is read, so an unknown model is a
/// 404 whatever the body holds.
#[derive(Debug)]
pub(super) struct NamedModel(pub(super) Arc<ServedModel>);

impl FromRequestParts<AppState> for NamedModel {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::RouteNotFound)?;
        let name = segments.get("name").ok_or(ApiError::RouteNotFound)?;
        let registry = state.models.current();
        let model = registry.get(name).ok_or_else(|| ApiError::model_not_found(name, &registry))?;
        match segments.get("version") {
            None => Ok(Self(model.clone())),
            Some(version) => registry.get_version(name, version).cloned().map(Self).ok_or_else(|| {
                ApiError::VersionNotFound {
                    name: name.clone(),
                    version: version.chars().take(64).collect(),
                    available: registry.versions(name),
                }
            }),
        }
    }
}
