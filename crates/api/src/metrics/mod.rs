//! Prometheus metrics: what the service counts, and the middleware that
//! counts every HTTP exchange by route template, method and status.
//!
//! It owns the registry and nothing else: handlers call its `record_*`
//! methods, `GET /metrics` renders it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExchangeLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 50 µs to ~3.3 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
}

fn rows_histogram() -> Histogram {
    // 1 to 16,384 rows.
    Histogram::new(exponential_buckets(1.0, 2.0, 15))
}

/// Every metric the API exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<ExchangeLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabels>,
    in_flight: Gauge,
    predictions: Family<ModelLabels, Counter>,
    rows: Family<ModelLabels, Counter>,
    batch_rows: HistogramFamily<ModelLabels>,
    inference_seconds: HistogramFamily<ModelLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry with every metric declared.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let request_seconds = HistogramFamily::<RouteLabels>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            request_seconds.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("http_requests_in_flight", "Requests being answered now", in_flight.clone());
        let predictions = Family::<ModelLabels, Counter>::default();
        registry.register(
            "predictions",
            "Prediction requests answered with 200, by model",
            predictions.clone(),
        );
        let rows = Family::<ModelLabels, Counter>::default();
        registry.register("prediction_rows", "Rows predicted, by model", rows.clone());
        let batch_rows = HistogramFamily::<ModelLabels>::new_with_constructor(rows_histogram);
        registry.register("prediction_batch_rows", "Rows per prediction request", batch_rows.clone());
        let inference_seconds = HistogramFamily::<ModelLabels>::new_with_constructor(latency_histogram);
        registry.register(
            "inference_duration_seconds",
            "Time spent running the model, by model",
            inference_seconds.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            in_flight,
            predictions,
            rows,
            batch_rows,
            inference_seconds,
        }
    }

    /// Records one successful prediction request of `rows` rows that took `inference` in the model.
    pub fn record_prediction(&self, model: &str, rows: usize, inference: Duration) {
        let labels = ModelLabels { model: model.to_owned() };
        self.predictions.get_or_create(&labels).inc();
        self.rows.get_or_create(&labels).inc_by(rows as u64);
        self.batch_rows.get_or_create(&labels).observe(rows as f64);
        self.inference_seconds.get_or_create(&labels).observe(inference.as_secs_f64());
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Decrements the in-flight gauge however the request ends (even cancelled).
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Counts and times every exchange, including answers made by the layers
/// inside it (413, 503 load shedding, timeouts, caught panics).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    metrics.in_flight.inc();
    let _in_flight = InFlight(metrics.in_flight.clone());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .requests
        .get_or_create(&ExchangeLabels { method: method.clone(), route: route.clone(), status })
        .inc();
    metrics
        .request_seconds
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_shows_up_in_the_exposition() {
        let metrics = Metrics::new();

        metrics.record_prediction("iris", 3, Duration::from_micros(40));

        let text = metrics.render();
        assert!(text.contains(r#"predictions_total{model="iris"} 1"#), "{text}");
        assert!(text.contains(r#"prediction_rows_total{model="iris"} 3"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
