//! The served models: each [`Source`] loaded into a [`LoadedModel`] (card,
//! input rules, graph, explainer, the checks made at load), and the
//! [`Registry`] of every loaded version with the failures of the last scan.
//! A registry is never changed once built: a reload builds the next one
//! from the previous, reusing what did not change.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use api_types::{CardSource, GoldenCheck, LoadFailure, ModelCard, ModelDetails, ModelStatus, Signature};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::card;
use super::graph::{Graph, ModelOutput};
use super::infer;
use super::source::{self, Fingerprint, Source, Version};
use crate::explain::Explainer;
use crate::input::{Cell, FeatureSchema, RowsBuilder, Wording, json_v1};
use crate::monitor::Monitor;

/// More background rows make explanations slower, not more exact.
const MAX_BACKGROUND_ROWS: usize = 1000;
/// How far the served graph may be from a golden probability or value
/// (relative for values above 1): float32 arithmetic in another order.
const GOLDEN_TOLERANCE: f64 = 1e-4;
/// Golden files are for checking, not for loading a data set.
const MAX_GOLDEN_ROWS: usize = 10_000;

/// A model ready to serve: its card, its input rules and its graph.
#[derive(Debug)]
pub struct LoadedModel {
    card: ModelCard,
    schema: FeatureSchema,
    graph: Graph,
    /// The explainer, or why the model cannot be explained.
    explainer: Result<Explainer, String>,
    /// Drift monitoring, or why the model is not monitored.
    monitor: Result<Monitor, String>,
    /// What was loaded, from where, and how it checked out.
    status: ModelStatus,
    key: String,
    fingerprint: Fingerprint,
}

impl LoadedModel {
    /// Loads and checks one model version: card (read, merged over what the
    /// graph declares, or inferred), graph, explainer, a warm-up run and the
    /// golden rows. `root` is the models directory, for naming files.
    pub(super) fn load(source: &Source, root: &Path, options: LoadOptions) -> Result<Self> {
        let started = Instant::now();
        let fingerprint = source.fingerprint();
        let bytes =
            fs::read(&source.onnx).with_context(|| format!("cannot read {}", source.onnx.display()))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        drop(bytes);
        let (card, card_source, operators) = card_for(source, root)?;
        let schema = card::check(&card).with_context(|| match &source.card {
            Some(path) => format!("{} is not a valid model card", relative(path, root)),
            None => format!("the card inferred from {} is not valid", relative(&source.onnx, root)),
        })?;
        let graph = Graph::load(&source.onnx, &card, &schema).with_context(|| match &source.card {
            Some(path) => format!("{} does not match {}", relative(&source.onnx, root), relative(path, root)),
            None => format!("{} cannot be served", relative(&source.onnx, root)),
        })?;
        let explainer = match &source.background {
            Some(path) => explainer(path, root, &card, &schema, &graph)?,
            None => {
                Err(format!("it ships no {} of training rows to measure against", source::BACKGROUND_FILE))
            }
        };
        let monitor = match (&source.reference, options.monitoring) {
            (_, false) => Err("monitoring is off (MONITORING=false)".to_owned()),
            (None, true) => Err(format!("it ships no {}", crate::monitor::REFERENCE_FILE)),
            (Some(path), true) => Ok(Monitor::load(path, &card).with_context(|| {
                format!("{} is not a reference profile of this model", relative(path, root))
            })?),
        };
        let mut model = Self {
            card,
            schema,
            graph,
            explainer,
            monitor,
            status: ModelStatus {
                version: String::new(),
                versions: Vec::new(),
                sha256,
                file: relative(&source.onnx, root),
                card_source,
                operators,
                golden: None,
                loaded_at: rfc3339(SystemTime::now()),
                load_ms: 0,
                last_error: None,
            },
            key: source.key(),
            fingerprint,
        };
        model.status.version.clone_from(&model.card.version);
        model.warm_up().with_context(|| {
            format!("{}: a trial run on the card's defaults failed", relative(&source.onnx, root))
        })?;
        if let Some(path) = &source.golden {
            let check = model.check_golden(path).with_context(|| {
                format!(
                    "{} does not give the answers of {}",
                    relative(&source.onnx, root),
                    relative(path, root)
                )
            })?;
            model.status.golden = Some(check);
        }
        model.status.load_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(model)
    }

    /// Loads the model in directory `dir` (the `<name>/model.onnx` layout).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let name = dir.file_name().and_then(|n| n.to_str()).context("the directory has no name")?;
        let root = dir.parent().unwrap_or(dir);
        Self::load(&source::source_in(name, None, dir, None), root, LoadOptions::default())
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

