//! Liveness and readiness.

use api_types::{Health, Readiness};
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::ApiJson;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready)).routes(routes!(ready_alias))
}

/// The process answers. Never touches the models.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is up", body = Health)))]
async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok".to_owned() })
}

/// Every model is loaded: models load before the listener serves, so answering means ready.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "Models are loaded and predictions can be served", body = Readiness)))]
async fn ready(State(state): State<AppState>) -> ApiJson<Readiness> {
    ApiJson(Readiness {
        status: "ready".to_owned(),
        models: state.registry.names(),
        default_model: state.registry.default_name().to_owned(),
    })
}

/// Readiness under the FastAPI peer's path, so its clients and load scripts work unchanged.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "Same as /readyz", body = Readiness)))]
async fn ready_alias(state: State<AppState>) -> ApiJson<Readiness> {
    ready(state).await
}
