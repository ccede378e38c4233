//! Operating the model repository over HTTP: `POST /admin/reload` rescans
//! `MODELS_DIR` now (as a file change or SIGHUP would), when the operator
//! turned model control on, behind the admin key.

use std::time::Instant;

use api_types::{Problem, ReloadReport};
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::gate::GateLayer;
use crate::repository::ScanReport;
use crate::state::AppState;

pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reload)).route_layer(GateLayer::model_control(state))
}

/// Rescans the models directory: new and changed files are loaded, checked
/// (card, golden rows, a trial run) and swapped in at once; a file that fails
/// leaves the model it would replace serving; removed ones stop serving.
#[utoipa::path(
    post,
    path = "/admin/reload",
    tag = "models",
    responses(
        (status = 200, description = "What the rescan loaded, kept, unloaded and refused", body = ReloadReport),
        (status = 401, description = "The request lacks the admin key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Model control is off (MODEL_CONTROL)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn reload(State(state): State<AppState>) -> Result<ApiJson<ReloadReport>, ApiError> {
    let started = Instant::now();
    let report = state.models.reload().await?;
    Ok(ApiJson(reload_report(&state, report, started)))
}

/// The wire form of a scan's report.
fn reload_report(state: &AppState, report: ScanReport, started: Instant) -> ReloadReport {
    ReloadReport {
        loaded: report.loaded,
        unchanged: report.unchanged,
        unloaded: report.unloaded,
        failures: report.failed,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        models: state.models.current().names(),
    }
}