    /// Drift monitoring, or why this model is not monitored.
    pub fn monitor(&self) -> Result<&Monitor, &str> {
        self.monitor.as_ref().map_err(String::as_str)
    }

    /// What was loaded and how it checked out.
    pub fn status(&self) -> &ModelStatus {
        &self.status
    }

    /// The version served.
    pub fn version(&self) -> &str {
        &self.card.version
    }

    /// Predicts every row of `golden.json` and compares with its answers.
    fn check_golden(&self, path: &Path) -> Result<GoldenCheck> {
        let text = fs::read_to_string(path).context("cannot read it")?;
        let golden: Golden = serde_json::from_str(&text).context("not a golden file")?;
        ensure!(golden.rows.len() <= MAX_GOLDEN_ROWS, "more than {MAX_GOLDEN_ROWS} rows");
        let instances: Vec<&serde_json::Value> = golden.rows.iter().map(|r| &r.features).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "instances": instances }))?;
        let rows = json_v1::parse_batch(&self.schema, &body, MAX_GOLDEN_ROWS)
            .map_err(|e| anyhow::anyhow!("its rows are not valid input: {}", describe(e)))?;
        let output = self.graph.run(rows)?;
        let mut worst: f64 = 0.0;
        for (i, row) in golden.rows.iter().enumerate() {
            let (got, want): (Vec<f64>, Vec<f64>) = match (&output, &row.probabilities, row.value) {
                (ModelOutput::Probabilities { data, classes }, Some(want), _) => (
                    data[i * classes..(i + 1) * classes].iter().map(|&p| f64::from(p)).collect(),
                    want.clone(),
                ),
                (ModelOutput::Values(values), _, Some(want)) => (vec![f64::from(values[i])], vec![want]),
                _ => bail!("row {i} gives no answer of the kind this model serves"),
            };
            ensure!(
                got.len() == want.len(),
                "row {i}: {} answers, golden.json has {}",
                got.len(),
                want.len()
            );
            for (g, w) in got.iter().zip(&want) {
                let error = (g - w).abs() / w.abs().max(1.0);
                ensure!(error <= GOLDEN_TOLERANCE, "row {i}: the graph gives {g}, golden.json {w}");
                worst = worst.max((g - w).abs());
            }
        }
        Ok(GoldenCheck {
            rows: golden.rows.len(),
            max_abs_error: worst,
            tolerance: GOLDEN_TOLERANCE,
            source: golden.source,
        })
    }
}

/// The parts of `golden.json` the load check reads.
#[derive(Deserialize)]
struct Golden {
    #[serde(default)]
    source: String,
    rows: Vec<GoldenRow>,
}

#[derive(Deserialize)]
struct GoldenRow {
    features: serde_json::Value,
    probabilities: Option<Vec<f64>>,
    value: Option<f64>,
}

/// The card a source serves, where it came from, and the graph's operators.
fn card_for(source: &Source, root: &Path) -> Result<(ModelCard, CardSource, Vec<String>)> {
    let onnx = relative(&source.onnx, root);
    let signature = Graph::inspect(&source.onnx).with_context(|| onnx.clone())?;
    let version = source.version.clone().unwrap_or_else(|| "1".to_owned());
    let inferred = infer::card_from_graph(&source.name, &version, &onnx, &signature);
    let (mut card, card_source) = match (&source.card, inferred) {
        (Some(path), inferred) => {
            let text =
                fs::read_to_string(path).with_context(|| format!("cannot read {}", relative(path, root)))?;
            let parsed = match inferred {
                Ok(inferred) => infer::merge(&inferred, &text),
                // The graph alone says too little (a card is all there is).
                Err(_) => card::parse(&text).map(|c| (c, CardSource::File)),
            };
            parsed.with_context(|| format!("{} is not a valid model card", relative(path, root)))?
        }
        (None, Ok(inferred)) => (inferred, CardSource::Inferred),
        (None, Err(why)) => {
            return Err(why.context(format!(
                "{onnx} has no {} and the graph alone does not say how to serve it",
                source::CARD_FILE
            )));
        }
    };
    ensure!(
        card.name == source.name,
        "{}: the card's name {:?} must match the model's name {:?}",
        source.card.as_deref().map_or_else(|| onnx.clone(), |p| relative(p, root)),
        card.name,
        source.name
    );
    // In the versioned layout the directory says which version this is.
    if let Some(version) = &source.version {
        card.version.clone_from(version);
    }
    Ok((card, card_source, signature.operators))
}

