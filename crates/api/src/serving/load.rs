//! Composing a served model: the model as loaded from its files, its
//! explainer (from the background rows shipped beside it) and its drift
//! monitor (from its reference profile), with its metrics.

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

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
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { monitoring: true }
    }
}

impl ServedModel {
    /// Loads one model version from `source` and composes what serves it.
    /// `root` is the models directory, for naming files.
    pub(crate) fn load(
        source: &Source,
        root: &Path,
        options: LoadOptions,
        metrics: &Metrics,
    ) -> Result<Self> {
        let started = Instant::now();
        let mut model = LoadedModel::load(source, root)?;
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
        let metrics = metrics.model(&model.card().name);
        Ok(Self { model, explainer, monitor, metrics })
    }

    /// Loads the model in directory `dir` (the `<name>/model.onnx` layout),
    /// with default options and metrics of its own.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let name = dir.file_name().and_then(|n| n.to_str()).context("the directory has no name")?;
        let root = dir.parent().unwrap_or(dir);
        let source = crate::model::source_in(name, None, dir, None);
        Self::load(&source, root, LoadOptions::default(), &Metrics::new())
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
