//! `GET /`: the models the API serves.

use std::collections::BTreeMap;

use api_types::Task;
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
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
    /// "Models 101–200 of 450", when there is more than one page.
    range: Option<String>,
    previous: Option<String>,
    next: Option<String>,
}

async fn show_home(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, UiError> {
    // `?offset=N` picks the page; anything else in the query is ignored.
    let offset = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("offset=")?.parse::<usize>().ok())
        .unwrap_or(0);
    let list = match state.api.list_models(offset, &request_id).await {
        Ok(list) => list,
        Err(ApiClientError::Unavailable(outage)) => {
            return Err(UiError::ApiUnavailable { retry_url: "/".to_owned(), attempt: 0, busy: false }
                .during(&outage));
        }
        Err(other) => {
            return Err(UiError::Internal(anyhow::Error::new(other).context("Failed to list the models")));
        }
    };
    let models: Vec<ModelEntry> = list
        .models
        .iter()
        .map(|m| ModelEntry {
            name: m.name.clone(),
            title: m.title.clone(),
            description: m.description.clone(),
            task: task_name(m.task),
            features: m.features,
            metric: headline_metric(&m.metrics, m.test_rows),
            is_default: m.name == list.default_model,
        })
        .collect();
    let end = list.offset + models.len();
    let paged = list.offset > 0 || end < list.total;
    let range = paged.then(|| format!("Models {}–{end} of {}", (list.offset + 1).min(end), list.total));
    let previous = (list.offset > 0).then(|| match list.offset.saturating_sub(list.limit) {
        0 => "/".to_owned(),
        at => format!("/?offset={at}"),
    });
    let next = (end < list.total).then(|| format!("/?offset={end}"));
    page::render(&HomePage { stylesheet: STYLESHEET_PATH.as_str(), models, range, previous, next })
}

pub(super) fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

/// The card's held-out score in words, e.g. "accuracy 0.933 on 30 held-out rows".
pub(super) fn headline_metric(metrics: &BTreeMap<String, f64>, test_rows: Option<u64>) -> Option<String> {
    let (name, value) = ["accuracy", "r2"]
        .iter()
        .find_map(|k| metrics.get(*k).map(|v| (*k, *v)))
        .or_else(|| metrics.iter().next().map(|(k, v)| (k.as_str(), *v)))?;
    let name = if name == "r2" { "R²" } else { name };
    let rows = test_rows.map(|n| format!(" on {n} held-out rows")).unwrap_or_default();
    Some(format!("{name} {value:.3}{rows}"))
}
