//! The HTTP floor and the ladder up to our API: the simplest axum app doing
//! the work of `POST /predict` and `GET /healthz` (same axum, hyper and
//! tokio as the API, a fixed answer, no model), and the same app with our
//! layers added one at a time. `bench/floor.py` loads each beside the API,
//! so the differences are what each layer costs per request.
//!
//!   cargo run --release -p api --example floor -- 18801 [bare|serve|exchange|gate]
//!
//! - `bare`: `axum::serve`, no middleware (the floor);
//! - `serve`: our serve loop (header-read timeout, connection slots, drain);
//! - `exchange`: and the exchange layer (request id, span, body limit,
//!   lingering close, deadline, caught panics, metrics by route);
//! - `gate`: and the gate of prediction routes (API key check, load shedding).

// A benchmark fixture reports to its terminal, and is plain axum on purpose:
// its `Json` extractor is what a bare app uses, not our `JsonBody`.
#![allow(clippy::print_stderr, clippy::disallowed_types)]

use std::sync::Arc;
use std::time::Duration;

use api::exchange::ExchangeLayer;
use api::gate::GateLayer;
use api::metrics::Metrics;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;
use service::serve::ConnectionLimits;
use tokio::sync::Semaphore;

/// The iris body `/predict` takes, read into a struct as ours is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Iris {
    sepal_length: f32,
    sepal_width: f32,
    petal_length: f32,
    petal_width: f32,
}

/// A fixed answer the size and shape of ours.
const ANSWER: &str = r#"{"model":"iris","model_version":"1.0.0","label":"setosa","class_index":0,"probabilities":{"setosa":0.9808133,"versicolor":0.019186378,"virginica":2.6967373e-7}}"#;

async fn predict(Json(row): Json<Iris>) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    // Touch the values so the parse is not optimized away.
    std::hint::black_box(row.sepal_length + row.sepal_width + row.petal_length + row.petal_width);
    ([(axum::http::header::CONTENT_TYPE, "application/json")], ANSWER)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(18801);
    let stack = std::env::args().nth(2).unwrap_or_else(|| "bare".to_owned());
    let rung = ["bare", "serve", "exchange", "gate"]
        .iter()
        .position(|s| *s == stack)
        .ok_or_else(|| anyhow::anyhow!("unknown stack {stack:?}: bare, serve, exchange or gate"))?;
    // The API's defaults, and a key, so the gate compares one.
    let mut predictions = Router::new().route("/predict", post(predict));
    if rung >= 3 {
        let key = Some(Arc::new(SecretString::from("bench-key")));
        predictions = predictions.route_layer(GateLayer::new(key, Some(Arc::new(Semaphore::new(256)))));
    }
    let mut app = predictions.route("/health", get(|| async { "ok" }));
    if rung >= 2 {
        app = app.layer(ExchangeLayer::new(Arc::new(Metrics::new()), Duration::from_secs(30), 1 << 20));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("floor ({stack}) listening on 127.0.0.1:{port}");
    if rung == 0 {
        axum::serve(listener, app).await?;
        return Ok(());
    }
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        drain_timeout: Duration::from_secs(10),
        max_connections: 10_000,
        close_grace: Duration::from_millis(500),
    };
    service::serve::serve(listener, app, limits, service::shutdown::signal()).await
}
