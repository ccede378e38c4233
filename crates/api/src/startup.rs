//! Building and running the service: load every model, bind, then serve.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use service::serve::{ConnectionLimits, serve};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::repository::{Repository, watch};
use crate::routes::{DriftCollector, RouterOptions, api_router};
use crate::serving::{LoadOptions, Shared};
use crate::state::AppState;

/// A service whose models are loaded and whose port is bound, ready to serve.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    started: Instant,
    limits: ConnectionLimits,
}

impl App {
    /// Loads and checks every model, then binds the listener.
    ///
    /// With `STRICT_MODELS`, a bad model fails here, before anything listens;
    /// otherwise it is reported and the rest served. Then the models
    /// directory is watched for changes. The bound port is
    /// known as soon as this returns (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self> {
        Self::build_with_routes(settings, Router::new()).await
    }

    /// [`App::build`] with `extra` routes served behind the same layers. Tests
    /// use it to exercise the layers with handlers the API does not have.
    pub async fn build_with_routes(settings: Settings, extra: Router<AppState>) -> Result<Self> {
        let started = Instant::now();
        let admin_key = service::cli::non_empty(settings.admin_key.as_ref()).cloned().map(Arc::new);
        anyhow::ensure!(
            !settings.model_control || admin_key.is_some(),
            "MODEL_CONTROL=true needs an ADMIN_KEY: model control is never open"
        );
        let metrics = Arc::new(Metrics::new());
        let models = Arc::new(
            Repository::open(
                settings.models_dir.clone(),
                settings.default_model.clone(),
                settings.strict_models,
                Shared {
                    options: LoadOptions {
                        monitoring: settings.monitoring,
                        follow_links: settings.models_follow_links,
                        max_model_bytes: settings.model_max_bytes,
                    },
                    metrics: metrics.clone(),
                    explanations: Arc::new(Semaphore::new(settings.max_concurrent_explanations as usize)),
                },
            )
            .await?,
        );
        metrics.register_collector(Box::new(DriftCollector::new(&models)));
        watch(models.clone(), settings.models_watch, Duration::from_millis(settings.models_poll_ms))?;
        let state = AppState {
            models,
            max_batch: settings.max_batch as usize,
            body_limit: settings.body_limit(),
            api_key: service::cli::non_empty(settings.api_key.as_ref()).cloned().map(Arc::new),
            admin_key,
            model_control: settings.model_control,
            metrics,
            prediction_permits: Arc::new(Semaphore::new(settings.max_concurrent_predictions as usize)),
            request_timeout: Duration::from_millis(settings.request_timeout_ms),
        };
        let options =
            RouterOptions { body_limit: settings.body_limit(), cors_origins: settings.cors_origins() };
        let router = api_router(state, &options, extra)?;
        let addr = settings.serve.address(settings.port);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("Failed to bind {addr}"))?;
        let limits = settings.serve.limits();
        Ok(Self { listener, router, started, limits })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting and lets
    /// in-flight requests finish, for at most the shutdown timeout.
    pub async fn run_until_stopped(self) -> Result<()> {
        let addr = self.listener.local_addr().context("Failed to read the bound address")?;
        // What a free-plan wake-up costs: from loading models to ready, in milliseconds.
        tracing::info!(%addr, startup_ms = self.started.elapsed().as_millis() as u64, "ready");
        serve(self.listener, self.router, self.limits, service::shutdown::signal()).await?;
        tracing::info!("stopped");
        Ok(())
    }
}
