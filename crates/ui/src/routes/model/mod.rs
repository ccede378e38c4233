//! `GET /models/{name}`: the form built from a model's card and, when the
//! query string holds input, the prediction for it. The form submits with
//! GET, so every result has a URL that can be shared and bookmarked. This
//! module reads the request and asks the API; `view` shapes the page.

mod card;
mod file;
mod monitoring;
mod view;
mod why;

use std::collections::HashMap;

use api_types::{
    Explanation, FeatureValue, Instance, ModelCard, ModelDetails, Policy, PredictResponse, WhatIfResponse,
};
use axum::Router;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;

use self::view::{LocalProblem, ModelPage};
use crate::api_client::ApiClientError;
use crate::error::{ModelLink, UiError};
use crate::page;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Query parameters starting with this belong to the UI, never to the model.
const RESERVED_PREFIX: char = '_';

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/models/{name}", get(show_form))
        .route("/models/{name}/card", get(card::show_card))
        .route("/models/{name}/monitoring", get(monitoring::show_monitoring))
        .merge(file::router())
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
        busy: false,
    };

    let details = model_details(&state, &name, &request_id, unavailable).await?;
    let card = details.card;
    let mut page = ModelPage::for_card(&card, &params.values);
    page.show_status(&details.status);

    if params.submitted() {
        // Values that are not numbers are flagged here; the rest still go to
        // the API, so its range and choice problems show at the same time.
        let (row, local) = read_row(&card, &params);
        // One call answers the prediction and why; a model that cannot be
        // explained still predicts.
        let answer = match state.api.explain(&card.name, &row, &request_id).await {
            Ok(explained) => Ok((explained.prediction, Some(explained.explanation))),
            // 404: an API from before explanations (the card was just found).
            Err(ApiClientError::Declined(_) | ApiClientError::NotFound) => {
                state.api.predict(&card.name, &row, &request_id).await.map(|p| (p, None))
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((answer, why)) if local.is_empty() => {
                let what_if = match &why {
                    Some(why) => what_if(&state, &card, &row, why, &request_id).await,
                    None => None,
                };
                show_result(&mut page, &card, &params, answer, why.as_ref(), what_if.as_ref());
            }
            Ok(_) => page.show_problems(&card, &local, None),
            Err(ApiClientError::Invalid(problem)) => page.show_problems(&card, &local, Some(&problem)),
            Err(ApiClientError::Unavailable(_)) if !local.is_empty() => {
                page.show_problems(&card, &local, None)
            }
            Err(ApiClientError::Unavailable(outage)) => return Err(unavailable().during(&outage)),
            Err(ApiClientError::NotFound) => {
                return Err(UiError::ModelNotFound { name, models: Vec::new() });
            }
            Err(
                other @ (ApiClientError::Unexpected(_)
                | ApiClientError::Unauthorized
                | ApiClientError::Declined(_)
                | ApiClientError::Unreadable(_)),
            ) => {
                return Err(UiError::Internal(
                    anyhow::Error::new(other).context("Failed to get a prediction"),
                ));
            }
        }
    }
    // The form with input problems is a 422, like the API's answer it shows.
    let status = if page.has_problems() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, page::render(&page)?))
}

/// The answer, and why with the what-if curves when the model was explained.
fn show_result(
    page: &mut ModelPage,
    card: &ModelCard,
    params: &Params,
    answer: PredictResponse<'_>,
    why: Option<&Explanation>,
    what_if: Option<&WhatIfResponse>,
) {
    page.show_answer(card, answer, share_url(card, params, None));
    if let Some(why) = why {
        let href = |feature: &str, value: &str| share_url(card, params, Some((feature, value))) + "#why";
        page.show_why(card, why, what_if, href);
    }
}

/// The result page of `details`' model for the input in `query`, from
/// answers already in hand: what the handler renders once the API has
/// answered, public so the benchmark's floor (`examples/floor-ui.rs`) renders
/// exactly this page without asking an API.
pub fn result_page(
    details: &ModelDetails,
    query: &str,
    answer: PredictResponse<'_>,
    why: Option<&Explanation>,
    what_if: Option<&WhatIfResponse>,
) -> Result<Html<String>, UiError> {
    let params = Params::parse(query);
    let mut page = ModelPage::for_card(&details.card, &params.values);
    page.show_status(&details.status);
    show_result(&mut page, &details.card, &params, answer, why, what_if);
    page::render(&page)
}

