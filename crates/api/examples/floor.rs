//! The HTTP floor: the simplest axum app doing the work of `POST /predict`
//! and `GET /healthz` with the same axum, hyper and tokio as the API, and
//! nothing else (no middleware, no model). `bench/floor.py` loads it beside
//! the API to show what our per-request features cost.
//!
//!   cargo run --release -p api --example floor -- 18801

// A benchmark fixture reports to its terminal, and is plain axum on purpose:
// its `Json` extractor is what a bare app uses, not our `JsonBody`.
#![allow(clippy::print_stderr, clippy::disallowed_types)]

use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

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
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(18801);
    let app = Router::new().route("/predict", post(predict)).route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("floor listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
