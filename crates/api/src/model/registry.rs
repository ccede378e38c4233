//! The set of served models, loaded from `models/<name>/{card.toml,model.onnx}`
//! (and `background.csv`, the rows explanations are measured against).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use api_types::{ModelCard, ModelDetails, Signature};

use super::card;
use super::graph::Graph;
use crate::explain::Explainer;
use crate::input::{Cell, FeatureSchema, RowsBuilder, Wording};

const CARD_FILE: &str = "card.toml";
const MODEL_FILE: &str = "model.onnx";
const BACKGROUND_FILE: &str = "background.csv";
/// More background rows make explanations slower, not more exact.
const MAX_BACKGROUND_ROWS: usize = 1000;

/// A model ready to serve: its card, its input rules and its graph.
#[derive(Debug)]
pub struct LoadedModel {
    card: ModelCard,
    schema: FeatureSchema,
    graph: Graph,
    /// The explainer, or why the model cannot be explained.
    explainer: Result<Explainer, String>,
}

impl LoadedModel {
    /// Loads and checks one model directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let card_path = dir.join(CARD_FILE);
        let card = card::read(&card_path)?;
        let schema = card::check(&card)
            .with_context(|| format!("{} is not a valid model card", card_path.display()))?;
        let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        ensure!(
            card.name == dir_name,
            "{}: the card's name {:?} must match its directory {:?}",
            card_path.display(),
            card.name,
            dir_name
        );

        let model_path = dir.join(MODEL_FILE);
        ensure!(model_path.is_file(), "{} is missing", model_path.display());
        let graph = Graph::load(&model_path, &card, &schema)
            .with_context(|| format!("{} does not match {}", model_path.display(), card_path.display()))?;
        let explainer = explainer(dir, &card, &schema, &graph)?;
        let model = Self { card, schema, graph, explainer };
        model.warm_up().with_context(|| {
            format!("{}: a trial run on the card's defaults failed", model_path.display())
        })?;
        Ok(model)
    }

    /// Runs a row of the card's defaults once, so a graph that loads but
    /// cannot run fails the boot, and the first real request pays no lazy
    /// set-up. A feature with no default takes its first category, missing,
    /// or the value of its range nearest zero.
    fn warm_up(&self) -> Result<()> {
        let mut rows = RowsBuilder::new(&self.schema, &Wording::JSON);
        let row = rows.begin_row();
        for (col, f) in self.card.features.iter().enumerate() {
            let cell = match (&f.default, f.categories.as_deref()) {
                (Some(api_types::FeatureValue::Number(x)), _) => Cell::Number(*x),
                (Some(api_types::FeatureValue::Text(t)), _) => Cell::Text(t),
                (None, _) if self.schema.missing_allowed(col) => Cell::Blank,
                (None, Some([first, ..])) => Cell::Text(first),
                (None, None) if let Some(choice) = f.choices.as_ref().and_then(|c| c.first()) => {
                    Cell::Number(choice.value)
                }
                (None, _) => {
                    Cell::Number(0.0_f64.clamp(f.min.unwrap_or(f64::MIN), f.max.unwrap_or(f64::MAX)))
                }
            };
            rows.set(row, col, cell, Vec::new);
        }
        let rows = match rows.finish() {
            Ok(rows) => rows,
            Err(problems) => bail!("the card's defaults are not valid input: {:?}", problems.into_errors()),
        };
        self.graph.run(rows).map(drop)
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// The rules input rows must satisfy.
    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    /// The runnable graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The explainer, or why this model cannot be explained.
    pub fn explainer(&self) -> Result<&Explainer, &str> {
        self.explainer.as_ref().map_err(String::as_str)
    }

    /// The card plus the graph's signature, as `GET /models/{name}` serves it.
    pub fn details(&self) -> ModelDetails {
        let signature =
            Signature { inputs: self.graph.inputs().to_vec(), output: self.graph.output().clone() };
        ModelDetails { card: self.card.clone(), signature }
    }
}

