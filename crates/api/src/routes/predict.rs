//! Predictions over JSON: one row or a batch, for the default or a named model.

use std::sync::Arc;

use anyhow::Context;
use api_types::{
    BatchPredictResponse, BatchRequest, ClassPrediction, PredictResponse, Prediction, RegressionPrediction,
};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use tracing::Instrument;

use super::models::NamedModel;
use crate::domain::FeatureMatrix;
use crate::error::{ApiError, ApiJson};
use crate::model::{LoadedModel, ModelOutput};
use crate::state::AppState;

/// Batches up to this many rows run on the async worker: they take
/// microseconds, less than a hand-off to the blocking pool would cost.
const INLINE_MAX_ROWS: usize = 16;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/predict", post(predict_default))
        .route("/predict/batch", post(predict_batch_default))
        .route("/models/{name}/predict", post(predict))
        .route("/models/{name}/predict/batch", post(predict_batch))
}

async fn predict_default(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<PredictResponse>, ApiError> {
    predict_one(state.registry.default_model().clone(), &body).await
}

async fn predict(
    NamedModel(model): NamedModel,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<PredictResponse>, ApiError> {
    predict_one(model, &body).await
}

async fn predict_batch_default(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BatchRequest<Value>>,
) -> Result<ApiJson<BatchPredictResponse>, ApiError> {
    predict_many(state.registry.default_model().clone(), &body.instances, state.max_batch).await
}

async fn predict_batch(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
    ApiJson(body): ApiJson<BatchRequest<Value>>,
) -> Result<ApiJson<BatchPredictResponse>, ApiError> {
    predict_many(model, &body.instances, state.max_batch).await
}

#[tracing::instrument(skip_all, fields(model = %model.card().name, rows = 1))]
async fn predict_one(model: Arc<LoadedModel>, body: &Value) -> Result<ApiJson<PredictResponse>, ApiError> {
    let rows = model.schema().parse_instance(body).map_err(ApiError::invalid)?;
    let output = infer(model.clone(), rows).await?;
    let prediction = predictions(&model, output).into_iter().next().context("the graph returned no row")?;
    Ok(ApiJson(PredictResponse {
        model: model.card().name.clone(),
        model_version: model.card().version.clone(),
        prediction,
    }))
}

#[tracing::instrument(skip_all, fields(model = %model.card().name, rows = instances.len()))]
async fn predict_many(
    model: Arc<LoadedModel>,
    instances: &[Value],
    max_batch: usize,
) -> Result<ApiJson<BatchPredictResponse>, ApiError> {
    let rows = model.schema().parse_batch(instances, max_batch).map_err(ApiError::invalid)?;
    let output = infer(model.clone(), rows).await?;
    Ok(ApiJson(BatchPredictResponse {
        model: model.card().name.clone(),
        model_version: model.card().version.clone(),
        predictions: predictions(&model, output),
    }))
}

/// Runs the graph, off the async workers when the batch is large enough to matter.
async fn infer(model: Arc<LoadedModel>, rows: FeatureMatrix) -> Result<ModelOutput, ApiError> {
    if rows.rows() <= INLINE_MAX_ROWS {
        return Ok(model.graph().run(rows)?);
    }
    let span = tracing::Span::current();
    let output = tokio::task::spawn_blocking(move || span.in_scope(|| model.graph().run(rows)))
        .in_current_span()
        .await
        .context("the inference task failed")??;
    Ok(output)
}

/// Turns the graph's tensor into one answer per row, named from the card.
fn predictions(model: &LoadedModel, output: ModelOutput) -> Vec<Prediction> {
    let card = model.card();
    match output {
        ModelOutput::Probabilities { data, classes } => data
            .chunks_exact(classes)
            .map(|probs| {
                let class_index = argmax(probs);
                Prediction::Classification(ClassPrediction {
                    label: card.classes[class_index].clone(),
                    class_index,
                    probabilities: card.classes.iter().cloned().zip(probs.iter().copied()).collect(),
                })
            })
            .collect(),
        ModelOutput::Values(values) => {
            let unit = card.output.as_ref().map(|o| o.unit.clone()).filter(|u| !u.is_empty());
            values
                .into_iter()
                .map(|value| Prediction::Regression(RegressionPrediction { value, unit: unit.clone() }))
                .collect()
        }
    }
}

/// The index of the largest value; the first one on a tie, as numpy's argmax.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::argmax;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[0.9, 0.05, 0.05]), 0);
    }
}
