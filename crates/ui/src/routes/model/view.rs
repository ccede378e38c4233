//! The model page's view: the form's fields built from a card, the error
//! summary, and the prediction shown as probability bars or a value on its
//! training range. Pure data shaping, no I/O: the handler asks the API.

use std::collections::HashMap;

use api_types::{
    Explanation, FeatureSpec, FieldError, LocPart, ModelCard, Policy, PredictResponse, Prediction, Problem,
    WhatIfResponse,
};
use askama::Template;

use super::why::{Chart, WhyView, charts, why_view};
use crate::assets::STYLESHEET_PATH;
use crate::routes::home::{headline_metric, task_name};

/// A problem found before asking the API: a value that is not a number.
#[derive(Debug)]
pub(super) struct LocalProblem {
    pub(super) feature: String,
    pub(super) msg: String,
}

#[derive(Debug, Template)]
#[template(path = "pages/model.html")]
pub(super) struct ModelPage {
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
    why: Option<WhyView>,
    charts: Vec<Chart>,
    what_if_space: String,
    /// The model was dropped in with no card: say the form was inferred.
    inferred: bool,
    /// A newer file of this model failed to load: which, why.
    load_error: Option<(String, String)>,
}

/// One form control.
#[derive(Debug)]
struct FieldView {
    name: String,
    label: String,
    unit: String,
    help: String,
    min: Option<String>,
    max: Option<String>,
    step: Option<String>,
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

fn field_id(name: &str) -> String {
    format!("f-{name}")
}

impl ModelPage {
    /// The form for `card`, filled with the `submitted` values (defaults elsewhere).
    pub(super) fn for_card(card: &ModelCard, submitted: &HashMap<String, String>) -> Self {
        let fields = card.features.iter().map(|f| field_view(f, submitted.get(&f.name))).collect();
        let examples = card
            .examples
            .iter()
            .map(|e| {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                for f in &card.features {
                    match e.values.get(&f.name) {
                        Some(v) => {
                            query.append_pair(&f.name, &v.to_string());
                        }
                        // Left out of the example: a blank field, sent as missing.
                        None => {
                            query.append_pair(&f.name, "");
                        }
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
            metric: headline_metric(&card.provenance.metrics, card.provenance.test_rows),
            fields,
            examples,
            summary: Vec::new(),
            class_result: None,
            value_result: None,
            share_url: None,
            why: None,
            charts: Vec::new(),
            what_if_space: String::new(),
            inferred: false,
            load_error: None,
        }
    }

    /// Notes what the API says about the model's files: an inferred card, a failed reload.
    pub(super) fn show_status(&mut self, status: &api_types::ModelStatus) {
        self.inferred = status.card_source == api_types::CardSource::Inferred;
        self.load_error = status.last_error.as_ref().map(|e| (e.file.clone(), e.reason.clone()));
    }

    /// Whether the page shows input problems.
    pub(super) fn has_problems(&self) -> bool {
        !self.summary.is_empty()
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
    pub(super) fn show_problems(&mut self, card: &ModelCard, local: &[LocalProblem], api: Option<&Problem>) {
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

    /// Shows why the model answered as it did and, when given, what-if
    /// charts whose points link to `href(feature, value)`.
    pub(super) fn show_why(
        &mut self,
        card: &ModelCard,
        why: &Explanation,
        what_if: Option<&WhatIfResponse>,
        href: impl Fn(&str, &str) -> String,
    ) {
        let value_of = |name: &str| {
            self.fields.iter().find(|f| f.name == name).map(|f| f.value.clone()).unwrap_or_default()
        };
        let view = why_view(card, why, value_of);
        if let Some(what_if) = what_if {
            self.charts = charts(card, what_if, href);
            self.what_if_space = view.space.clone();
        }
        self.why = Some(view);
    }

    /// Shows the API's answer, with the link that reproduces it.
    pub(super) fn show_answer(&mut self, card: &ModelCard, answer: PredictResponse<'_>, share_url: String) {
        self.share_url = Some(share_url);
        match answer.prediction {
            Prediction::Classification(c) => {
                let mut probs: Vec<(String, f32)> =
                    c.probabilities.iter().map(|(k, p)| (k.to_owned(), p)).collect();
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
                self.class_result = Some(ClassResult { label: c.label.into_owned(), confidence, bars });
            }
            Prediction::Regression(r) => {
                let output = card.output.as_ref();
                let range = output.and_then(|o| Some((o, o.min?, o.max?))).filter(|(_, lo, hi)| hi > lo).map(|(o, lo, hi)| {
                    let v = f64::from(r.value);
                    let o = Seen { unit: &o.unit, min: lo, max: hi };
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
                    unit: r.unit.map(std::borrow::Cow::into_owned).unwrap_or_default(),
                    description: output.map(|o| o.description.clone()).unwrap_or_default(),
                    range,
                });
            }
        }
    }
}

fn field_view(f: &FeatureSpec, submitted: Option<&String>) -> FieldView {
    let value = submitted.map_or_else(
        || f.default.as_ref().map(ToString::to_string).unwrap_or_default(),
        |v| v.trim().to_owned(),
    );
    let is_number = value.parse::<f64>().is_ok_and(f64::is_finite);
    let mut options: Vec<OptionView> = match (&f.categories, &f.choices) {
        (Some(categories), _) => categories
            .iter()
            .map(|c| OptionView { value: c.clone(), label: c.clone(), selected: *c == value })
            .collect(),
        (None, Some(choices)) => choices
            .iter()
            .map(|c| OptionView {
                value: c.value.to_string(),
                label: c.label.clone(),
                selected: value.parse::<f64>().is_ok_and(|v| v == c.value),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    if !options.is_empty() && f.missing == Policy::Allowed {
        options.insert(
            0,
            OptionView { value: String::new(), label: "Not recorded".to_owned(), selected: value.is_empty() },
        );
    }
    let unit = if f.unit.is_empty() { String::new() } else { format!(" {}", f.unit) };
    let mut accepted = match (&f.categories, f.min, f.max) {
        (Some(categories), _, _) => format!("one of {}", categories.join(", ")),
        (None, Some(lo), Some(hi)) => format!("{lo} to {hi}{unit}"),
        (None, Some(lo), None) => format!("{lo}{unit} or more"),
        (None, None, Some(hi)) => format!("up to {hi}{unit}"),
        (None, None, None) => "any number".to_owned(),
    };
    if f.missing == Policy::Allowed {
        accepted.push_str(if options.is_empty() {
            "; may be left blank"
        } else {
            "; may be “Not recorded”"
        });
    }
    let help = if f.description.is_empty() {
        format!("Accepted: {accepted}.")
    } else {
        format!("{} Accepted: {accepted}.", f.description)
    };
    FieldView {
        name: f.name.clone(),
        label: f.label.clone(),
        unit: f.unit.clone(),
        help,
        min: f.min.map(|v| v.to_string()),
        max: f.max.map(|v| v.to_string()),
        step: Some(f.step.map_or_else(|| "any".to_owned(), |v| v.to_string())),
        value,
        input_type: if is_number || submitted.is_none() || submitted.is_some_and(|s| s.trim().is_empty()) {
            "number"
        } else {
            "text"
        },
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

pub(super) fn percent(p: f32) -> String {
    let pct = f64::from(p) * 100.0;
    if pct > 0.0 && pct < 0.1 { "<0.1%".to_owned() } else { format!("{pct:.1}%") }
}

/// A number for people: four significant digits at most, no trailing zeros.
pub(super) fn number(v: f64) -> String {
    let digits = if v == 0.0 { 0 } else { (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize };
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// A regressor's output range seen in training, when the card gives it.
struct Seen<'a> {
    unit: &'a str,
    min: f64,
    max: f64,
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
    fn messages_become_sentences() {
        assert_eq!(sentence("must be between 0.1 and 4 cm; got 9"), "Must be between 0.1 and 4 cm; got 9.");
        assert_eq!(sentence("Enter a value."), "Enter a value.");
    }
}
