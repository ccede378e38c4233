//! `AppState`: what every handler can reach, cheap to clone.

use std::sync::Arc;

use crate::model::Registry;

/// Shared, read-only state of the running service.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded models.
    pub registry: Arc<Registry>,
    /// The most rows one batch may hold.
    pub max_batch: usize,
}
