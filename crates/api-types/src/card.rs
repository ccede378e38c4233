//! The model card: what a model is, what it takes and what it answers.
//!
//! Cards are written as `models/<name>/card.toml` and served as JSON. These
//! are the shapes only: whether a card is consistent (ranges, defaults,
//! categories, examples) and whether it matches its ONNX graph is checked by
//! the API, with the same rules it applies to requests.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// What kind of answer a model gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One of a fixed set of classes, with a probability for each.
    Classification,
    /// A single real number.
    Regression,
}

/// Everything the API serves about one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelCard {
    /// URL-safe identifier: lowercase letters, digits, `_` and `-`.
    pub name: String,
    /// A human title.
    pub title: String,
    /// What the model does, in a sentence or two.
    pub description: String,
    /// The model's own version.
    pub version: String,
    /// Classification or regression.
    pub task: Task,
    /// Class names in the order of the probability output (classification only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Names of the graph's inputs and outputs.
    pub onnx: OnnxIo,
    /// The predicted quantity (regression only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<RegressionOutput>,
    /// The input features: the columns of the graph's matrix input in order,
    /// or one graph input each.
    pub features: Vec<FeatureSpec>,
    /// Ready-made rows a person can try.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Where the model came from and how well it did on held-out data.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Names of the ONNX graph's inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnnxIo {
    /// The one matrix input of shape `[N, features]`. Absent when the graph
    /// takes one input per feature (as skl2onnx exports a DataFrame), each
    /// named as its feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The classifier's label output; informational, the API serves the argmax of the probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_output: Option<String>,
    /// The classifier's probability output, shape `[N, classes]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities_output: Option<String>,
    /// The regressor's output, shape `[N, 1]` or `[N]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_output: Option<String>,
}

/// The quantity a regressor predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegressionOutput {
    /// Its name, e.g. `progression`.
    pub name: String,
    /// Its unit, e.g. `points`.
    #[serde(default)]
    pub unit: String,
    /// What it measures.
    #[serde(default)]
    pub description: String,
    /// The smallest value seen in training (unknown for a model with no card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest value seen in training (unknown for a model with no card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Whether something is accepted: a missing value, an unknown category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Refused with a 422 naming the feature.
    #[default]
    Rejected,
    /// Accepted: the model handles it (an imputer, an encoder ignoring unknowns).
    Allowed,
}

impl Policy {
    /// Whether this is the default, [`Policy::Rejected`] (left out when serialized).
    pub fn is_rejected(&self) -> bool {
        *self == Self::Rejected
    }
}

/// One input feature: a number (optionally one of coded `choices`) or a
/// category (text, one of `categories`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureSpec {
    /// The JSON key (and the graph input's name when the graph takes one input per feature).
    pub name: String,
    /// A human label; the name when a card leaves it out.
    #[serde(default)]
    pub label: String,
    /// Its unit (may be empty).
    #[serde(default)]
    pub unit: String,
    /// Help text.
    #[serde(default)]
    pub description: String,
    /// The smallest accepted number (inclusive); none: any finite number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest accepted number (inclusive); none: any finite number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The input granularity a form should offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// The value a form starts with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<FeatureValue>,
    /// For coded categories: the accepted numbers and their labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Choice>>,
    /// For a text category: the accepted values, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Whether a row may leave it out (JSON `null` or no key, a blank CSV cell).
    #[serde(default, skip_serializing_if = "Policy::is_rejected")]
    pub missing: Policy,
    /// Whether a category outside `categories` is accepted (the encoder ignores it).
    #[serde(default, skip_serializing_if = "Policy::is_rejected")]
    pub unknown: Policy,
    /// Whether only whole numbers are accepted (the graph takes int64).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub integer: bool,
}

impl FeatureSpec {
    /// A numeric feature named (and labelled) `name` that takes any finite
    /// number, none missing: the rest is for the caller to state.
    pub fn number(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: String::new(),
            description: String::new(),
            min: None,
            max: None,
            step: None,
            default: None,
            choices: None,
            categories: None,
            missing: Policy::Rejected,
            unknown: Policy::Rejected,
            integer: false,
        }
    }

    /// Whether the feature takes text categories rather than numbers.
    pub fn is_categorical(&self) -> bool {
        self.categories.is_some()
    }
}

/// One value of a feature: a number or a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum FeatureValue {
    /// A number.
    Number(f64),
    /// A category, as text.
    Text(String),
}

impl std::fmt::Display for FeatureValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(v) => write!(f, "{v}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

/// One accepted value of a coded categorical feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choice {
    /// The number the model takes.
    pub value: f64,
    /// What a person sees.
    pub label: String,
}

/// A ready-made row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Example {
    /// What it is.
    pub label: String,
    /// A value for every feature (a feature that allows missing values may be left out).
    pub values: IndexMap<String, FeatureValue>,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provenance {
    /// The training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The script that trained and exported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// When it was trained and exported (an ISO 8601 date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<String>,
    /// The revision of the training code that made it (a git commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_version: Option<String>,
    /// The fitted estimator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimator: Option<String>,
    /// Rows used to train.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_rows: Option<u64>,
    /// Rows held out to measure it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_rows: Option<u64>,
    /// The seed used for splitting and training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_state: Option<u64>,
    /// Library versions used at export time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libraries: BTreeMap<String, String>,
    /// Held-out metrics, e.g. `accuracy` or `r2`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

/// `GET /models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelList {
    /// The model `POST /predict` uses.
    pub default_model: String,
    /// How many models are served in all.
    pub total: usize,
    /// How many model files stand failed in all.
    pub failure_count: usize,
    /// Where this page starts, in name order (`?offset=`).
    pub offset: usize,
    /// The most models, and failures, a page holds (`?limit=`).
    pub limit: usize,
    /// This page's served models, summarized, sorted by name (the newest
    /// version of each); `GET /models/{name}` gives a whole card.
    pub models: Vec<ModelSummary>,
    /// This page's model files whose last load failed, whether an older
    /// version still serves or none does, sorted by model.
    #[serde(default)]
    pub failures: Vec<LoadFailure>,
}

