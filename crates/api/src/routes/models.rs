//! Model metadata: the cards the UI builds its forms from.

use std::collections::HashMap;
use std::sync::Arc;

use api_types::{LocPart, ModelDetails, ModelList, ModelSummary, Problem};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::serving::ServedModel;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(show_version))
        .routes(routes!(card_toml))
}

/// The most models (and failures) one page of `GET /models` holds.
const MAX_PAGE: usize = 500;
/// A page's size when the client names none: small enough for a quick answer.
const DEFAULT_PAGE: usize = 100;
/// A summary's description is cut here; the card has it whole.
const SUMMARY_DESCRIPTION_CHARS: usize = 300;

/// Which page of the models to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    /// The position (in name order) of the first model listed; 0 by default.
    offset: Option<usize>,
    /// How many models, and failures, to list: 1 to 500, 100 by default.
    limit: Option<usize>,
}

/// One page of the served models (their newest versions), summarized and
/// sorted by name, and of the model files whose last load failed; the
/// default model's name and the totals.
#[utoipa::path(
    get,
    path = "/models",
    tag = "models",
    params(Page),
    responses(
        (status = 200, description = "One page of models and failures", body = ModelList),
        (status = 422, description = "The page asked for is not a number, or not 1 to 500 models", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<ApiJson<ModelList>, ApiError> {
    let offset = page.offset.unwrap_or(0);
    let limit = page.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::InvalidInput {
            errors: vec![api_types::FieldError {
                loc: vec![LocPart::from("query"), LocPart::from("limit")],
                msg: format!("must be 1 to {MAX_PAGE}; got {limit}"),
                kind: api_types::FieldErrorKind::Range,
                allowed: Some(api_types::Allowed {
                    min: Some(1.0),
                    max: Some(MAX_PAGE as f64),
                    ..Default::default()
                }),
            }],
            total: 1,
        });
    }
    let registry = state.models.current();
    let failures = registry.failures();
    Ok(ApiJson(ModelList {
        default_model: registry.default_name().to_owned(),
        total: registry.model_count(),
        failure_count: failures.len(),
        offset,
        limit,
        models: registry.models().skip(offset).take(limit).map(|m| summary(m)).collect(),
        failures: failures.into_iter().skip(offset).take(limit).collect(),
    }))
}

fn summary(model: &ServedModel) -> ModelSummary {
    let card = model.card();
    let description = match card.description.char_indices().nth(SUMMARY_DESCRIPTION_CHARS) {
        Some((cut, _)) => format!("{}…", &card.description[..cut]),
        None => card.description.clone(),
    };
    ModelSummary {
        name: card.name.clone(),
        title: card.title.clone(),
        description,
        task: card.task,
        version: card.version.clone(),
        features: card.features.len(),
        classes: card.classes.len(),
        card_source: model.status().card_source,
        metrics: card.provenance.metrics.clone(),
        test_rows: card.provenance.test_rows,
    }
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
