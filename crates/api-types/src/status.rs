//! Liveness and readiness bodies.

use serde::{Deserialize, Serialize};

/// `GET /healthz`: the process is up and answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `"ok"` when the endpoint answers.
    pub status: String,
}

/// `GET /readyz`: the default model is loaded and optimized, so predictions
/// can be served; what else is loaded, and what failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `"ready"` when the endpoint answers 200.
    pub status: String,
    /// How many models are served.
    pub model_count: usize,
    /// The names of the models being served (the first 100, sorted; `GET
    /// /models` pages through all).
    pub models: Vec<String>,
    /// The model `POST /predict` uses.
    pub default_model: String,
    /// How many model files stand failed.
    pub failure_count: usize,
    /// The first few model files that failed to load (`GET /models` lists all).
    #[serde(default)]
    pub failures: Vec<crate::LoadFailure>,
}

/// `POST /admin/reload`: what one rescan of the models directory did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReloadReport {
    /// Versions loaded anew (`name` or `name/version`), now serving.
    pub loaded: Vec<String>,
    /// Versions whose files had not changed, still serving.
    pub unchanged: Vec<String>,
    /// Versions no longer served because their files are gone.
    pub unloaded: Vec<String>,
    /// Files that failed to load and have not changed since; an earlier
    /// load of the same model keeps serving where there was one.
    pub failures: Vec<crate::LoadFailure>,
    /// How long the rescan took, in milliseconds.
    pub took_ms: u64,
    /// The models served after it.
    pub models: Vec<String>,
}
