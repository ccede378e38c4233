//! The serving core, twin of `input/`: a model as it is served (its loaded
//! graph, composed here with its explainer and its drift monitor) and the
//! one way a checked batch is served, whatever wire format it came in:
//! inline or on the blocking pool, in chunks, stopped when nobody waits for
//! the answer any more, counted for drift and in the prediction metrics.
//! Routes only parse, serve and write the answer.

mod cancel;
mod load;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use api_types::{ModelCard, ModelStatus};
use tracing::Instrument;

pub use load::{DEFAULT_MAX_MODEL_BYTES, LoadOptions, Shared};

use self::cancel::{Cancelled, Stop};
use crate::error::ApiError;
use crate::explain::{Explainer, Explanation, Swept, what_if as sweep};
use crate::input::{FeatureSchema, Rows};
use crate::metrics::ModelMetrics;
use crate::model::{Graph, LoadedModel, ModelOutput};
use crate::monitor::Monitor;

/// Batches up to this many rows run on the async worker: they take
/// microseconds, less than a hand-off to the blocking pool would cost
/// (measured with `benches/hot_path.rs`).
const INLINE_MAX_ROWS: usize = 16;

/// Rows run through the graph at a time: inference's working memory stays
/// that of a chunk whatever the batch's size, and a batch whose client has
/// gone stops at the next chunk.
const CHUNK_ROWS: usize = 4096;

/// Rows explained at a time, for the same reasons (a row costs milliseconds).
const EXPLAIN_CHUNK_ROWS: usize = 8;

/// A model version as it is served.
#[derive(Debug)]
pub struct ServedModel {
    model: LoadedModel,
    /// The explainer, or why the model cannot be explained.
    explainer: Result<Explainer, String>,
    /// Drift monitoring, or why the model is not monitored.
    monitor: Result<Monitor, String>,
    metrics: ModelMetrics,
    /// The permits explanations take, shared by every model.
    explanations: Arc<tokio::sync::Semaphore>,
}

/// The most rows one request may have explained, whichever door it came
/// through (`/explain/batch`, or V2 with the `explanation` output): each row
/// costs (background rows × trees) work, milliseconds rather than microseconds.
pub const MAX_EXPLAIN_ROWS: usize = 100;

/// Rows predicted and explained.
#[derive(Debug)]
pub struct Explained {
    /// What the model answered for each row.
    pub output: ModelOutput,
    /// Each row's explanation, in order.
    pub explanations: Vec<Explanation>,
}

/// One row's what-if curves.
#[derive(Debug)]
pub struct WhatIf {
    /// The explained output for the row itself.
    pub output: f64,
    /// The class explained (its position in the card), for a classifier.
    pub class: Option<usize>,
    /// For each feature asked for, its swept values and the output at each.
    pub curves: Vec<Vec<(Swept, f64)>>,
}

impl ServedModel {
    /// The model card.
    pub fn card(&self) -> &ModelCard {
        self.model.card()
    }

    /// The rules input rows must satisfy.
    pub fn schema(&self) -> &FeatureSchema {
        self.model.schema()
    }

    /// The runnable graph.
    pub fn graph(&self) -> &Graph {
        self.model.graph()
    }

    /// What was loaded and how it checked out.
    pub fn status(&self) -> &ModelStatus {
        self.model.status()
    }

    /// The version served.
    pub fn version(&self) -> &str {
        self.model.version()
    }

    /// The model as loaded from its files.
    pub(crate) fn loaded(&self) -> &LoadedModel {
        &self.model
    }

    /// The explainer, or why this model cannot be explained.
    pub fn explainer(&self) -> Result<&Explainer, &str> {
        self.explainer.as_ref().map_err(String::as_str)
    }

    /// The explainer, or the 409 saying why the model has none.
    pub fn explainer_or_conflict(&self) -> Result<&Explainer, ApiError> {
        self.explainer().map_err(|reason| ApiError::NotExplainable {
            model: self.card().name.clone(),
            reason: reason.to_owned(),
        })
    }

    /// Drift monitoring, or why this model is not monitored.
    pub fn monitor(&self) -> Result<&Monitor, &str> {
        self.monitor.as_ref().map_err(String::as_str)
    }

    /// `Ok` while someone waits for the work's answer; else the work stops,
    /// and is counted as cancelled.
    fn go_on(&self, stop: &Stop) -> Result<(), ApiError> {
        stop.check().map_err(|cancelled| {
            self.metrics.record_cancelled();
            ApiError::from(cancelled)
        })
    }

    /// Predicts `rows`: counted for drift and in the prediction metrics once
    /// the model has answered.
    #[tracing::instrument(level = "debug", skip_all, fields(model = %self.card().name, rows = rows.len()))]
    pub async fn predict(self: &Arc<Self>, rows: Rows) -> Result<ModelOutput, ApiError> {
        let count = rows.len();
        let (output, took) = if count <= INLINE_MAX_ROWS {
            self.run_chunks(rows, &Stop::never())?
        } else {
            let model = self.clone();
            blocking(move |stop| model.run_chunks(rows, stop)).await?
        };
        self.metrics.record(count, took);
        Ok(output)
    }

