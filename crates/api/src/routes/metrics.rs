//! `GET /metrics`: the Prometheus (OpenMetrics text) exposition.

use std::sync::{Arc, Weak};

use api_types::Problem;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::gate::GateLayer;
use crate::monitor::Samples;
use crate::repository::Repository;
use crate::state::AppState;

/// Behind the admin key, when one is set: the counters move with every
/// prediction, so an observer could read what a keyed client sent.
pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics)).route_layer(GateLayer::operator_reads(state))
}

/// Request counts and latencies by route, predictions and rows by model,
/// inference time, batch sizes, requests in flight, model loads, and the
/// drift counters: rows by model, feature and reference bin, with each
/// bin's training share, so Prometheus can compute drift across instances.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "ADMIN_KEY is set and the request lacks it", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
}

/// The drift counters of whichever models are loaded when `/metrics` is
/// scraped. Holds the repository weakly: the repository holds the metrics.
#[derive(Debug)]
pub struct DriftCollector(Weak<Repository>);

impl DriftCollector {
    /// Collects the drift counters of `models`' models.
    pub fn new(models: &Arc<Repository>) -> Self {
        Self(Arc::downgrade(models))
    }
}

impl Collector for DriftCollector {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut samples = Samples::default();
        if let Some(models) = self.0.upgrade() {
            for model in models.current().models() {
                if let Ok(monitor) = model.monitor() {
                    monitor.write_metrics(&model.card().name, &mut samples);
                }
            }
        }
        samples.encode(encoder)
    }
}
