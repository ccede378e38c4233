//! Composing a served model: the model as loaded from its files, its
//! explainer (from the background rows shipped beside it) and its drift
//! monitor (from its reference profile), with its metrics.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use tokio::sync::Semaphore;

use super::ServedModel;
use crate::explain::Explainer;
use crate::input::BodyError;
use crate::metrics::Metrics;
use crate::model::{LoadedModel, Source, describe, relative};
use crate::monitor::Monitor;

/// More background rows make explanations slower, not more exact.
const MAX_BACKGROUND_ROWS: usize = 1000;

/// How models are loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Count predicted rows for drift monitoring (models with a reference profile).
    pub monitoring: bool,
    /// Follow links that lead out of the models directory.
    pub follow_links: bool,
    /// The largest model file read, in bytes (checked before reading it).
    pub max_model_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { monitoring: true, follow_links: false, max_model_bytes: DEFAULT_MAX_MODEL_BYTES }
    }
}

/// The largest model file read by default: 512 MiB, far past any tabular
/// model (a 500-tree LightGBM export is 1.2 MB), far below the memory a
/// decoded graph of that size takes.
pub const DEFAULT_MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// What every served model shares: how models load, the metrics they
/// count into, and the permits explanations take (their own budget: an
/// explanation costs milliseconds a row, a prediction microseconds).
#[derive(Debug, Clone)]
pub struct Shared {
    /// How models are loaded.
    pub options: LoadOptions,
    /// What the service counts.
    pub metrics: Arc<Metrics>,
    /// Explanations running at once, whichever door they came through.
    pub explanations: Arc<Semaphore>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            options: LoadOptions::default(),
            metrics: Arc::new(Metrics::new()),
            explanations: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        }
    }
}

impl ServedModel {
    /// Loads one model version from `source` and composes what serves it.
    /// `root` is the models directory, for naming files.
    pub(crate) fn load(source: &Source, root: &Path, shared: &Shared) -> Result<Self> {
        let options = shared.options;
        let started = Instant::now();
        let mut model = LoadedModel::load(source, root, options.max_model_bytes)?;
        let explainer = match &source.background {
            Some(path) => explainer(path, root, &model)?,
            None => Err(format!(
                "it ships no {} of training rows to measure against",
                crate::model::BACKGROUND_FILE
            )),
        };
        let monitor = match (&source.reference, options.monitoring) {
            (_, false) => Err("monitoring is off (MONITORING=false)".to_owned()),
            (None, true) => Err(format!("it ships no {}", crate::model::REFERENCE_FILE)),
            (Some(path), true) => Ok(Monitor::load(path, model.card()).with_context(|| {
                format!("{} is not a reference profile of this model", relative(path, root))
            })?),
        };
        model.took(started.elapsed());
        let metrics = shared.metrics.model(&model.card().name);
        Ok(Self { model, explainer, monitor, metrics, explanations: shared.explanations.clone() })
    }

    /// Loads the model in directory `dir` (the `<name>/model.onnx` layout),
    /// with default options, metrics of its own and no explanation budget.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let name = dir.file_name().and_then(|n| n.to_str()).context("the directory has no name")?;
        let root = dir.parent().unwrap_or(dir);
        let source = crate::model::source_in(name, None, dir, None);
        Self::load(&source, root, &Shared::default())
    }
}

/// Reads `background.csv` (a broken one fails the load: it ships with the
/// model) and builds the explainer; a model no method can explain gets the
/// reason instead.
fn explainer(path: &Path, root: &Path, model: &LoadedModel) -> Result<Result<Explainer, String>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", relative(path, root)))?;
    let table =
        crate::input::csv::read(model.schema(), std::io::BufReader::new(file), MAX_BACKGROUND_ROWS, |e| {
            BodyError::Malformed(e.to_string())
        })
        .map_err(|e| anyhow::anyhow!("{}: {}", relative(path, root), describe(e)))?;
    let classes = model.card().classes.len();
    let explainer = Explainer::build(model.graph(), model.schema(), classes, table.into_parts().2);
    if let Err(why) = &explainer {
        tracing::warn!(model = %model.card().name, reason = %why, "the model cannot be explained");
    }
    Ok(explainer)
}
