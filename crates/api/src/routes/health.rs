//! Liveness and readiness.

use api_types::{Health, Readiness};
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::error::ApiJson;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health)).route("/readyz", get(ready))
}

/// The process answers. Never touches the models.
async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok".to_owned() })
}

/// Models are loaded before the listener serves, so answering means ready.
async fn ready(State(state): State<AppState>) -> ApiJson<Readiness> {
    ApiJson(Readiness {
        status: "ready".to_owned(),
        models: state.registry.names(),
        default_model: state.registry.default_name().to_owned(),
    })
}
