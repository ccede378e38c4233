//! The UI's own liveness: never depends on the API.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
}

async fn health() -> &'static str {
    "ok"
}
