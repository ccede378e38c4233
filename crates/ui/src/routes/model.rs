//! `GET /models/{name}`: the form built from a model's card and, when the
//! query string holds input, the prediction for it. The form submits with
//! GET, so every result has a URL that can be shared and bookmarked.

use std::collections::HashMap;

use api_types::{
    FeatureSpec, FieldError, Instance, LocPart, ModelCard, ModelDetails, PredictResponse, Prediction, Problem,
};
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;

use super::home::{headline_metric, task_name};
use crate::api_client::ApiClientError;
use crate::assets::STYLESHEET_PATH;
use crate::error::{ModelLink, UiError};
use crate::page;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Query parameters starting with this belong to the UI, never to the model.
const RESERVED_PREFIX: char = '_';

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/models/{name}", get(show_form))
}

#[derive(Debug, Template)]
#[template(path = "pages/model.html")]
struct ModelPage {
    stylesheet: &'static str,
    name: String,
    title: String,
    description: String,
    task: &'static str,
    version: String,
    metric: Option<String>,
    fields: Vec<FieldView>,
    examples: Vec<ExampleLink>,
    summary: Vec<SummaryItem>,
    class_result: Option<ClassResult>,
    value_result: Option<ValueResult>,
    share_url: Option<String>,
}

/// One form control.
#[derive(Debug)]
struct FieldView {
    name: String,
    label: String,
    unit: String,
    help: String,
    min: String,
    max: String,
    step: String,
    value: String,
    /// `number`, or `text` when the submitted value is not a number, so the user sees what they typed.
    input_type: &'static str,
    options: Vec<OptionView>,
    error: Option<String>,
    autofocus: bool,
}

#[derive(Debug)]
struct OptionView {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct ExampleLink {
    label: String,
    href: String,
}

/// One line of the error summary; `anchor` links to the field.
#[derive(Debug)]
struct SummaryItem {
    anchor: Option<String>,
    text: String,
}

#[derive(Debug)]
struct ClassResult {
    label: String,
    confidence: String,
    bars: Vec<Bar>,
}

#[derive(Debug)]
struct Bar {
    name: String,
    percent: String,
    width: String,
    top: bool,
}

#[derive(Debug)]
struct ValueResult {
    output: String,
    value: String,
    unit: String,
    description: String,
    range: Option<RangeView>,
}

#[derive(Debug)]
struct RangeView {
    min: String,
    max: String,
    /// Where the marker starts, in the scale's 0–100 units.
    marker_x: String,
    note: String,
}

impl FieldView {
    fn is_select(&self) -> bool {
        !self.options.is_empty()
    }
}

async fn show_form(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    OriginalUri(uri): OriginalUri,
    RequestId(request_id): RequestId,
) -> Result<(StatusCode, Html<String>), UiError> {
    let params = Params::parse(query.as_deref().unwrap_or_default());
    let unavailable = || UiError::ApiUnavailable {
        retry_url: uri.path_and_query().map_or_else(|| uri.path().to_owned(), ToString::to_string),
        attempt: params.attempt,
    };

    let details: ModelDetails = match state.api.model(&name, &request_id).await {
        Ok(details) => details,
        Err(ApiClientError::NotFound) => {
            let models = match state.api.list_models(&request_id).await {
                Ok(list) => {
                    list.models.into_iter().map(|c| ModelLink { name: c.name, title: c.title }).collect()
                }
                Err(_) => Vec::new(),
            };
            return Err(UiError::ModelNotFound { name, models });
        }
        Err(ApiClientError::Unavailable(_)) => return Err(unavailable()),
        Err(other) => {
            return Err(UiError::Internal(
                anyhow::Error::new(other).context("Failed to read the model card"),
            ));
        }
    };
    let card = details.card;
    let mut page = ModelPage::for_card(&card, &params);

    if params.submitted() {
        // Values that are not numbers are flagged here; the rest still go to
        // the API, so its range and choice problems show at the same time.
        let (row, local) = read_row(&card, &params);
        match state.api.predict(&card.name, &row, &request_id).await {
            Ok(answer) if local.is_empty() => page.show_answer(&card, answer, share_url(&card, &params)),
            Ok(_) => page.show_problems(&card, &local, None),
            Err(ApiClientError::Invalid(problem)) => page.show_problems(&card, &local, Some(&problem)),
            Err(ApiClientError::Unavailable(_)) if !local.is_empty() => {
                page.show_problems(&card, &local, None)
            }
            Err(ApiClientError::Unavailable(_)) => return Err(unavailable()),
            Err(ApiClientError::NotFound) => {
                return Err(UiError::ModelNotFound { name, models: Vec::new() });
            }
            Err(other @ (ApiClientError::Unexpected(_) | ApiClientError::Unauthorized)) => {
                return Err(UiError::Internal(
                    anyhow::Error::new(other).context("Failed to get a prediction"),
                ));
            }
        }
    }
    // The form with input problems is a 422, like the API's answer it shows.
    let status = if page.summary.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page::render(&page)?))
}

