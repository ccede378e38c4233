//! Why a prediction: `/models/{name}/explain` (one row and a batch) and
//! `/models/{name}/what-if`, over the same JSON rows as `/predict`.

use std::borrow::Cow;

use anyhow::Context;
use api_types::{
    BatchExplainResponse, BatchRequest, Contribution, Curve, CurvePoint, ExplainResponse, FeatureValue,
    Instance, LocPart, Problem, WhatIfResponse,
};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answers;
use super::models::NamedModel;
use super::predict::RequestProblems;
use crate::error::ApiError;
use crate::explain::{Explanation, Swept};
use crate::extract::{ApiJson, ApiQuery, JsonBody};
use crate::gate::GateLayer;
use crate::input::{Category, Rows, json_v1};
use crate::serving::{Explained, MAX_EXPLAIN_ROWS, ServedModel, WhatIf};
use crate::state::AppState;

/// The explanation endpoints, behind the API key and load shedding like predictions.
pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(explain))
        .routes(routes!(explain_batch))
        .routes(routes!(what_if))
        .route_layer(GateLayer::predictions(state))
}

/// One row's prediction and its SHAP values: `base_value + Σ contributions = output`.
#[utoipa::path(
    post,
    path = "/models/{name}/explain",
    tag = "explanations",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = Instance, description = "One value per feature, as for /predict"),
    responses(
        (status = 200, description = "The prediction and its explanation", body = ExplainResponse<'static>),
        RequestProblems,
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model cannot be explained (no background rows, or no exact method for its graph)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn explain(NamedModel(model): NamedModel, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    model.explainer_or_conflict()?;
    let rows = json_v1::parse_instance(model.schema(), &body)?;
    let Explained { output, explanations } = model.explain(rows).await?;
    let prediction = answers::single(&model, &output).context("the model answered no row")?;
    let explanation = wire(&model, explanations.into_iter().next().context("no explanation")?)?;
    Ok(ApiJson(ExplainResponse { prediction, explanation }).into_response())
}

/// Up to 100 rows' predictions and explanations, in order.
#[utoipa::path(
    post,
    path = "/models/{name}/explain/batch",
    tag = "explanations",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = BatchRequest, description = "`instances`: 1 to 100 rows (or MAX_BATCH, if smaller)"),
    responses(
        (status = 200, description = "Every row's prediction and explanation, in order", body = BatchExplainResponse<'static>),
        RequestProblems,
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model cannot be explained", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn explain_batch(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    model.explainer_or_conflict()?;
    let rows = json_v1::parse_batch(model.schema(), &body, state.max_batch.min(MAX_EXPLAIN_ROWS))?;
    let Explained { output, explanations } = model.explain(rows).await?;
    let explanations = explanations.into_iter().map(|e| wire(&model, e)).collect::<Result<_, _>>()?;
    let card = model.card();
    Ok(ApiJson(BatchExplainResponse {
        model: Cow::Borrowed(&card.name),
        model_version: Cow::Borrowed(&card.version),
        predictions: answers::predictions(&model, &output),
        explanations,
    })
    .into_response())
}

/// Which features to sweep.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WhatIfQuery {
    /// Comma-separated feature names; every feature when absent.
    features: Option<String>,
}

/// The explained output as each feature sweeps its range (25 points, or
/// each choice or category), the others held at the row's values.
#[utoipa::path(
    post,
    path = "/models/{name}/what-if",
    tag = "explanations",
    params(("name" = String, Path, description = "The model's name"), WhatIfQuery),
    request_body(content = Instance, description = "One value per feature, as for /predict"),
    responses(
        (status = 200, description = "One curve per feature", body = WhatIfResponse),
        RequestProblems,
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model cannot be explained", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem with the input or the feature list, located", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn what_if(
    NamedModel(model): NamedModel,
    ApiQuery(query): ApiQuery<WhatIfQuery>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    model.explainer_or_conflict()?;
    let features = asked_features(&model, query.features.as_deref())?;
    let row = json_v1::parse_instance(model.schema(), &body)?;
    let WhatIf { output, class, curves } = model.what_if(row.clone(), features.clone()).await?;
    let card = model.card();
    let explainer = model.explainer_or_conflict()?;
    let curves = features
        .iter()
        .zip(curves)
        .map(|(&col, points)| Curve {
            feature: card.features[col].name.clone(),
            current: current_value(&model, &row, col),
            points: points
                .into_iter()
                .map(|(value, output)| CurvePoint { value: swept_value(&model, col, value), output })
                .collect(),
        })
        .collect();
    Ok(ApiJson(WhatIfResponse {
        model: card.name.clone(),
        model_version: card.version.clone(),
        space: explainer.space().name().to_owned(),
        class: class.and_then(|k| card.classes.get(k).cloned()),
        output,
        curves,
    })
    .into_response())
}

/// The card columns named in `?features=`, in card order; all when absent.
fn asked_features(model: &ServedModel, asked: Option<&str>) -> Result<Vec<usize>, ApiError> {
    let schema = model.schema();
    let Some(asked) = asked else { return Ok((0..schema.width()).collect()) };
    let mut columns = Vec::new();
    for name in asked.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match schema.column(name) {
            Some(col) => columns.push(col),
            None => {
                let shown: String = name.chars().take(64).collect();
                return Err(ApiError::InvalidInput {
                    errors: vec![api_types::FieldError {
                        loc: vec![LocPart::from("query"), LocPart::from("features")],
                        msg: format!(
                            "{shown:?} is not a feature; the features are {}",
                            schema.names_listed()
                        ),
                        kind: api_types::FieldErrorKind::UnknownField,
                        allowed: None,
                    }],
                    total: 1,
                });
            }
        }
    }
    columns.sort_unstable();
    columns.dedup();
    Ok(columns)
}

/// An explanation as the API writes it.
fn wire(model: &ServedModel, e: Explanation) -> Result<api_types::Explanation, ApiError> {
    let explainer = model.explainer_or_conflict()?;
    let card = model.card();
    let space = explainer.space();
    Ok(api_types::Explanation {
        method: explainer.method().name().to_owned(),
        space: space.name().to_owned(),
        class: e.class.and_then(|k| card.classes.get(k).cloned()),
        unit: card.output.as_ref().map(|o| o.unit.clone()).filter(|u| !u.is_empty() && e.class.is_none()),
        base_value: e.base_value,
        output: e.output,
        contributions: card
            .features
            .iter()
            .zip(e.contributions)
            .map(|(f, contribution)| Contribution { feature: f.name.clone(), contribution })
            .collect(),
        background_rows: explainer.background_rows(),
    })
}

/// The row's own value of feature `col`, as sent (`None` when missing).
fn current_value(model: &ServedModel, row: &Rows, col: usize) -> Option<FeatureValue> {
    match row.category(0, col) {
        Some(Category::Known(i)) => {
            model.schema().categories(col).get(*i as usize).cloned().map(FeatureValue::Text)
        }
        Some(Category::Unknown(text)) => Some(FeatureValue::Text(text.to_string())),
        Some(Category::Missing) => None,
        // The shortest text of the f32 is the number as the client wrote it.
        None => Some(row.number(0, col)).filter(|x| !x.is_nan()).map(|x| FeatureValue::Number(shortest(x))),
    }
}

fn swept_value(model: &ServedModel, col: usize, value: Swept) -> FeatureValue {
    match value {
        Swept::Number(x) => FeatureValue::Number(x),
        Swept::Category(i) => {
            FeatureValue::Text(model.schema().categories(col).get(i as usize).cloned().unwrap_or_default())
        }
    }
}

fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}