/// What a list of models says of each one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelSummary {
    /// Its name, as in its paths.
    pub name: String,
    /// A short human title.
    pub title: String,
    /// What it does (at most 300 characters; the card has the rest).
    pub description: String,
    /// Classification or regression.
    pub task: Task,
    /// The version served.
    pub version: String,
    /// How many features a row has.
    pub features: usize,
    /// How many classes a classifier names (0 for a regressor).
    pub classes: usize,
    /// Where its card came from.
    pub card_source: CardSource,
    /// Held-out metrics from its card's provenance.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// How many held-out rows the metrics were measured on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_rows: Option<u64>,
}

/// Whether `name` can be a model's name: 1 to 64 lowercase letters, digits,
/// `_` or `-`, starting with a letter or a digit. Every name in a path, a
/// metric label or a page is one of these.
pub fn valid_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// Why a model file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadFailure {
    /// The model's name.
    pub model: String,
    /// The version directory, for the versioned layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The file at fault, relative to the models directory.
    pub file: String,
    /// What was wrong with it.
    pub reason: String,
    /// When the load was tried, as RFC 3339 UTC.
    pub at: String,
    /// Whether an earlier load of this model still serves.
    pub still_serving: bool,
}

/// Where a served card came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardSource {
    /// A complete `card.toml`.
    #[default]
    File,
    /// A `card.toml` stating part of the card; the graph gave the rest.
    Partial,
    /// No card: everything was read from the graph.
    Inferred,
}

/// How the served graph compared with the golden answers shipped beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoldenCheck {
    /// Rows of `golden.json` predicted at load.
    pub rows: usize,
    /// The largest difference from a golden probability or value.
    pub max_abs_error: f64,
    /// The tolerance every row met.
    pub tolerance: f64,
    /// Where the golden answers came from (e.g. `onnxruntime 1.32.0`).
    #[serde(default)]
    pub source: String,
}

/// What the server knows about a loaded model beyond its card.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelStatus {
    /// The version served here.
    pub version: String,
    /// Every loaded version, oldest first; the last one serves by default.
    pub versions: Vec<String>,
    /// The SHA-256 of the ONNX file, in hex.
    pub sha256: String,
    /// The ONNX file, relative to the models directory.
    pub file: String,
    /// Where the card came from.
    pub card_source: CardSource,
    /// Every operator the graph uses, as `domain:Op`.
    pub operators: Vec<String>,
    /// The golden-row check made at load, when `golden.json` ships with the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden: Option<GoldenCheck>,
    /// When this version was loaded, as RFC 3339 UTC.
    pub loaded_at: String,
    /// How long loading, checking and warming it up took, in milliseconds.
    pub load_ms: u64,
    /// The last failed attempt to load a newer file of this model, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LoadFailure>,
}

/// `GET /models/{name}`: the card plus the graph's tensor signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelDetails {
    /// The card.
    #[serde(flatten)]
    pub card: ModelCard,
    /// The graph's inputs and served output, as loaded.
    pub signature: Signature,
    /// The file, its checks and its versions (empty from an API older than them).
    #[serde(default)]
    pub status: ModelStatus,
}

/// The tensors a loaded graph takes and gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    /// The inputs the server feeds, in graph order.
    pub inputs: Vec<TensorSpec>,
    /// The output the server reads its answer from.
    pub output: TensorSpec,
}

/// A tensor's name, element type and shape (`null` for the batch dimension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TensorSpec {
    /// Its name in the graph.
    pub name: String,
    /// Its element type, e.g. `float32`.
    pub dtype: String,
    /// Its shape; `None` where the size is the batch size.
    pub shape: Vec<Option<usize>>,
}

impl ModelCard {
    /// Looks a feature up by name.
    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The graph output the API serves for this card's task.
    pub fn served_output(&self) -> Option<&str> {
        match self.task {
            Task::Classification => self.onnx.probabilities_output.as_deref(),
            Task::Regression => self.onnx.value_output.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_feature_serializes_without_the_categorical_fields() {
        let f = FeatureSpec {
            name: "x".to_owned(),
            label: "X".to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min: Some(0.1),
            max: Some(10.0),
            step: Some(0.1),
            default: Some(FeatureValue::Number(5.8)),
            choices: None,
            categories: None,
            missing: Policy::Rejected,
            unknown: Policy::Rejected,
            integer: false,
        };

        let json = serde_json::to_string(&f).expect("serializable");

        assert_eq!(
            json,
            r#"{"name":"x","label":"X","unit":"cm","description":"","min":0.1,"max":10.0,"step":0.1,"default":5.8}"#
        );
    }

    #[test]
    fn a_categorical_feature_reads_its_categories_and_policies() {
        let f: FeatureSpec = serde_json::from_str(
            r#"{"name":"island","label":"Island","categories":["Biscoe","Dream"],"missing":"allowed","default":"Dream"}"#,
        )
        .expect("valid");

        assert!(f.is_categorical());
        assert_eq!(f.missing, Policy::Allowed);
        assert_eq!(f.unknown, Policy::Rejected);
        assert_eq!(f.default, Some(FeatureValue::Text("Dream".to_owned())));
    }
}
