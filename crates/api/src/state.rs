//! `AppState`: what every handler can reach, cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;
use crate::repository::Repository;

/// Shared, read-only state of the running service.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded models, swapped whole on reload.
    pub models: Arc<Repository>,
    /// The most rows one batch may hold.
    pub max_batch: usize,
    /// The largest body accepted, in bytes, also once decompressed.
    pub body_limit: usize,
    /// The key prediction requests must carry, if any.
    pub api_key: Option<Arc<SecretString>>,
    /// The key operator requests (metrics, monitoring, the repository) must carry, if any.
    pub admin_key: Option<Arc<SecretString>>,
    /// Whether models may be loaded, unloaded and rescanned over HTTP.
    pub model_control: bool,
    /// What the service counts.
    pub metrics: Arc<Metrics>,
    /// Admission for prediction requests.
    pub prediction_permits: Arc<Semaphore>,
    /// How long one request may take.
    pub request_timeout: Duration,
}

impl FromRef<AppState> for Arc<Semaphore> {
    fn from_ref(state: &AppState) -> Self {
        state.prediction_permits.clone()
    }
}