    /// Runs the graph over `rows` a chunk at a time, counting drift; also
    /// says how long the model took.
    fn run_chunks(&self, rows: Rows, stop: &Stop) -> Result<(ModelOutput, Duration), ApiError> {
        let started = Instant::now();
        let tally = self.monitor().ok().map(|m| m.tally(&rows));
        let output = if rows.len() <= CHUNK_ROWS {
            self.graph().run(rows)?
        } else {
            let mut all: Option<ModelOutput> = None;
            for start in (0..rows.len()).step_by(CHUNK_ROWS) {
                self.go_on(stop)?;
                let chunk = self.graph().run(rows.slice(start, start + CHUNK_ROWS))?;
                match &mut all {
                    Some(all) => all.append(chunk)?,
                    None => all = Some(chunk),
                }
            }
            all.context("a batch with no rows")?
        };
        let took = started.elapsed();
        // Counted only once the model has answered every row.
        if let (Some(tally), Ok(monitor)) = (tally, self.monitor()) {
            monitor.commit(tally, &output);
        }
        Ok((output, took))
    }

    /// Predicts and explains `rows` (milliseconds of work: always off the
    /// async workers); counted as predictions.
    #[tracing::instrument(level = "debug", skip_all, fields(model = %self.card().name, rows = rows.len()))]
    pub async fn explain(self: &Arc<Self>, rows: Rows) -> Result<Explained, ApiError> {
        self.explainer_or_conflict()?;
        let count = rows.len();
        if let Some(violation) = FeatureSchema::batch_size(count, MAX_EXPLAIN_ROWS, "rows to explain") {
            return Err(ApiError::InvalidInput {
                errors: vec![api_types::FieldError {
                    loc: vec!["rows".into()],
                    msg: violation.msg,
                    kind: violation.kind,
                    allowed: Some(violation.allowed),
                }],
                total: 1,
            });
        }
        // Refused at once when the budget is spent, like a prediction past
        // its permits; held until the work ends.
        let budget = self.explanations.clone().try_acquire_owned().map_err(|_| ApiError::Overloaded)?;
        let model = self.clone();
        let (explained, took) = blocking(move |stop| {
            let _budget = budget;
            let (output, took) = model.run_chunks(rows.clone(), stop)?;
            let explainer = model.explainer_or_conflict()?;
            let classes = output.predicted_classes();
            let mut explanations = Vec::with_capacity(rows.len());
            for start in (0..rows.len()).step_by(EXPLAIN_CHUNK_ROWS) {
                model.go_on(stop)?;
                let end = (start + EXPLAIN_CHUNK_ROWS).min(rows.len());
                explanations.extend(explainer.explain(
                    model.graph(),
                    model.schema(),
                    &rows.slice(start, end),
                    &classes[start..end],
                )?);
            }
            Ok((Explained { output, explanations }, took))
        })
        .await?;
        self.metrics.record(count, took);
        Ok(explained)
    }

    /// The explained output of the one row of `row` as each of `features`
    /// (card columns) sweeps its range. Not a prediction: neither drift nor
    /// the prediction metrics count it.
    #[tracing::instrument(level = "debug", skip_all, fields(model = %self.card().name))]
    pub async fn what_if(self: &Arc<Self>, row: Rows, features: Vec<usize>) -> Result<WhatIf, ApiError> {
        self.explainer_or_conflict()?;
        let budget = self.explanations.clone().try_acquire_owned().map_err(|_| ApiError::Overloaded)?;
        let model = self.clone();
        blocking(move |stop| {
            let _budget = budget;
            let explainer = model.explainer_or_conflict()?;
            let output = model.graph().run(row.clone())?;
            let class = output.predicted_classes().into_iter().next().flatten();
            let own = explainer.outputs(model.graph(), row.clone(), class)?;
            model.go_on(stop)?;
            let curves = sweep(
                explainer,
                model.graph(),
                model.schema(),
                &model.card().features,
                &row,
                class,
                &features,
            )?;
            Ok(WhatIf { output: own.first().copied().unwrap_or(f64::NAN), class, curves })
        })
        .await
    }
}

/// Runs `work` on the blocking pool inside the current span, holding the
/// request's admission; if the caller stops waiting (its client left, its
/// deadline passed), `work` is told at its next [`Stop::check`].
async fn blocking<T: Send + 'static>(
    work: impl FnOnce(&Stop) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (stop, _on_drop) = Stop::new();
    let span = tracing::Span::current();
    // The request's permit stays taken until the work ends, even if the
    // answer (a timeout) has gone: the permits bound the CPU at work.
    let admission = crate::request_scope::admission();
    tokio::task::spawn_blocking(move || {
        let _admission = admission;
        span.in_scope(|| work(&stop))
    })
    .in_current_span()
    .await
    .context("the serving task failed")?
}

impl From<Cancelled> for ApiError {
    fn from(_: Cancelled) -> Self {
        // Nobody reads this answer: the request it belongs to is gone.
        ApiError::Internal(anyhow::anyhow!("the request was cancelled while its rows were being served"))
    }
}
