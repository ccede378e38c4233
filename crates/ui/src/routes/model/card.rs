//! `GET /models/{name}/card`: the model card as a page — what the model does,
//! every feature with its unit, range and categories, where it came from,
//! how it scored, the file's checksum and checks, and the card as TOML
//! ready to edit (for a model dropped in without one, what was inferred).

use api_types::{CardSource, FeatureSpec, FeatureValue, ModelDetails, Policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;

use super::model_details;
use crate::api_client::ApiClientError;
use crate::assets::STYLESHEET_PATH;
use crate::error::UiError;
use crate::page;
use crate::request_id::RequestId;
use crate::routes::home::task_name;
use crate::state::AppState;

#[derive(Debug, Template)]
#[template(path = "pages/card.html")]
struct CardPage {
    stylesheet: &'static str,
    name: String,
    title: String,
    description: String,
    task: &'static str,
    version: String,
    versions: String,
    answers: String,
    inferred: bool,
    card_source: &'static str,
    features: Vec<FeatureRow>,
    provenance: Vec<(String, String)>,
    metrics: Vec<(String, String)>,
    libraries: Vec<(String, String)>,
    file: String,
    sha256: String,
    loaded_at: String,
    load_ms: u64,
    golden: String,
    inputs: Vec<(String, String, String)>,
    output: (String, String, String),
    operators: Vec<String>,
    examples: Vec<ExampleRow>,
    example_columns: Vec<String>,
    last_error: Option<(String, String, String)>,
    card_toml: Option<String>,
}

#[derive(Debug)]
struct FeatureRow {
    name: String,
    label: String,
    unit: String,
    accepts: String,
    missing: &'static str,
    help: String,
}

#[derive(Debug)]
struct ExampleRow {
    label: String,
    href: String,
    values: Vec<String>,
}

pub(super) async fn show_card(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RequestId(request_id): RequestId,
) -> Result<Html<String>, UiError> {
    let retry_url = format!("/models/{name}/card");
    let details = model_details(&state, &name, &request_id, || UiError::ApiUnavailable {
        retry_url,
        attempt: 0,
        busy: false,
    })
    .await?;
    // The TOML is a convenience: an API without the route still shows the page.
    let card_toml = match state.api.card_toml(&name, &request_id).await {
        Ok(text) => Some(text),
        Err(ApiClientError::NotFound | ApiClientError::Unavailable(_) | ApiClientError::Unexpected(_)) => {
            None
        }
        Err(other) => {
            return Err(UiError::Internal(anyhow::Error::new(other).context("Failed to read card.toml")));
        }
    };
    page::render(&card_page(&details, card_toml))
}

fn card_page(details: &ModelDetails, card_toml: Option<String>) -> CardPage {
    let card = &details.card;
    let status = &details.status;
    let answers = match &card.output {
        Some(o) if !o.unit.is_empty() => format!("{} in {}", o.name, o.unit),
        Some(o) => o.name.clone(),
        None => card.classes.join(", "),
    };
    let prov = &card.provenance;
    let provenance = [
        ("Data set", prov.dataset.clone()),
        ("Estimator", prov.estimator.clone()),
        ("Training script", prov.script.clone()),
        ("Trained", prov.trained.clone()),
        ("Code version", prov.code_version.clone()),
        ("Training rows", prov.train_rows.map(|n| n.to_string())),
        ("Held-out rows", prov.test_rows.map(|n| n.to_string())),
        ("Random seed", prov.random_state.map(|n| n.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    let golden = match &status.golden {
        Some(g) => format!(
            "{} golden rows ({}) match within {:e}; largest difference {:.1e}",
            g.rows,
            if g.source.is_empty() { "golden.json" } else { g.source.as_str() },
            g.tolerance,
            g.max_abs_error
        ),
        None => "no golden.json ships with this model, so nothing was compared".to_owned(),
    };
    let tensor = |t: &api_types::TensorSpec| {
        let shape: Vec<String> =
            t.shape.iter().map(|d| d.map_or_else(|| "N".to_owned(), |d| d.to_string())).collect();
        (t.name.clone(), t.dtype.clone(), format!("[{}]", shape.join(", ")))
    };
    let example_columns: Vec<String> = card.features.iter().map(|f| f.label.clone()).collect();
    let examples = card
        .examples
        .iter()
        .map(|e| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            let values = card
                .features
                .iter()
                .map(|f| {
                    let v = e.values.get(&f.name).map(FeatureValue::to_string).unwrap_or_default();
                    query.append_pair(&f.name, &v);
                    v
                })
                .collect();
            ExampleRow {
                label: e.label.clone(),
                href: format!("/models/{}?{}#result", card.name, query.finish()),
                values,
            }
        })
        .collect();
    CardPage {
        stylesheet: STYLESHEET_PATH.as_str(),
        name: card.name.clone(),
        title: card.title.clone(),
        description: card.description.clone(),
        task: task_name(card.task),
        version: status.version.clone(),
        versions: status.versions.join(", "),
        answers,
        inferred: status.card_source == CardSource::Inferred,
        card_source: match status.card_source {
            CardSource::File => "its card.toml",
            CardSource::Partial => "its card.toml, completed from the graph",
            CardSource::Inferred => "the graph alone: no card.toml",
        },
        features: card.features.iter().map(feature_row).collect(),
        provenance,
        metrics: prov.metrics.iter().map(|(k, v)| (k.clone(), format!("{v:.4}"))).collect(),
        libraries: prov.libraries.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        file: status.file.clone(),
        sha256: status.sha256.clone(),
        loaded_at: status.loaded_at.clone(),
        load_ms: status.load_ms,
        golden,
        inputs: details.signature.inputs.iter().map(tensor).collect(),
        output: tensor(&details.signature.output),
        operators: status.operators.clone(),
        examples,
        example_columns,
        last_error: status.last_error.as_ref().map(|e| (e.file.clone(), e.reason.clone(), e.at.clone())),
        card_toml,
    }
}

fn feature_row(f: &FeatureSpec) -> FeatureRow {
    let number = |v: f64| format!("{v}");
    let accepts = if let Some(categories) = &f.categories {
        let unknown = if f.unknown == Policy::Allowed { "; others accepted" } else { "" };
        format!("one of {}{unknown}", categories.join(", "))
    } else if let Some(choices) = &f.choices {
        let listed: Vec<String> =
            choices.iter().map(|c| format!("{} ({})", number(c.value), c.label)).collect();
        format!("one of {}", listed.join(", "))
    } else {
        match (f.min, f.max) {
            (Some(lo), Some(hi)) => format!("{} to {}", number(lo), number(hi)),
            (Some(lo), None) => format!("at least {}", number(lo)),
            (None, Some(hi)) => format!("at most {}", number(hi)),
            (None, None) => "any finite number".to_owned(),
        }
    };
    FeatureRow {
        name: f.name.clone(),
        label: f.label.clone(),
        unit: f.unit.clone(),
        accepts,
        missing: if f.missing == Policy::Allowed { "may be left blank" } else { "required" },
        help: f.description.clone(),
    }
}
