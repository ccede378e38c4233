//! What happens around every request, in one layer: its id (the client's
//! `x-request-id` or a new one, echoed back and scoped to the task so any
//! error body can quote it), its log span, the body limit, the lingering
//! close, its deadline, a caught panic, and its metrics by route template.
//!
//! One hand-written layer instead of six `from_fn` ones: each router layer
//! costs a boxed clone of the route and a boxed future per request, and the
//! six together cost more CPU than parsing, running and answering a model
//! (measured with `bench/floor.py`, see the README).

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use service::request_id;
use tower::{Service, ServiceExt};
use tracing::Instrument;

use crate::around::{Around, ResponseFuture, Wrap};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::request_scope::{Protocol, RequestId};

/// What the layer needs: metrics, the deadline, the body limit, fresh ids.
#[derive(Debug)]
struct Exchange {
    metrics: Arc<Metrics>,
    deadline: Duration,
    body_limit: usize,
    /// Random per process, so ids from several instances do not collide.
    id_prefix: u64,
    next_id: AtomicU64,
}

impl Exchange {
    fn id_for(&self, request: &Request) -> RequestId {
        let given = request
            .headers()
            .get(request_id::HEADER)
            .filter(|v| v.to_str().ok().and_then(request_id::usable).is_some());
        match given {
            Some(value) => RequestId::Given(value.clone()),
            // Unique and cheap: no syscall for randomness on every request.
            None => RequestId::Ours {
                prefix: self.id_prefix,
                sequence: self.next_id.fetch_add(1, Ordering::Relaxed),
            },
        }
    }
}

/// The exchange, to put on the router once, outermost of its layers:
/// `router.layer(ExchangeLayer::new(…))`.
#[derive(Debug, Clone)]
pub struct ExchangeLayer(Arc<Exchange>);

impl ExchangeLayer {
    /// Watches requests with `metrics`, failing those slower than
    /// `deadline`, refusing bodies over `body_limit` bytes.
    pub fn new(metrics: Arc<Metrics>, deadline: Duration, body_limit: usize) -> Wrap<Self> {
        let id_prefix = uuid::Uuid::new_v4().as_u64_pair().0;
        Wrap(Self(Arc::new(Exchange {
            metrics,
            deadline,
            body_limit,
            id_prefix,
            next_id: AtomicU64::new(1),
        })))
    }
}

impl Around for ExchangeLayer {
    fn around<S>(&self, route: S, request: Request) -> ResponseFuture
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let exchange = self.0.clone();
        Box::pin(async move { Ok(handle(exchange, route, request).await) })
    }
}

/// Decrements the in-flight gauge however the request ends (even cancelled).
struct InFlight(Arc<Exchange>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.request_finished();
    }
}

/// Answers `request` with `inner`, inside everything the exchange adds.
async fn handle<S>(exchange: Arc<Exchange>, inner: S, mut request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let started = Instant::now();
    let id = exchange.id_for(&request);
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route_name = || route.as_ref().map_or("<unmatched>", MatchedPath::as_str);
    // Debug, like the line below: at the default `info` the subscriber would
    // format these fields into a new string for every request, which cost
    // about a quarter of a `/predict`'s CPU (measured). Errors name the
    // request id themselves (`ApiError::into_response`).
    let span = tracing::debug_span!("request", method = %method, route = route_name(), request_id = %id);
    exchange.metrics.request_started();
    let in_flight = InFlight(exchange.clone());
    DefaultBodyLimit::max(exchange.body_limit).apply(&mut request);
    let request = service::linger::watch(request);
    let protocol = Protocol::of_path(request.uri().path());
    let deadline = exchange.deadline;
    let handled = async move {
        let handler = AssertUnwindSafe(inner.oneshot(request)).catch_unwind();
        match tokio::time::timeout(deadline, handler).await {
            Ok(Ok(Ok(response))) => response,
            // The panic's message and place are logged by the panic hook.
            Ok(Err(_panic)) => ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response(),
            Err(_) => ApiError::TimedOut { limit: deadline }.into_response(),
        }
    };
    let mut response =
        crate::request_scope::scope(id.clone(), protocol, handled).instrument(span.clone()).await;
    response.headers_mut().insert(request_id::HEADER, id.header());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    exchange.metrics.record_exchange(method.as_str(), route_name(), status, elapsed);
    drop(in_flight);
    // Debug, not info: a line per request costs more CPU than the request
    // itself at these rates, and Render's router already logs every request.
    span.in_scope(|| tracing::debug!(status, latency_us = elapsed.as_micros() as u64, "answered"));
    response
}
