//! Building and running the service: load every model, bind, then serve.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::model::Registry;
use crate::routes::api_router;
use crate::state::AppState;

/// Bytes a batch row may take on the wire; the body limit grows with `MAX_BATCH`.
const BYTES_PER_ROW: usize = 1024;
/// Room for the envelope and small requests.
const BASE_BODY_LIMIT: usize = 64 * 1024;

/// A service whose models are loaded and whose port is bound, ready to serve.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    started: Instant,
    shutdown_timeout: Duration,
}

impl App {
    /// Loads and checks every model, then binds the listener.
    ///
    /// A bad model fails here, before anything listens; the bound port is
    /// known as soon as this returns (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self> {
        let started = Instant::now();
        let dir = settings.models_dir.clone();
        let default_model = settings.default_model.clone();
        let registry = tokio::task::spawn_blocking(move || Registry::load(&dir, &default_model))
            .await
            .context("the model-loading task failed")??;
        let max_batch = settings.max_batch as usize;
        let api_key = settings.api_key.clone().filter(|k| !k.expose_secret().is_empty()).map(Arc::new);
        let state = AppState { registry: Arc::new(registry), max_batch, api_key };
        let router = api_router(state, BASE_BODY_LIMIT + max_batch * BYTES_PER_ROW);
        let addr = SocketAddr::new(settings.host, settings.port);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("Failed to bind {addr}"))?;
        Ok(Self { listener, router, started, shutdown_timeout: settings.shutdown_timeout() })
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
        let (stopping, stop_asked) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stopping.send(());
        });
        let timeout = self.shutdown_timeout;
        let deadline = async move {
            match stop_asked.await {
                Ok(()) => tokio::time::sleep(timeout).await,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            served = server => served.context("the server failed")?,
            () = deadline => {
                tracing::warn!(timeout_secs = timeout.as_secs(), "in-flight requests did not finish in time");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, draining"),
        () = terminate => tracing::info!("SIGTERM received, draining"),
    }
}
