//! Prometheus metrics: what the service counts. It owns the registry and
//! nothing else: `exchange` and the serving core call its `record_*`
//! methods, collectors registered at start-up add what is read at each
//! scrape, `GET /metrics` renders it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
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

/// The metrics of one route and method, taken from the families once: a
/// request then costs a lookup by `&str` and no label set built, hashed or
/// allocated (which cost more than the rest of the recording, measured).
#[derive(Debug)]
struct RouteCounters {
    method: Box<str>,
    latency: Histogram,
    by_status: RwLock<Vec<(u16, Counter)>>,
}

/// The metrics of one model, taken from the families once.
#[derive(Debug)]
struct ModelCounters {
    cancelled: Counter,
    predictions: Counter,
    rows: Counter,
    batch_rows: Histogram,
    inference_seconds: Histogram,
}

/// One model's prediction metrics.
#[derive(Debug, Clone)]
pub struct ModelMetrics(Arc<ModelCounters>);

impl ModelMetrics {
    /// Records one successful prediction request of `rows` rows that took `inference` in the model.
    pub fn record(&self, rows: usize, inference: Duration) {
        let counters = &self.0;
        counters.predictions.inc();
        counters.rows.inc_by(rows as u64);
        counters.batch_rows.observe(rows as f64);
        counters.inference_seconds.observe(inference.as_secs_f64());
    }

    /// Counts work stopped part-way because its answer had already gone.
    pub fn record_cancelled(&self) {
        self.0.cancelled.inc();
    }
}