/// `path` relative to the models directory, for messages and answers.
fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `t` as RFC 3339 UTC to the second (`2026-12-03T22:51:43Z`).
pub(super) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Reads `background.csv` (a broken one fails the load: it ships with the
/// model) and builds the explainer; a model no method can explain gets the
/// reason instead.
fn explainer(
    path: &Path,
    root: &Path,
    card: &ModelCard,
    schema: &FeatureSchema,
    graph: &Graph,
) -> Result<Result<Explainer, String>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", relative(path, root)))?;
    let table = crate::input::csv::read(schema, std::io::BufReader::new(file), MAX_BACKGROUND_ROWS, |e| {
        crate::input::BodyError::Malformed(e.to_string())
    })
    .map_err(|e| anyhow::anyhow!("{}: {}", relative(path, root), describe(e)))?;
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

/// What one scan of the models directory did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Versions loaded anew (`name` or `name/version`).
    pub loaded: Vec<String>,
    /// Versions whose files had not changed.
    pub unchanged: Vec<String>,
    /// Versions no longer served because their files are gone.
    pub unloaded: Vec<String>,
    /// Files that failed to load in this scan or an earlier one and are unchanged since.
    pub failed: Vec<LoadFailure>,
    /// The failures first seen in this scan.
    pub new_failures: Vec<LoadFailure>,
}

/// Every served model version, and what failed to load.
#[derive(Debug)]
pub struct Registry {
    /// By name, oldest version first.
    models: BTreeMap<String, Vec<Arc<LoadedModel>>>,
    /// By `name` or `name/version`, with the files as they were when they failed.
    failures: BTreeMap<String, (LoadFailure, Fingerprint)>,
    default_model: String,
}

impl Registry {
    /// Loads every model under `dir`: each version whose files are unchanged
    /// since `previous` is reused, every other one loaded anew; a version that
    /// fails keeps its previous load serving. Names in `held` are skipped
    /// (unloaded on request). Only an unreadable directory is an error.
    pub fn scan(
        dir: &Path,
        default_model: &str,
        previous: Option<&Self>,
        held: &BTreeSet<String>,
        options: LoadOptions,
    ) -> Result<(Self, ScanReport)> {
        let found = source::discover(dir)?;
        let mut report = ScanReport::default();
        let mut models: BTreeMap<String, Vec<Arc<LoadedModel>>> = BTreeMap::new();
        let mut failures = BTreeMap::new();
        let old = |key: &str| previous.and_then(|p| p.by_key(key));
        let mut seen = BTreeSet::new();
        for src in found.sources.iter().filter(|s| !held.contains(&s.name)) {
            let key = src.key();
            seen.insert(key.clone());
            let fingerprint = src.fingerprint();
            let before = old(&key);
            if let Some(model) = before.filter(|m| m.fingerprint == fingerprint) {
                report.unchanged.push(key);
                models.entry(src.name.clone()).or_default().push(model.clone());
                continue;
            }
            let failed_before =
                previous.and_then(|p| p.failures.get(&key)).filter(|(_, f)| *f == fingerprint);
            if let Some(failure) = failed_before {
                failures.insert(key, failure.clone());
                if let Some(model) = before {
                    models.entry(src.name.clone()).or_default().push(model.clone());
                }
                continue;
            }
            match LoadedModel::load(src, dir, options) {
                Ok(model) => {
                    tracing::info!(model = %key, version = %model.version(), load_ms = model.status.load_ms, sha256 = %model.status.sha256, "model loaded");
                    report.loaded.push(key);
                    models.entry(src.name.clone()).or_default().push(Arc::new(model));
                }
                Err(err) => {
                    let failure = LoadFailure {
                        model: src.name.clone(),
                        version: src.version.clone(),
                        file: relative(&src.onnx, dir),
                        reason: format!("{err:#}"),
                        at: rfc3339(SystemTime::now()),
                        still_serving: before.is_some(),
                    };
                    tracing::error!(model = %key, file = %failure.file, reason = %failure.reason, still_serving = failure.still_serving, "model failed to load");
                    report.new_failures.push(failure.clone());
                    failures.insert(key, (failure, fingerprint));
                    if let Some(model) = before {
                        models.entry(src.name.clone()).or_default().push(model.clone());
                    }
                }
            }
        }
        for misplaced in found.misplaced.iter().filter(|m| !held.contains(&m.name)) {
            let failure = LoadFailure {
                model: misplaced.name.clone(),
                version: None,
                file: relative(&misplaced.file, dir),
                reason: misplaced.reason.clone(),
                at: rfc3339(SystemTime::now()),
                still_serving: false,
            };
            match previous.and_then(|p| p.failures.get(&misplaced.name)) {
                Some(standing) if standing.0.reason == failure.reason => {
                    failures.insert(misplaced.name.clone(), standing.clone());
                }
                _ => {
                    report.new_failures.push(failure.clone());
                    failures.insert(misplaced.name.clone(), (failure, Fingerprint::default()));
                }
            }
        }
        if let Some(previous) = previous {
            report.unloaded = previous
                .models
                .values()
                .flatten()
                .map(|m| m.key.clone())
                .filter(|k| !seen.contains(k))
                .collect();
        }
        for versions in models.values_mut() {
            versions.sort_by(|a, b| order(a.version(), b.version()));
        }
        report.failed = failures.values().map(|(f, _)| f.clone()).collect();
        Ok((Self { models, failures, default_model: default_model.to_owned() }, report))
    }