/// The query string: feature values as typed, plus the UI's own `_retry`.
#[derive(Debug, Default)]
struct Params {
    values: HashMap<String, String>,
    attempt: u32,
}

impl Params {
    fn parse(query: &str) -> Self {
        let mut params = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if key == "_retry" {
                params.attempt = value.parse().unwrap_or(0);
            } else if !key.starts_with(RESERVED_PREFIX) {
                params.values.entry(key.into_owned()).or_insert_with(|| value.into_owned());
            }
        }
        params
    }

    /// Whether the user asked for a prediction (any input in the query string).
    fn submitted(&self) -> bool {
        !self.values.is_empty()
    }
}

/// A problem found before asking the API: a value that is not a number.
#[derive(Debug)]
struct LocalProblem {
    feature: String,
    msg: String,
}

/// Reads every feature's submitted text as a number: the numbers, and a
/// problem for each text that is not one. The API checks everything else.
fn read_row(card: &ModelCard, params: &Params) -> (Instance, Vec<LocalProblem>) {
    let mut row = Instance::new();
    let mut problems = Vec::new();
    for f in &card.features {
        let raw = params.values.get(&f.name).map_or("", |v| v.trim());
        match parse_number(raw) {
            Ok(v) => {
                row.insert(f.name.clone(), v);
            }
            Err(msg) => problems.push(LocalProblem { feature: f.name.clone(), msg: msg.to_owned() }),
        }
    }
    (row, problems)
}

fn parse_number(raw: &str) -> Result<f64, &'static str> {
    if raw.is_empty() {
        return Err("Enter a value.");
    }
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("Enter a number, such as 5.1: digits with an optional sign and decimal point."),
    }
}

/// The page's own URL for this input, in the card's feature order.
fn share_url(card: &ModelCard, params: &Params) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for f in &card.features {
        if let Some(v) = params.values.get(&f.name) {
            query.append_pair(&f.name, v.trim());
        }
    }
    format!("/models/{}?{}", card.name, query.finish())
}

fn field_id(name: &str) -> String {
    format!("f-{name}")
}

impl ModelPage {
    fn for_card(card: &ModelCard, params: &Params) -> Self {
        let fields = card.features.iter().map(|f| field_view(f, params.values.get(&f.name))).collect();
        let examples = card
            .examples
            .iter()
            .map(|e| {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                for f in &card.features {
                    if let Some(v) = e.values.get(&f.name) {
                        query.append_pair(&f.name, &v.to_string());
                    }
                }
                ExampleLink {
                    label: e.label.clone(),
                    href: format!("/models/{}?{}#result", card.name, query.finish()),
                }
            })
            .collect();
        Self {
            stylesheet: STYLESHEET_PATH.as_str(),
            name: card.name.clone(),
            title: card.title.clone(),
            description: card.description.clone(),
            task: task_name(card.task),
            version: card.version.clone(),
            metric: headline_metric(card),
            fields,
            examples,
            summary: Vec::new(),
            class_result: None,
            value_result: None,
            share_url: None,
        }
    }

