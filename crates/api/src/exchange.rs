//! What happens around every request, in one middleware: its id (the
//! client's `x-request-id` or a new one, echoed back and scoped to the task
//! so any error body can quote it), its log span, its deadline, and its
//! metrics by route template. One layer instead of six: each layer costs an
//! allocation and a boxed clone per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use service::request_id;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::request_scope::Protocol;

/// What the middleware needs: metrics, the deadline, and fresh ids.
#[derive(Debug)]
pub struct Exchange {
    metrics: Arc<Metrics>,
    deadline: Duration,
    /// Random per process, so ids from several instances do not collide.
    id_prefix: u64,
    next_id: AtomicU64,
}

impl Exchange {
    /// Watches requests with `metrics`, failing those slower than `deadline`.
    pub fn new(metrics: Arc<Metrics>, deadline: Duration) -> Self {
        let id_prefix = uuid::Uuid::new_v4().as_u64_pair().0;
        Self { metrics, deadline, id_prefix, next_id: AtomicU64::new(1) }
    }

    fn new_id(&self) -> String {
        // Unique and cheap: no syscall for randomness on every request.
        format!("{:016x}-{:012x}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn id_for(&self, request: &Request) -> Arc<str> {
        let given = request
            .headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(request_id::usable);
        Arc::from(given.map_or_else(|| self.new_id(), str::to_owned))
    }
}

/// Decrements the in-flight gauge however the request ends (even cancelled).
struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The middleware: id, span, deadline, metrics.
pub async fn observe(State(exchange): State<Arc<Exchange>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = exchange.id_for(&request);
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("<unmatched>", |p| p.as_str()).to_owned();
    // Debug, like the line below: at the default `info` the subscriber would
    // format these fields into a new string for every request, which cost
    // about a quarter of a `/predict`'s CPU (measured). Errors name the request id
    // themselves (`ApiError::into_response`).
    let span = tracing::debug_span!("request", method = %method, route = %route, request_id = %id);
    exchange.metrics.request_started();
    let _in_flight = InFlight(&exchange.metrics);
    let deadline = exchange.deadline;
    let protocol = Protocol::of_path(request.uri().path());
    let mut response = crate::request_scope::scope(id.clone(), protocol, async move {
        match tokio::time::timeout(deadline, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::TimedOut { limit: deadline }.into_response(),
        }
    })
    .instrument(span.clone())
    .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    exchange.metrics.record_exchange(method.as_str(), &route, status, elapsed);
    // Debug, not info: a line per request costs more CPU than the request
    // itself at these rates, and Render's router already logs every request.
    span.in_scope(|| tracing::debug!(status, latency_us = elapsed.as_micros() as u64, "answered"));
    response
}
