//! `AppState`: what every handler can reach, cheap to clone.

use crate::api_client::ApiClient;
use crate::uploads::Uploads;

/// Shared state of the running UI.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The prediction API.
    pub api: ApiClient,
    /// What an upload may cost.
    pub uploads: Uploads,
}