    /// Marks `feature` invalid with `msg` and lists it in the summary.
    fn flag(&mut self, card: &ModelCard, feature: &str, msg: &str) {
        let label = card.feature(feature).map_or(feature, |f| f.label.as_str());
        if let Some(field) = self.fields.iter_mut().find(|f| f.name == feature) {
            if field.error.is_none() {
                field.error = Some(sentence(msg));
            }
            self.summary.push(SummaryItem {
                anchor: Some(field_id(feature)),
                text: format!("{label}: {}", sentence(msg)),
            });
        } else {
            self.summary.push(SummaryItem { anchor: None, text: format!("{feature}: {}", sentence(msg)) });
        }
    }

    /// Shows the problems found here and those the API reported; a field
    /// flagged here is not flagged again as missing.
    fn show_problems(&mut self, card: &ModelCard, local: &[LocalProblem], api: Option<&Problem>) {
        for p in local {
            self.flag(card, &p.feature, &p.msg);
        }
        if let Some(problem) = api {
            for error in &problem.errors {
                match field_of(error) {
                    Some(feature) if local.iter().any(|p| p.feature == feature) => {}
                    Some(feature) => self.flag(card, feature, &error.msg),
                    None => self.summary.push(SummaryItem { anchor: None, text: sentence(&error.msg) }),
                }
            }
            if self.summary.is_empty() {
                self.summary.push(SummaryItem { anchor: None, text: sentence(&problem.detail) });
            }
        }
        self.sort_summary(card);
    }

    /// Lists problems in the order of the form, so the summary reads top to
    /// bottom, and gives the first invalid field the focus.
    fn sort_summary(&mut self, card: &ModelCard) {
        let position = |item: &SummaryItem| {
            item.anchor
                .as_deref()
                .and_then(|a| card.features.iter().position(|f| field_id(&f.name) == a))
                .unwrap_or(usize::MAX)
        };
        self.summary.sort_by_key(position);
        let first = self.summary.first().and_then(|s| s.anchor.clone());
        for field in &mut self.fields {
            field.autofocus = first.as_deref() == Some(field_id(&field.name).as_str());
        }
    }

    fn show_answer(&mut self, card: &ModelCard, answer: PredictResponse, share_url: String) {
        self.share_url = Some(share_url);
        match answer.prediction {
            Prediction::Classification(c) => {
                let mut probs: Vec<(String, f32)> = c.probabilities.into_iter().collect();
                probs.sort_by(|a, b| b.1.total_cmp(&a.1));
                let bars = probs
                    .iter()
                    .enumerate()
                    .map(|(i, (name, p))| Bar {
                        name: name.clone(),
                        percent: percent(*p),
                        width: format!("{:.2}", (p.clamp(0.0, 1.0) * 100.0)),
                        top: i == 0,
                    })
                    .collect();
                let confidence = probs.first().map(|(_, p)| percent(*p)).unwrap_or_default();
                self.class_result = Some(ClassResult { label: c.label, confidence, bars });
            }
            Prediction::Regression(r) => {
                let output = card.output.as_ref();
                let range = output.filter(|o| o.max > o.min).map(|o| {
                    let v = f64::from(r.value);
                    let unit = if o.unit.is_empty() { String::new() } else { format!(" {}", o.unit) };
                    let note = if v < o.min {
                        format!("Below every value seen in training ({}–{}{unit}).", number(o.min), number(o.max))
                    } else if v > o.max {
                        format!("Above every value seen in training ({}–{}{unit}).", number(o.min), number(o.max))
                    } else {
                        format!(
                            "{:.0}% of the way from the lowest ({}) to the highest ({}) value seen in training.",
                            (v - o.min) / (o.max - o.min) * 100.0,
                            number(o.min),
                            number(o.max)
                        )
                    };
                    RangeView {
                        min: number(o.min),
                        max: number(o.max),
                        marker_x: format!("{:.2}", (((v - o.min) / (o.max - o.min)).clamp(0.0, 1.0) * 100.0 - 0.75).clamp(0.0, 98.5)),
                        note,
                    }
                });
                self.value_result = Some(ValueResult {
                    output: output.map_or_else(|| "value".to_owned(), |o| o.name.clone()),
                    value: number(f64::from(r.value)),
                    unit: r.unit.unwrap_or_default(),
                    description: output.map(|o| o.description.clone()).unwrap_or_default(),
                    range,
                });
            }
        }
    }
}

