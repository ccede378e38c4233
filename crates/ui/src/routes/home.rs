//! `GET /`: the models the API serves.

use api_types::{ModelCard, Task};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use crate::api_client::ApiClientError;
use crate::assets::STYLESHEET_PATH;
use crate::error::UiError;
use crate::page;
use crate::request_id::RequestId;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(show_home))
}

/// One model in the list.
#[derive(Debug)]
struct ModelEntry {
    name: String,
    title: String,
    description: String,
    task: &'static str,
    features: usize,
    metric: Option<String>,
    is_default: bool,
}

#[derive(Debug, Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    stylesheet: &'static str,
    models: Vec<ModelEntry>,
}

async fn show_home(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
) -> Result<Html<String>, UiError> {
    let list = match state.api.list_models(&request_id).await {
        Ok(list) => list,
        Err(ApiClientError::Unavailable(outage)) => {
            return Err(UiError::ApiUnavailable { retry_url: "/".to_owned(), attempt: 0, busy: false }
                .during(&outage));
        }
        Err(other) => {
            return Err(UiError::Internal(anyhow::Error::new(other).context("Failed to list the models")));
        }
    };
    let models = list
        .models
        .iter()
        .map(|card| ModelEntry {
            name: card.name.clone(),
            title: card.title.clone(),
            description: card.description.clone(),
            task: task_name(card.task),
            features: card.features.len(),
            metric: headline_metric(card),
            is_default: card.name == list.default_model,
        })
        .collect();
    page::render(&HomePage { stylesheet: STYLESHEET_PATH.as_str(), models })
}

pub(super) fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

/// The card's held-out score in words, e.g. "accuracy 0.933 on 30 held-out rows".
pub(super) fn headline_metric(card: &ModelCard) -> Option<String> {
    let metrics = &card.provenance.metrics;
    let (name, value) = ["accuracy", "r2"]
        .iter()
        .find_map(|k| metrics.get(*k).map(|v| (*k, *v)))
        .or_else(|| metrics.iter().next().map(|(k, v)| (k.as_str(), *v)))?;
    let name = if name == "r2" { "R²" } else { name };
    let rows = card.provenance.test_rows.map(|n| format!(" on {n} held-out rows")).unwrap_or_default();
    Some(format!("{name} {value:.3}{rows}"))
}