/// Reads `background.csv` (a broken one fails the boot: it ships with the
/// model) and builds the explainer; a model without one, or one no method
/// can explain, gets the reason instead.
fn explainer(
    dir: &Path,
    card: &ModelCard,
    schema: &FeatureSchema,
    graph: &Graph,
) -> Result<Result<Explainer, String>> {
    let path = dir.join(BACKGROUND_FILE);
    if !path.is_file() {
        return Ok(Err(format!("it ships no {BACKGROUND_FILE} of training rows to measure against")));
    }
    let file = fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let table = crate::input::csv::read(schema, std::io::BufReader::new(file), MAX_BACKGROUND_ROWS, |e| {
        crate::input::BodyError::Malformed(e.to_string())
    })
    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), describe(e)))?;
    let classes = card.classes.len();
    let explainer = Explainer::build(graph, schema, classes, table.into_parts().2);
    if let Err(why) = &explainer {
        tracing::warn!(model = %card.name, reason = %why, "the model cannot be explained");
    }
    Ok(explainer)
}

fn describe(e: crate::input::BodyError) -> String {
    match e {
        crate::input::BodyError::Malformed(m) => m,
        crate::input::BodyError::TooLarge => "too large".to_owned(),
        crate::input::BodyError::Invalid(problems) => problems
            .into_errors()
            .iter()
            .map(|e| format!("{:?}: {}", e.loc, e.msg))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Every served model, by name.
#[derive(Debug)]
pub struct Registry {
    models: BTreeMap<String, Arc<LoadedModel>>,
    default_model: String,
}

impl Registry {
    /// Loads every model directory under `dir`.
    ///
    /// A sub-directory without `card.toml` or `model.onnx` (such as `train/`)
    /// is not a model and is skipped; any other problem fails, naming the file.
    pub fn load(dir: &Path, default_model: &str) -> Result<Self> {
        let entries = fs::read_dir(dir)
            .with_context(|| format!("Failed to read the models directory {}", dir.display()))?;
        let mut dirs: Vec<_> = entries
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("Failed to list {}", dir.display()))?;
        dirs.sort();

        let mut models = BTreeMap::new();
        let mut failures = Vec::new();
        for path in dirs.iter().filter(|p| p.is_dir()) {
            let has_card = path.join(CARD_FILE).is_file();
            let has_model = path.join(MODEL_FILE).is_file();
            if !has_card && !has_model {
                continue;
            }
            if !has_card {
                failures.push(format!("{} has {MODEL_FILE} but no {CARD_FILE}", path.display()));
                continue;
            }
            match LoadedModel::load(path) {
                Ok(model) => {
                    tracing::info!(model = %model.card.name, version = %model.card.version, "model loaded");
                    models.insert(model.card.name.clone(), Arc::new(model));
                }
                Err(err) => failures.push(format!("{err:#}")),
            }
        }
        if !failures.is_empty() {
            bail!("{} model(s) failed to load:\n  - {}", failures.len(), failures.join("\n  - "));
        }
        if models.is_empty() {
            bail!(
                "{} holds no model: expected sub-directories with {CARD_FILE} and {MODEL_FILE}",
                dir.display()
            );
        }
        if !models.contains_key(default_model) {
            bail!(
                "the default model {default_model:?} is not in {}; available: {}",
                dir.display(),
                models.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(Self { models, default_model: default_model.to_owned() })
    }

    /// Looks a model up by name.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedModel>> {
        self.models.get(name)
    }

    /// The model `POST /predict` uses.
    pub fn default_model(&self) -> &Arc<LoadedModel> {
        &self.models[&self.default_model]
    }

    /// The default model's name.
    pub fn default_name(&self) -> &str {
        &self.default_model
    }

    /// Every model, sorted by name.
    pub fn models(&self) -> impl Iterator<Item = &Arc<LoadedModel>> {
        self.models.values()
    }

    /// Every model's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }
}
