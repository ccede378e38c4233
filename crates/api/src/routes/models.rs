//! Model metadata: the cards the UI builds its forms from.

use std::collections::HashMap;
use std::sync::Arc;

use api_types::{ModelDetails, ModelList, Problem};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::model::LoadedModel;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

/// Every model's card, sorted by name, and the default model's name.
#[utoipa::path(get, path = "/models", tag = "models", responses((status = 200, description = "All model cards", body = ModelList)))]
async fn list(State(state): State<AppState>) -> ApiJson<ModelList> {
    ApiJson(ModelList {
        default_model: state.registry.default_name().to_owned(),
        models: state.registry.models().map(|m| m.card().clone()).collect(),
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
async fn show(NamedModel(model): NamedModel) -> ApiJson<ModelDetails> {
    ApiJson(model.details())
}

/// The model named by the `{name}` path segment (in the `{version}` segment's
/// version, where the path has one); a 404 naming the real ones otherwise.
///
/// Resolved from the path before the body is read, so an unknown model is a
/// 404 whatever the body holds.
#[derive(Debug)]
pub(super) struct NamedModel(pub(super) Arc<LoadedModel>);

impl FromRequestParts<AppState> for NamedModel {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::RouteNotFound)?;
        let name = segments.get("name").ok_or(ApiError::RouteNotFound)?;
        let model = state
            .registry
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::model_not_found(name, state.registry.names()))?;
        if let Some(version) = segments.get("version")
            && *version != model.card().version
        {
            return Err(ApiError::VersionNotFound {
                name: name.clone(),
                version: version.chars().take(64).collect(),
                available: model.card().version.clone(),
            });
        }
        Ok(Self(model))
    }
}
