//! Liveness and readiness bodies.

use serde::{Deserialize, Serialize};

/// `GET /healthz`: the process is up and answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `"ok"` when the endpoint answers.
    pub status: String,
}

/// `GET /readyz`: every model is loaded and optimized, so predictions can be served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `"ready"` when the endpoint answers 200.
    pub status: String,
    /// The names of the models being served.
    pub models: Vec<String>,
    /// The model `POST /predict` uses.
    pub default_model: String,
}
