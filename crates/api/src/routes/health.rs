//! Liveness and readiness.

use api_types::{Health, Readiness};
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::ApiJson;
use crate::state::AppState;

/// Model names `/readyz` lists at most: it stays small whatever is served.
const READY_NAMES: usize = 100;
/// Failures `/readyz` lists at most; `GET /models` pages through them all.
const READY_FAILURES: usize = 5;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready)).routes(routes!(ready_alias))
}

/// The process answers. Never touches the models.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is up", body = Health)))]
async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok".to_owned() })
}

/// Ready when the default model is loaded (models load before the listener
/// serves); counts the models loaded and the files that failed, and names
/// the first of each.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "The default model is loaded and predictions can be served", body = Readiness),
    (status = 503, description = "The default model is not loaded; the body says what is and what failed", body = Readiness),
))]
async fn ready(State(state): State<AppState>) -> (StatusCode, ApiJson<Readiness>) {
    let registry = state.models.current();
    let ready = registry.default_model().is_some();
    let failures = registry.failures();
    let body = Readiness {
        status: if ready { "ready" } else { "default model not loaded" }.to_owned(),
        model_count: registry.model_count(),
        models: registry.names().into_iter().take(READY_NAMES).collect(),
        default_model: registry.default_name().to_owned(),
        failure_count: failures.len(),
        failures: failures.into_iter().take(READY_FAILURES).collect(),
    };
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, ApiJson(body))
}

/// Readiness under the FastAPI peer's path, so its clients and load scripts work unchanged.
#[utoipa::path(get, path = "/health", tag = "health", responses(
    (status = 200, description = "Same as /readyz", body = Readiness),
    (status = 503, description = "Same as /readyz", body = Readiness),
))]
async fn ready_alias(state: State<AppState>) -> (StatusCode, ApiJson<Readiness>) {
    ready(state).await
}