    /// Loads every model under `dir`, refusing any failure: a file that does
    /// not load, no model at all, or no `default_model` among them.
    pub fn load(dir: &Path, default_model: &str) -> Result<Self> {
        let (registry, report) =
            Self::scan(dir, default_model, None, &BTreeSet::new(), LoadOptions::default())?;
        registry.refuse_failures(dir, &report)?;
        Ok(registry)
    }

    /// An error listing what `report` (this registry's scan) found wrong, if anything.
    pub fn refuse_failures(&self, dir: &Path, report: &ScanReport) -> Result<()> {
        let (registry, default_model) = (self, &self.default_model);
        if !report.failed.is_empty() {
            let lines: Vec<String> =
                report.failed.iter().map(|f| format!("{}: {}", f.file, f.reason)).collect();
            bail!("{} model(s) failed to load:\n  - {}", lines.len(), lines.join("\n  - "));
        }
        if registry.models.is_empty() {
            bail!(
                "{} holds no model: expected <name>/model.onnx, <name>.onnx or <name>/<version>/model.onnx",
                dir.display()
            );
        }
        if registry.default_model().is_none() {
            bail!(
                "the default model {default_model:?} is not in {}; available: {}",
                dir.display(),
                registry.names().join(", ")
            );
        }
        Ok(())
    }

    fn by_key(&self, key: &str) -> Option<&Arc<LoadedModel>> {
        let name = key.split('/').next().unwrap_or(key);
        self.models.get(name)?.iter().find(|m| m.key == key)
    }

    /// The newest version of the model called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedModel>> {
        self.models.get(name)?.last()
    }

    /// One version of the model called `name`.
    pub fn get_version(&self, name: &str, version: &str) -> Option<&Arc<LoadedModel>> {
        self.models.get(name)?.iter().find(|m| m.version() == version)
    }

    /// The versions of the model called `name`, oldest first.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.models.get(name).map(|v| v.iter().map(|m| m.version().to_owned()).collect()).unwrap_or_default()
    }

    /// The model `POST /predict` uses, while it is loaded.
    pub fn default_model(&self) -> Option<&Arc<LoadedModel>> {
        self.get(&self.default_model)
    }

    /// The default model's name.
    pub fn default_name(&self) -> &str {
        &self.default_model
    }

    /// The newest version of every model, sorted by name.
    pub fn models(&self) -> impl Iterator<Item = &Arc<LoadedModel>> {
        self.models.values().filter_map(|v| v.last())
    }

    /// Every model's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

    /// Every load failure standing, sorted by model.
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.failures.values().map(|(f, _)| f.clone()).collect()
    }

    /// The failure standing for the model called `name` (any version), if any.
    pub fn last_error(&self, name: &str) -> Option<LoadFailure> {
        self.failures.values().map(|(f, _)| f).rfind(|f| f.model == name).cloned()
    }

    /// The card, signature and status of `model`, as `GET /models/{name}` serves them.
    pub fn details(&self, model: &LoadedModel) -> ModelDetails {
        let signature =
            Signature { inputs: model.graph.inputs().to_vec(), output: model.graph.output().clone() };
        let mut status = model.status.clone();
        status.versions = self.versions(&model.card.name);
        status.last_error = self.last_error(&model.card.name);
        ModelDetails { card: model.card.clone(), signature, status }
    }
}

/// Versions in the order they were released: as numbers when they are, else as text.
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}
