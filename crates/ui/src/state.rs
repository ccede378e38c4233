//! `AppState`: what every handler can reach, cheap to clone.

use crate::api_client::ApiClient;

/// Shared state of the running UI.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The prediction API.
    pub api: ApiClient,
    /// Largest CSV upload accepted, in bytes.
    pub upload_limit: usize,
}
