//! The live set of served models: the current [`Registry`] of every loaded
//! version, swapped whole for the next one when a reload ([`watch`])
//! finishes. A request takes the registry once and
//! keeps it, so it finishes on the versions it started with, and never sees
//! a model missing half-way through a swap.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

mod registry;
mod watch;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
pub use registry::{Registry, ScanReport};
use tokio::sync::Mutex;
pub use watch::{Watch, watch};

use crate::serving::Shared;

/// The models directory and what is loaded from it now.
#[derive(Debug)]
pub struct Repository {
    dir: PathBuf,
    default_model: String,
    current: ArcSwap<Registry>,
    /// One reload at a time; holds the names unloaded on request, which
    /// scans skip until they are loaded again.
    reloads: Mutex<BTreeSet<String>>,
    /// What `reloads` holds, readable without taking it.
    held: ArcSwap<BTreeSet<String>>,
    shared: Shared,
}

impl Repository {
    /// Loads every model in `dir`. With `strict`, any failure (or a missing
    /// default model) is an error, so a broken deploy fails to start;
    /// without, the failures are logged and served in `/readyz`.
    pub async fn open(dir: PathBuf, default_model: String, strict: bool, shared: Shared) -> Result<Self> {
        let scan_dir = dir.clone();
        let scan_shared = shared.clone();
        let name = default_model.clone();
        let (registry, report) = tokio::task::spawn_blocking(move || {
            let (registry, report) = Registry::scan(&scan_dir, &name, None, &BTreeSet::new(), &scan_shared)?;
            if strict {
                registry.refuse_failures(&scan_dir, &report).context("STRICT_MODELS=true")?;
            }
            anyhow::Ok((registry, report))
        })
        .await
        .context("the model-loading task failed")??;
        if registry.default_model().is_none() {
            tracing::warn!(
                default_model = %default_model,
                loaded = ?registry.names(),
                dir = %dir.display(),
                "the default model is not loaded: POST /predict answers 404 until it is"
            );
        }
        let repository = Self {
            dir,
            default_model,
            current: ArcSwap::from_pointee(registry),
            reloads: Mutex::new(BTreeSet::new()),
            held: ArcSwap::from_pointee(BTreeSet::new()),
            shared,
        };
        repository.count(&report);
        Ok(repository)
    }

    /// The registry as it is now; keep it for the whole request.
    pub fn current(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    /// The models directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Scans the directory again: changed files are loaded and checked in the
    /// background while the current registry serves, then swapped in at once.
    pub async fn reload(&self) -> Result<ScanReport> {
        let held = self.reloads.lock().await;
        self.scan_holding(&held).await
    }

    /// Serves `name` again after an [`unload`](Self::unload), loading it from disk.
    pub async fn load(&self, name: &str) -> Result<ScanReport> {
        let mut held = self.reloads.lock().await;
        held.remove(name);
        self.scan_holding(&held).await
    }

    /// Stops serving `name` (every version) until it is loaded again.
    pub async fn unload(&self, name: &str) -> Result<ScanReport> {
        let mut held = self.reloads.lock().await;
        held.insert(name.to_owned());
        self.scan_holding(&held).await
    }

    /// The models unloaded on request. Never waits for a reload: a slow
    /// load holds the reload lock, and listing must not wait on it.
    pub async fn held(&self) -> BTreeSet<String> {
        self.held.load_full().as_ref().clone()
    }

    async fn scan_holding(&self, held: &BTreeSet<String>) -> Result<ScanReport> {
        self.held.store(Arc::new(held.clone()));
        let started = Instant::now();
        let previous = self.current();
        let (dir, name, held, shared) =
            (self.dir.clone(), self.default_model.clone(), held.clone(), self.shared.clone());
        let (registry, report) =
            tokio::task::spawn_blocking(move || Registry::scan(&dir, &name, Some(&previous), &held, &shared))
                .await
                .context("the model-loading task failed")??;
        self.current.store(Arc::new(registry));
        self.count(&report);
        tracing::info!(
            loaded = ?report.loaded,
            unloaded = ?report.unloaded,
            failed = report.failed.len(),
            took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "models rescanned"
        );
        Ok(report)
    }

    fn count(&self, report: &ScanReport) {
        for key in &report.loaded {
            self.shared.metrics.record_model_load(model_of(key), true);
        }
        let registry = self.current();
        for failure in &report.new_failures {
            self.shared.metrics.record_model_load(&failure.model, false);
        }
        let failures = registry.failures();
        self.shared.metrics.set_model_counts(registry.model_count(), failures.len());
        let present: BTreeSet<String> =
            registry.names().into_iter().chain(failures.into_iter().map(|f| f.model)).collect();
        self.shared.metrics.retain_models(&present);
    }
}

fn model_of(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}
