//! The UI's floor: the simplest axum app answering the result page our UI
//! serves, `GET /models/{name}?<input>`, by rendering the same askama
//! template from answers fetched once at start-up (no API call, no
//! middleware). `bench/ui_floor.py` loads it beside our UI, so the
//! difference is what our UI adds per page: three API calls, their JSON,
//! request ids, logs and security headers.
//!
//!   cargo run --release -p ui --example floor-ui -- 18502 http://127.0.0.1:18100 iris 'sepal_length=6.7&…'

// A benchmark fixture reports to its terminal.
#![allow(clippy::print_stderr)]

use std::time::Duration;

use anyhow::Context;
use api_types::{FeatureValue, Instance};
use axum::Router;
use axum::extract::RawQuery;
use axum::response::IntoResponse;
use axum::routing::get;
use ui::api_client::ApiClient;
use ui::routes::model::{charted_features, result_page};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: floor <port> <api url> <model> <query>";
    let port: u16 = args.next().context(usage)?.parse().context("port")?;
    let api = ApiClient::new(args.next().context(usage)?.parse()?, Duration::from_secs(10), None)?;
    let model = args.next().context(usage)?;
    let query = args.next().context(usage)?;

    // The answers our UI asks the API for on every page, asked once.
    let details = api.model(&model, "floor").await?;
    let row: Instance = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| Ok((k.into_owned(), FeatureValue::Number(v.parse()?))))
        .collect::<anyhow::Result<_>>()?;
    let explained = api.explain(&model, &row, "floor").await?;
    let what_if = api.what_if(&model, &row, &charted_features(&explained.explanation), "floor").await?;

    let page = move |RawQuery(query): RawQuery| {
        let answer = explained.prediction.clone();
        let html = result_page(
            &details,
            query.as_deref().unwrap_or_default(),
            answer,
            Some(&explained.explanation),
            Some(&what_if),
        );
        async move { html.into_response() }
    };
    let app: Router = Router::new().route(&format!("/models/{model}"), get(page));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("UI floor listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