/// The methods counted under their own name.
const STANDARD_METHODS: [&str; 9] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/// A label value escaped as the exposition format wants it (the metrics
/// library writes values as given): backslash, double quote and line feed.
pub fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Every metric the API exports.
#[derive(Debug)]
pub struct Metrics {
    routes: RwLock<HashMap<Box<str>, Vec<Arc<RouteCounters>>>>,
    models: RwLock<HashMap<Box<str>, Arc<ModelCounters>>>,
    /// Written to once per collector at start-up, read on every scrape.
    registry: RwLock<Registry>,
    requests: Family<ExchangeLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabels>,
    in_flight: Gauge,
    predictions: Family<ModelLabels, Counter>,
    cancelled: Family<ModelLabels, Counter>,
    rows: Family<ModelLabels, Counter>,
    batch_rows: HistogramFamily<ModelLabels>,
    inference_seconds: HistogramFamily<ModelLabels>,
    model_loads: Family<LoadLabels, Counter>,
    /// The model labels `model_loads` holds, to drop those of models gone.
    load_labels: std::sync::Mutex<std::collections::BTreeSet<String>>,
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
        let cancelled = Family::<ModelLabels, Counter>::default();
        registry.register(
            "predictions_cancelled",
            "Predictions and explanations stopped part-way because their answer had already gone (a timeout, a client gone), by model",
            cancelled.clone(),
        );
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
            routes: RwLock::default(),
            models: RwLock::default(),
            registry: RwLock::new(registry),
            model_loads,
            load_labels: std::sync::Mutex::default(),
            models_loaded,
            model_load_failures,
            requests,
            request_seconds,
            in_flight,
            predictions,
            cancelled,
            rows,
            batch_rows,
            inference_seconds,
        }
    }

    /// The prediction metrics of the model called `model`, resolved once
    /// (a served model keeps them for its lifetime).
    pub fn model(&self, model: &str) -> ModelMetrics {
        ModelMetrics(self.model_counters(model))
    }

    fn model_counters(&self, model: &str) -> Arc<ModelCounters> {
        if let Some(found) = self.models.read().unwrap_or_else(PoisonError::into_inner).get(model) {
            return found.clone();
        }
        let labels = ModelLabels { model: label_value(model) };
        let made = Arc::new(ModelCounters {
            cancelled: self.cancelled.get_or_create_owned(&labels),
            predictions: self.predictions.get_or_create_owned(&labels),
            rows: self.rows.get_or_create_owned(&labels),
            batch_rows: self.batch_rows.get_or_create_owned(&labels),
            inference_seconds: self.inference_seconds.get_or_create_owned(&labels),
        });
        let mut models = self.models.write().unwrap_or_else(PoisonError::into_inner);
        models.entry(model.into()).or_insert(made).clone()
    }

    /// Counts one attempt to load a model file. A file whose name is no
    /// model's name (anyone who can write to the directory picks it) is
    /// counted under `<invalid name>`, never as a label of its own.
    pub fn record_model_load(&self, model: &str, loaded: bool) {
        let outcome = if loaded { "loaded" } else { "failed" };
        let model = if api_types::valid_model_name(model) { model } else { "<invalid name>" };
        self.model_loads.get_or_create(&LoadLabels { model: model.to_owned(), outcome }).inc();
        self.load_labels.lock().unwrap_or_else(PoisonError::into_inner).insert(model.to_owned());
    }

    /// Drops the per-model series of every model not in `present` (served
    /// or standing failed): models come and go, their labels must not pile up.
    pub fn retain_models(&self, present: &std::collections::BTreeSet<String>) {
        let gone: Vec<Box<str>> = {
            let models = self.models.read().unwrap_or_else(PoisonError::into_inner);
            models.keys().filter(|m| !present.contains(&***m)).cloned().collect()
        };
        if !gone.is_empty() {
            let mut models = self.models.write().unwrap_or_else(PoisonError::into_inner);
            for model in &gone {
                models.remove(model);
                let labels = ModelLabels { model: label_value(model) };
                self.predictions.remove(&labels);
                self.cancelled.remove(&labels);
                self.rows.remove(&labels);
                self.batch_rows.remove(&labels);
                self.inference_seconds.remove(&labels);
            }
        }
        let mut loads = self.load_labels.lock().unwrap_or_else(PoisonError::into_inner);
        loads.retain(|model| {
            let keep = present.contains(model.as_str()) || model == "<invalid name>";
            if !keep {
                for outcome in ["loaded", "failed"] {
                    self.model_loads.remove(&LoadLabels { model: model.clone(), outcome });
                }
            }
            keep
        });
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

    /// Counts one answered request and its latency, by route template. A
    /// method outside the standard ones is counted as `other`: the label
    /// set stays bounded whatever clients invent.
    pub fn record_exchange(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = STANDARD_METHODS.iter().find(|m| **m == method).copied().unwrap_or("other");
        let counters = self.route_counters(method, route);
        counters.latency.observe(took.as_secs_f64());
        let counted = {
            let by_status = counters.by_status.read().unwrap_or_else(PoisonError::into_inner);
            by_status.iter().find(|(s, _)| *s == status).map(|(_, counter)| counter.inc()).is_some()
        };
        if !counted {
            let labels = ExchangeLabels { method: method.to_owned(), route: route.to_owned(), status };
            let counter = self.requests.get_or_create_owned(&labels);
            counter.inc();
            let mut by_status = counters.by_status.write().unwrap_or_else(PoisonError::into_inner);
            if !by_status.iter().any(|(s, _)| *s == status) {
                by_status.push((status, counter));
            }
        }
    }

    fn route_counters(&self, method: &str, route: &str) -> Arc<RouteCounters> {
        let find = |routes: &HashMap<Box<str>, Vec<Arc<RouteCounters>>>| {
            routes.get(route).and_then(|methods| methods.iter().find(|c| &*c.method == method).cloned())
        };
        if let Some(found) = find(&self.routes.read().unwrap_or_else(PoisonError::into_inner)) {
            return found;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&routes) {
            return found;
        }
        let labels = RouteLabels { method: method.to_owned(), route: route.to_owned() };
        let made = Arc::new(RouteCounters {
            method: method.into(),
            latency: self.request_seconds.get_or_create_owned(&labels),
            by_status: RwLock::default(),
        });
        routes.entry(route.into()).or_default().push(made.clone());
        made
    }

    /// Adds metrics gathered anew at each scrape (the drift counters,
    /// which belong to whichever models are loaded then).
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.registry.write().unwrap_or_else(PoisonError::into_inner).register_collector(collector);
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry.read().unwrap_or_else(PoisonError::into_inner));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_shows_up_in_the_exposition() {
        let metrics = Metrics::new();

        metrics.model("iris").record(3, Duration::from_micros(40));

        let text = metrics.render();
        assert!(text.contains(r#"predictions_total{model="iris"} 1"#), "{text}");
        assert!(text.contains(r#"prediction_rows_total{model="iris"} 3"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
