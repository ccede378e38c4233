//! `AppState`: what every handler can reach, cheap to clone.

use std::sync::Arc;

use secrecy::SecretString;

use crate::model::Registry;

/// Shared, read-only state of the running service.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded models.
    pub registry: Arc<Registry>,
    /// The most rows one batch may hold.
    pub max_batch: usize,
    /// The key prediction requests must carry, if any.
    pub api_key: Option<Arc<SecretString>>,
}