fn field_view(f: &FeatureSpec, submitted: Option<&String>) -> FieldView {
    let value = submitted.map_or_else(|| f.default.to_string(), |v| v.trim().to_owned());
    let is_number = value.parse::<f64>().is_ok_and(f64::is_finite);
    let options = f
        .choices
        .as_ref()
        .map(|cs| {
            cs.iter()
                .map(|c| OptionView {
                    value: c.value.to_string(),
                    label: c.label.clone(),
                    selected: value.parse::<f64>().is_ok_and(|v| v == c.value),
                })
                .collect()
        })
        .unwrap_or_default();
    let range = format!(
        "{} to {}{}",
        f.min,
        f.max,
        if f.unit.is_empty() { String::new() } else { format!(" {}", f.unit) }
    );
    let help = if f.description.is_empty() { range } else { format!("{} Accepted: {range}.", f.description) };
    FieldView {
        name: f.name.clone(),
        label: f.label.clone(),
        unit: f.unit.clone(),
        help,
        min: f.min.to_string(),
        max: f.max.to_string(),
        step: f.step.to_string(),
        value,
        input_type: if is_number || submitted.is_none() { "number" } else { "text" },
        options,
        error: None,
        autofocus: false,
    }
}

/// The feature a field error is about: `["body", name]`.
fn field_of(error: &FieldError) -> Option<&str> {
    match error.loc.as_slice() {
        [LocPart::Key(body), LocPart::Key(name)] if body == "body" => Some(name),
        _ => None,
    }
}

/// `msg` as a sentence: capitalised, with a full stop.
fn sentence(msg: &str) -> String {
    let mut chars = msg.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn percent(p: f32) -> String {
    let pct = f64::from(p) * 100.0;
    if pct > 0.0 && pct < 0.1 { "<0.1%".to_owned() } else { format!("{pct:.1}%") }
}

/// A number for people: four significant digits at most, no trailing zeros.
fn number(v: f64) -> String {
    let digits = if v == 0.0 { 0 } else { (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize };
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(number(139.54733), "139.5");
        assert_eq!(number(25.0), "25");
        assert_eq!(number(0.012345), "0.01235");
        assert_eq!(number(3460.0), "3460");
    }

    #[test]
    fn tiny_probabilities_do_not_round_to_zero_percent() {
        assert_eq!(percent(0.000_000_3), "<0.1%");
        assert_eq!(percent(0.98081), "98.1%");
        assert_eq!(percent(0.0), "0.0%");
    }

    #[test]
    fn text_that_is_not_a_number_is_rejected() {
        assert!(parse_number("abc").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("NaN").is_err());
        assert!(parse_number("").is_err());
        assert_eq!(parse_number("5.1"), Ok(5.1));
        assert_eq!(parse_number("-2e-1"), Ok(-0.2));
    }

    #[test]
    fn the_retry_counter_is_not_a_feature() {
        let params = Params::parse("a=1&_retry=3&_other=x&a=2");
        assert_eq!(params.attempt, 3);
        assert_eq!(params.values.len(), 1);
        assert_eq!(params.values["a"], "1");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("must be between 0.1 and 4 cm; got 9"), "Must be between 0.1 and 4 cm; got 9.");
        assert_eq!(sentence("Enter a value."), "Enter a value.");
    }
}
