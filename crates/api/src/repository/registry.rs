//! Every served model version and the failures of the last scan, in one
//! [`Registry`]. A registry is never changed once built: a reload builds the
//! next one from the previous, reusing what did not change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Result, bail};
use api_types::{LoadFailure, ModelDetails, Signature};
use rayon::prelude::*;

use crate::model::{self, Fingerprint, Version, relative, rfc3339};
use crate::serving::{ServedModel, Shared};

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
    models: BTreeMap<String, Vec<Arc<ServedModel>>>,
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
        shared: &Shared,
    ) -> Result<(Self, ScanReport)> {
        let found = model::discover(dir, shared.options.follow_links)?;
        let mut report = ScanReport::default();
        let mut models: BTreeMap<String, Vec<Arc<ServedModel>>> = BTreeMap::new();
        let mut failures = BTreeMap::new();
        let old = |key: &str| previous.and_then(|p| p.by_key(key));
        let mut seen = BTreeSet::new();
        // What each source needs: reuse, a standing failure, or a load.
        let mut to_load = Vec::new();
        for src in found.sources.iter().filter(|s| !held.contains(&s.name)) {
            let key = src.key();
            seen.insert(key.clone());
            let fingerprint = src.fingerprint();
            let before = old(&key);
            if let Some(model) = before.filter(|m| *m.loaded().fingerprint() == fingerprint) {
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
            to_load.push((src, key, fingerprint, before));
        }
        // Loads are independent: spread over the cores, each isolated, so a
        // file that makes the graph library panic fails alone.
        let loaded: Vec<Result<ServedModel>> =
            to_load.par_iter().map(|(src, ..)| load_isolated(src, dir, shared)).collect();
        for ((src, key, fingerprint, before), loaded) in to_load.into_iter().zip(loaded) {
            match loaded {
                Ok(model) => {
                    tracing::info!(model = %key, version = %model.version(), load_ms = model.status().load_ms, sha256 = %model.status().sha256, "model loaded");
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
                .map(|m| m.loaded().key().to_owned())
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
        let (registry, report) = Self::scan(dir, default_model, None, &BTreeSet::new(), &Shared::default())?;
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

    fn by_key(&self, key: &str) -> Option<&Arc<ServedModel>> {
        let name = key.split('/').next().unwrap_or(key);
        self.models.get(name)?.iter().find(|m| m.loaded().key() == key)
    }

    /// The newest version of the model called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<ServedModel>> {
        self.models.get(name)?.last()
    }

    /// One version of the model called `name`.
    pub fn get_version(&self, name: &str, version: &str) -> Option<&Arc<ServedModel>> {
        self.models.get(name)?.iter().find(|m| m.version() == version)
    }

    /// The versions of the model called `name`, oldest first.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.models.get(name).map(|v| v.iter().map(|m| m.version().to_owned()).collect()).unwrap_or_default()
    }

    /// The model `POST /predict` uses, while it is loaded.
    pub fn default_model(&self) -> Option<&Arc<ServedModel>> {
        self.get(&self.default_model)
    }

    /// The default model's name.
    pub fn default_name(&self) -> &str {
        &self.default_model
    }

    /// The newest version of every model, sorted by name.
    pub fn models(&self) -> impl Iterator<Item = &Arc<ServedModel>> {
        self.models.values().filter_map(|v| v.last())
    }

    /// How many models are served.
    pub fn model_count(&self) -> usize {
        self.models.len()
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
    pub fn details(&self, model: &ServedModel) -> ModelDetails {
        let signature =
            Signature { inputs: model.graph().inputs().to_vec(), output: model.graph().output().clone() };
        let mut status = model.status().clone();
        status.versions = self.versions(&model.card().name);
        status.last_error = self.last_error(&model.card().name);
        ModelDetails { card: model.card().clone(), signature, status }
    }
}

/// Loads `src`, turning a panic inside the graph library (a hostile graph
/// can reach one) into this model's failure: the server and the other
/// models go on.
fn load_isolated(src: &model::Source, dir: &Path, shared: &Shared) -> Result<ServedModel> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ServedModel::load(src, dir, shared))) {
        Ok(loaded) => loaded,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let what: String = what.chars().take(300).collect();
            anyhow::bail!(
                "{} cannot be served: reading its graph crashed the graph library ({what}); the file is refused",
                relative(&src.onnx, dir)
            )
        }
    }
}

/// Versions in the order they were released: as numbers when they are, else as text.
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}