/// The card and status of the model `name`; a 404 page listing the real
/// ones if there is none, `unavailable()` if the API does not answer.
async fn model_details(
    state: &AppState,
    name: &str,
    request_id: &str,
    unavailable: impl FnOnce() -> UiError,
) -> Result<ModelDetails, UiError> {
    // A name no model can have never reaches the API (a path like `.%09.`
    // would otherwise become another of its paths).
    let asked = if api_types::valid_model_name(name) {
        state.api.model(name, request_id).await
    } else {
        Err(ApiClientError::NotFound)
    };
    match asked {
        Ok(details) => Ok(details),
        Err(ApiClientError::NotFound) => {
            let models = match state.api.list_models(0, request_id).await {
                Ok(list) => {
                    list.models.into_iter().map(|c| ModelLink { name: c.name, title: c.title }).collect()
                }
                Err(_) => Vec::new(),
            };
            Err(UiError::ModelNotFound { name: name.to_owned(), models })
        }
        Err(ApiClientError::Unavailable(outage)) => Err(unavailable().during(&outage)),
        Err(other) => {
            Err(UiError::Internal(anyhow::Error::new(other).context("Failed to read the model card")))
        }
    }
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

/// Reads every feature's submitted text: numbers for numeric features, the
/// text for categories, nothing for a blank field the model allows to be
/// missing; and a problem for each text that should be a number and is not.
/// The API checks everything else.
fn read_row(card: &ModelCard, params: &Params) -> (Instance, Vec<LocalProblem>) {
    let mut row = Instance::new();
    let mut problems = Vec::new();
    for f in &card.features {
        let raw = params.values.get(&f.name).map_or("", |v| v.trim());
        if raw.is_empty() && f.missing == Policy::Allowed {
            continue;
        }
        if f.is_categorical() {
            row.insert(f.name.clone(), FeatureValue::Text(raw.to_owned()));
            continue;
        }
        match parse_number(raw) {
            Ok(v) => {
                row.insert(f.name.clone(), FeatureValue::Number(v));
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

/// The what-if curves of the features that moved the prediction most; the
/// page still shows the explanation without them if the call fails.
async fn what_if(
    state: &AppState,
    card: &ModelCard,
    row: &Instance,
    why: &api_types::Explanation,
    request_id: &str,
) -> Option<api_types::WhatIfResponse> {
    match state.api.what_if(&card.name, row, &charted_features(why), request_id).await {
        Ok(answer) => Some(answer),
        Err(e) => {
            tracing::warn!(error = %e, model = %card.name, "the what-if curves are not shown");
            None
        }
    }
}

/// The features whose what-if curves the page charts: those that moved the
/// prediction most.
pub fn charted_features(why: &Explanation) -> Vec<&str> {
    let mut top: Vec<&api_types::Contribution> = why.contributions.iter().collect();
    top.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    top.iter().take(why::CHARTED_FEATURES).map(|c| c.feature.as_str()).collect()
}

/// The page's own URL for this input, in the card's feature order; with
/// `change`, the URL of the same input with one feature's value replaced.
fn share_url(card: &ModelCard, params: &Params, change: Option<(&str, &str)>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for f in &card.features {
        match change {
            Some((feature, value)) if feature == f.name => {
                query.append_pair(&f.name, value);
            }
            _ => {
                if let Some(v) = params.values.get(&f.name) {
                    query.append_pair(&f.name, v.trim());
                }
            }
        }
    }
    format!("/models/{}?{}", card.name, query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_a_number_is_rejected() {
        assert!(parse_number("abc").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("NaN").is_err());
        assert!(parse_number("").is_err());
        assert_eq!(parse_number("5.1"), Ok(5.1));
        assert_eq!(parse_number("-2e-1"), Ok(-0.2));
    }

    /// The query string as a person would decode it: pairs split on `&`
    /// and the first `=`, `+` a space, `%XX` a byte, text read as UTF-8
    /// (lossily); the first value of each key kept, `_` keys the UI's own.
    fn reference_parse(query: &str) -> (HashMap<String, String>, u32) {
        let decode = |s: &str| {
            let bytes = s.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                let hex = |b: u8| (b as char).to_digit(16);
                match bytes[i] {
                    b'+' => out.push(b' '),
                    b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    },
                    b => out.push(b),
                }
                i += 1;
            }
            String::from_utf8_lossy(&out).into_owned()
        };
        let (mut values, mut attempt) = (HashMap::new(), 0);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            if k == "_retry" {
                attempt = v.parse().unwrap_or(0);
            } else if !k.starts_with('_') {
                values.entry(k).or_insert(v);
            }
        }
        (values, attempt)
    }

    fn fuzz_card() -> ModelCard {
        let feature = |name: &str, categories: Option<Vec<String>>, missing: Policy| api_types::FeatureSpec {
            categories,
            missing,
            ..api_types::FeatureSpec::number(name)
        };
        ModelCard {
            name: "m".to_owned(),
            title: "m".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: api_types::Task::Regression,
            classes: Vec::new(),
            onnx: api_types::OnnxIo {
                input: None,
                label_output: None,
                probabilities_output: None,
                value_output: None,
            },
            output: None,
            features: vec![
                feature("a", None, Policy::Rejected),
                feature("b", None, Policy::Allowed),
                feature("c", Some(vec!["x".to_owned(), "y".to_owned()]), Policy::Rejected),
            ],
            examples: Vec::new(),
            provenance: api_types::Provenance::default(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(service::fuzz::cases()))]

        /// Any query string (raw text with escapes, pluses and stray `%`s):
        /// no panic, and the values and retry counter a person would read.
        #[test]
        fn any_query_string_parses_as_a_person_would_decode_it(
            query in proptest::string::string_regex("([a-c_]{0,3}(=[-+%0-9a-fA-F.eEinf \\u{e9}x]{0,8})?&?){0,6}").expect("regex")
        ) {
            let params = Params::parse(&query);
            let (values, attempt) = reference_parse(&query);
            proptest::prop_assert_eq!(&params.values, &values);
            proptest::prop_assert_eq!(params.attempt, attempt);
        }

        /// Whatever a form sends, every feature ends up exactly once: a
        /// finite number, a category's text, a blank the model allows, or a
        /// problem saying what to type; no panic.
        #[test]
        fn any_form_input_becomes_a_value_or_a_problem_for_every_feature(
            a in "[-+0-9.eEinfNa \\t]{0,10}",
            b in "[-+0-9.eE ]{0,6}",
            c in "\\PC{0,6}",
        ) {
            let card = fuzz_card();
            let values = HashMap::from([("a".to_owned(), a.clone()), ("b".to_owned(), b.clone()), ("c".to_owned(), c.clone())]);
            let params = Params { values, attempt: 0 };
            let (row, problems) = read_row(&card, &params);
            for (name, raw) in [("a", &a), ("b", &b)] {
                let raw = raw.trim();
                let wanted = raw.parse::<f64>().ok().filter(|v| v.is_finite());
                let flagged = problems.iter().any(|p| p.feature == name);
                match row.get(name) {
                    Some(FeatureValue::Number(v)) => proptest::prop_assert_eq!(Some(*v), wanted),
                    Some(other) => proptest::prop_assert!(false, "{name} became {other:?}"),
                    None if name == "b" && raw.is_empty() => proptest::prop_assert!(!flagged),
                    None => proptest::prop_assert!(flagged && wanted.is_none(), "{name} = {raw:?} vanished"),
                }
            }
            proptest::prop_assert_eq!(row.get("c"), Some(&FeatureValue::Text(c.trim().to_owned())));
        }
    }

    #[test]
    fn the_retry_counter_is_not_a_feature() {
        let params = Params::parse("a=1&_retry=3&_other=x&a=2");
        assert_eq!(params.attempt, 3);
        assert_eq!(params.values.len(), 1);
        assert_eq!(params.values["a"], "1");
    }
}
