//! `GET /metrics`: the Prometheus (OpenMetrics text) exposition.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::monitor::Samples;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Request counts and latencies by route, predictions and rows by model,
/// inference time, batch sizes, requests in flight, model loads, and the
/// drift counters: rows by model, feature and reference bin, with each
/// bin's training share, so Prometheus can compute drift across instances.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String))
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut samples = Samples::default();
    for model in state.models.current().models() {
        if let Ok(monitor) = model.monitor() {
            monitor.write_metrics(&model.card().name, &mut samples);
        }
    }
    let text = state.metrics.render();
    // The drift families go before the exposition's closing `# EOF`.
    let body = match text.strip_suffix("# EOF\n") {
        Some(head) => format!("{head}{}# EOF\n", samples.render()),
        None => text,
    };
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
