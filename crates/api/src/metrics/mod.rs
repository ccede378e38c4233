//! Prometheus metrics: what the service counts. It owns the registry and
//! nothing else: `exchange` and the handlers call its `record_*` methods,
//! `GET /metrics` renders it.

use std::time::Duration;

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadLabels {
    model: String,
    outcome: &'static str,
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
    model_loads: Family<LoadLabels, Counter>,
    models_loaded: Gauge,
    model_load_failures: Gauge,
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
        let model_loads = Family::<LoadLabels, Counter>::default();
        registry.register(
            "model_loads",
            "Model files loaded (outcome=loaded) or refused (outcome=failed), at start-up and on reload",
            model_loads.clone(),
        );
        let models_loaded = Gauge::default();
        registry.register("models_loaded", "Models being served", models_loaded.clone());
        let model_load_failures = Gauge::default();
        registry.register(
            "model_load_failures_standing",
            "Model files whose last load failed and that have not changed since",
            model_load_failures.clone(),
        );
        Self {
            registry,
            model_loads,
            models_loaded,
            model_load_failures,
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

    /// Counts one attempt to load a model file.
    pub fn record_model_load(&self, model: &str, loaded: bool) {
        let outcome = if loaded { "loaded" } else { "failed" };
        self.model_loads.get_or_create(&LoadLabels { model: model.to_owned(), outcome }).inc();
    }

    /// How many models serve and how many files stand failed.
    pub fn set_model_counts(&self, loaded: usize, failed: usize) {
        self.models_loaded.set(i64::try_from(loaded).unwrap_or(i64::MAX));
        self.model_load_failures.set(i64::try_from(failed).unwrap_or(i64::MAX));
    }

    /// One more request is being answered.
    pub fn request_started(&self) {
        self.in_flight.inc();
    }

    /// A request is no longer being answered (however it ended).
    pub fn request_finished(&self) {
        self.in_flight.dec();
    }

    /// Counts one answered request and its latency, by route template.
    pub fn record_exchange(&self, method: &str, route: &str, status: u16, took: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.request_seconds
            .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
            .observe(took.as_secs_f64());
        self.requests.get_or_create(&ExchangeLabels { method, route, status }).inc();
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
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
