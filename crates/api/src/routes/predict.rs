//! Predictions over JSON: one row or a batch, for the default or a named model.

use std::sync::Arc;

use anyhow::Context;
use api_types::{BatchPredictResponse, BatchRequest, Instance, PredictResponse, Problem};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answers;
use super::models::{DefaultModel, NamedModel};
use super::spreadsheet;
use crate::error::ApiError;
use crate::extract::{ApiJson, JsonBody};
use crate::gate::GateLayer;
use crate::input::json_v1;
use crate::serving::ServedModel;
use crate::state::AppState;

/// The prediction endpoints, behind the API key (if set) and then load
/// shedding: a request without the key is refused before it can take a permit.
pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict_default))
        .routes(routes!(predict_batch_default))
        .routes(routes!(predict))
        .routes(routes!(predict_batch))
        .routes(routes!(predict_version))
        .routes(routes!(predict_batch_version))
        .route_layer(GateLayer::predictions(state))
}

/// The problem answers every prediction endpoint can give besides its own
/// 404 and 422; only the OpenAPI document reads this type.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes responses for the OpenAPI document; never built")]
pub(super) enum RequestProblems {
    /// The body is not JSON.
    #[response(status = 400, description = "The body is not JSON", content_type = "application/problem+json")]
    Malformed(Problem),
    /// No or a wrong API key.
    #[response(
        status = 401,
        description = "API_KEY is set and the request lacks it",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    /// Too large.
    #[response(
        status = 413,
        description = "The body is too large",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    /// Not JSON by its content type.
    #[response(
        status = 415,
        description = "Content-Type is not JSON",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
    /// Shed or past the deadline.
    #[response(
        status = 503,
        description = "Busy (see Retry-After) or too slow",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// One row for the default model: a JSON object of feature name → number.
#[utoipa::path(
    post,
    path = "/predict",
    tag = "predictions",
    request_body(content = Instance, description = "One value per feature of the default model"),
    responses(
        (status = 200, description = "The prediction", body = PredictResponse<'static>),
        RequestProblems,
        (status = 404, description = "The default model is not loaded (its file failed or was removed); the detail says why and lists the loaded models", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict_default(
    DefaultModel(model): DefaultModel,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    predict_one(model, &body).await
}

/// One row for a named model.
#[utoipa::path(
    post,
    path = "/models/{name}/predict",
    tag = "predictions",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = Instance, description = "One value per feature of the model"),
    responses(
        (status = 200, description = "The prediction", body = PredictResponse<'static>),
        RequestProblems,
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict(NamedModel(model): NamedModel, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    predict_one(model, &body).await
}

/// Up to MAX_BATCH rows for the default model, answered in order.
#[utoipa::path(
    post,
    path = "/predict/batch",
    tag = "predictions",
    request_body(content((BatchRequest = "application/json"), (String = "text/csv")), description = "`instances`: 1 to MAX_BATCH rows; or a CSV file (RFC 4180, UTF-8) whose header names the features in any order, extra columns carried through"),
    responses(
        (status = 200, description = "One prediction per row, in order: JSON, or (for a CSV request, unless Accept asks for JSON) the file as sent with `label` and `p_<class>`, or `value`, columns added", content((BatchPredictResponse<'static> = "application/json"), (String = "text/csv"))),
        RequestProblems,
        (status = 404, description = "The default model is not loaded (its file failed or was removed); the detail says why and lists the loaded models", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem, located by row index, or by line and column in a CSV file (at most 50 listed)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict_batch_default(
    State(state): State<AppState>,
    DefaultModel(model): DefaultModel,
    body: BatchBody,
) -> Result<Response, ApiError> {
    predict_many(&state, model, body).await
}

/// Up to MAX_BATCH rows for a named model, answered in order.
#[utoipa::path(
    post,
    path = "/models/{name}/predict/batch",
    tag = "predictions",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content((BatchRequest = "application/json"), (String = "text/csv")), description = "`instances`: 1 to MAX_BATCH rows; or a CSV file (RFC 4180, UTF-8) whose header names the features in any order, extra columns carried through"),
    responses(
        (status = 200, description = "One prediction per row, in order: JSON, or (for a CSV request, unless Accept asks for JSON) the file as sent with `label` and `p_<class>`, or `value`, columns added", content((BatchPredictResponse<'static> = "application/json"), (String = "text/csv"))),
        RequestProblems,
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem, located by row index, or by line and column in a CSV file (at most 50 listed)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict_batch(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
    body: BatchBody,
) -> Result<Response, ApiError> {
    predict_many(&state, model, body).await
}

/// One row for one version of a model.
#[utoipa::path(
    post,
    path = "/models/{name}/versions/{version}/predict",
    tag = "predictions",
    params(
        ("name" = String, Path, description = "The model's name"),
        ("version" = String, Path, description = "One of the versions `GET /models/{name}` lists"),
    ),
    request_body(content = Instance, description = "One value per feature of that version"),
    responses(
        (status = 200, description = "The prediction, with the version that made it", body = PredictResponse<'static>),
        RequestProblems,
        (status = 404, description = "No such model or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict_version(model: NamedModel, body: JsonBody) -> Result<Response, ApiError> {
    predict(model, body).await
}

/// A batch for one version of a model.
#[utoipa::path(
    post,
    path = "/models/{name}/versions/{version}/predict/batch",
    tag = "predictions",
    params(
        ("name" = String, Path, description = "The model's name"),
        ("version" = String, Path, description = "One of the versions `GET /models/{name}` lists"),
    ),
    request_body(content((BatchRequest = "application/json"), (String = "text/csv")), description = "As for `/models/{name}/predict/batch`"),
    responses(
        (status = 200, description = "One prediction per row, in order", content((BatchPredictResponse<'static> = "application/json"), (String = "text/csv"))),
        RequestProblems,
        (status = 404, description = "No such model or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn predict_batch_version(
    state: State<AppState>,
    model: NamedModel,
    body: BatchBody,
) -> Result<Response, ApiError> {
    predict_batch(state, model, body).await
}

/// A batch's body: JSON, or a CSV file streamed as it arrives.
#[derive(Debug)]
pub(super) enum BatchBody {
    Json(Bytes),
    Csv { body: Body, format: spreadsheet::ReplyFormat },
}

/// What a batch endpoint reads.
const JSON_OR_CSV: &str = "JSON (Content-Type: application/json) or a CSV file (Content-Type: text/csv)";

impl FromRequest<AppState> for BatchBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let mime = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if mime == "text/csv" {
            let format = spreadsheet::ReplyFormat::from_accept(request.headers());
            return Ok(Self::Csv { body: request.into_body(), format });
        }
        if !crate::extract::is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType { accepted: JSON_OR_CSV });
        }
        crate::extract::body_bytes(request, state).await.map(Self::Json)
    }
}

async fn predict_one(model: Arc<ServedModel>, body: &[u8]) -> Result<Response, ApiError> {
    let rows = json_v1::parse_instance(model.schema(), body)?;
    let output = model.predict(rows).await?;
    let answer = answers::single(&model, &output).context("the model answered no row")?;
    Ok(ApiJson(answer).into_response())
}

async fn predict_many(
    state: &AppState,
    model: Arc<ServedModel>,
    body: BatchBody,
) -> Result<Response, ApiError> {
    match body {
        BatchBody::Json(bytes) => {
            let rows = json_v1::parse_batch(model.schema(), &bytes, state.max_batch)?;
            let output = model.predict(rows).await?;
            Ok(ApiJson(answers::batch(&model, &output)).into_response())
        }
        BatchBody::Csv { body, format } => {
            spreadsheet::predict(model, body, state.body_limit, state.max_batch, format).await
        }
    }
}
