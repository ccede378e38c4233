//! The model card: what a model is, what it takes and what it answers.
//!
//! Cards are written as `models/<name>/card.toml` and served as JSON. The
//! rules here are the card's own consistency (ranges, defaults, choices,
//! examples); whether the card matches its ONNX graph is the API's job.

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "check_card", skip_on_field_errors = false))]
pub struct ModelCard {
    /// URL-safe identifier: lowercase letters, digits, `_` and `-`.
    #[validate(length(min = 1, max = 64), custom(function = "check_name"))]
    pub name: String,
    /// A human title.
    #[validate(length(min = 1))]
    pub title: String,
    /// What the model does, in a sentence or two.
    pub description: String,
    /// The model's own version.
    #[validate(length(min = 1))]
    pub version: String,
    /// Classification or regression.
    pub task: Task,
    /// Class names in the order of the probability output (classification only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Names of the graph's input and outputs.
    #[validate(nested)]
    pub onnx: OnnxIo,
    /// The predicted quantity (regression only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub output: Option<RegressionOutput>,
    /// The input features, in the column order of the graph's input.
    #[validate(length(min = 1), nested)]
    pub features: Vec<FeatureSpec>,
    /// Ready-made rows a person can try.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Where the model came from and how well it did on held-out data.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Names of the ONNX graph's input and outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OnnxIo {
    /// The float input of shape `[N, features]`.
    #[validate(length(min = 1))]
    pub input: String,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegressionOutput {
    /// Its name, e.g. `progression`.
    #[validate(length(min = 1))]
    pub name: String,
    /// Its unit, e.g. `points`.
    #[serde(default)]
    pub unit: String,
    /// What it measures.
    #[serde(default)]
    pub description: String,
    /// The smallest value seen in training.
    pub min: f64,
    /// The largest value seen in training.
    pub max: f64,
}

/// One input feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "check_feature", skip_on_field_errors = false))]
pub struct FeatureSpec {
    /// The JSON key.
    #[validate(length(min = 1, max = 64))]
    pub name: String,
    /// A human label.
    #[validate(length(min = 1))]
    pub label: String,
    /// Its unit (may be empty).
    #[serde(default)]
    pub unit: String,
    /// Help text.
    #[serde(default)]
    pub description: String,
    /// The smallest accepted value (inclusive).
    pub min: f64,
    /// The largest accepted value (inclusive).
    pub max: f64,
    /// The input granularity a form should offer.
    pub step: f64,
    /// The value a form starts with.
    pub default: f64,
    /// For coded categories: the accepted values and their labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Choice>>,
}

/// One accepted value of a coded categorical feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The number the model takes.
    pub value: f64,
    /// What a person sees.
    pub label: String,
}

/// A ready-made row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// What it is.
    pub label: String,
    /// A value for every feature.
    pub values: IndexMap<String, f64>,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The script that trained and exported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
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
    /// Every served model's card, sorted by name.
    pub models: Vec<ModelCard>,
}

/// `GET /models/{name}`: the card plus the graph's tensor signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelDetails {
    /// The card.
    #[serde(flatten)]
    pub card: ModelCard,
    /// The graph's input and served output, as loaded.
    pub signature: Signature,
}

/// The tensors a loaded graph takes and gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    /// The input tensor.
    pub input: TensorSpec,
    /// The served output tensor.
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

impl FeatureSpec {
    /// Whether `value` is accepted for this feature (range and choices).
    pub fn accepts(&self, value: f64) -> bool {
        value.is_finite()
            && self.min <= value
            && value <= self.max
            && self.choices.as_ref().is_none_or(|cs| cs.iter().any(|c| c.value == value))
    }
}

fn error(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Owned(message))
}

fn check_name(name: &str) -> Result<(), ValidationError> {
    let ok = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(error(
            "name",
            format!(
                "model name {name:?} must be lowercase letters, digits, '_' or '-', starting with a letter or digit"
            ),
        ))
    }
}

fn check_feature(f: &FeatureSpec) -> Result<(), ValidationError> {
    let name = &f.name;
    if !(f.min.is_finite() && f.max.is_finite() && f.min <= f.max) {
        return Err(error(
            "range",
            format!("feature {name:?}: min {} must be ≤ max {}, both finite", f.min, f.max),
        ));
    }
    if !(f.step.is_finite() && f.step > 0.0) {
        return Err(error("step", format!("feature {name:?}: step {} must be a positive number", f.step)));
    }
    if let Some(choices) = &f.choices {
        if choices.is_empty() {
            return Err(error("choices", format!("feature {name:?}: choices must not be empty")));
        }
        if let Some(c) = choices.iter().find(|c| !(f.min <= c.value && c.value <= f.max)) {
            return Err(error(
                "choices",
                format!("feature {name:?}: choice {} lies outside {}..={}", c.value, f.min, f.max),
            ));
        }
    }
    if !f.accepts(f.default) {
        return Err(error(
            "default",
            format!("feature {name:?}: default {} is not an accepted value", f.default),
        ));
    }
    Ok(())
}

fn check_card(card: &ModelCard) -> Result<(), ValidationError> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = card.features.iter().find(|f| !seen.insert(f.name.as_str())) {
        return Err(error("features", format!("feature {:?} is listed twice", dup.name)));
    }
    match card.task {
        Task::Classification => {
            if card.classes.len() < 2 {
                return Err(error("classes", "a classifier needs at least two classes".to_owned()));
            }
            if card.onnx.probabilities_output.is_none() {
                return Err(error("onnx", "a classifier needs onnx.probabilities_output".to_owned()));
            }
        }
        Task::Regression => {
            if card.output.is_none() {
                return Err(error("output", "a regressor needs an [output] table".to_owned()));
            }
            if card.onnx.value_output.is_none() {
                return Err(error("onnx", "a regressor needs onnx.value_output".to_owned()));
            }
        }
    }
    for example in &card.examples {
        for f in &card.features {
            match example.values.get(&f.name) {
                None => {
                    return Err(error(
                        "examples",
                        format!("example {:?} has no value for {:?}", example.label, f.name),
                    ));
                }
                Some(&v) if !f.accepts(v) => {
                    return Err(error(
                        "examples",
                        format!("example {:?}: {} = {v} is not accepted", example.label, f.name),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = example.values.keys().find(|k| card.feature(k).is_none()) {
            return Err(error(
                "examples",
                format!("example {:?} names unknown feature {extra:?}", example.label),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(name: &str) -> FeatureSpec {
        FeatureSpec {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min: 0.0,
            max: 10.0,
            step: 0.1,
            default: 1.0,
            choices: None,
        }
    }

    fn card() -> ModelCard {
        ModelCard {
            name: "m".to_owned(),
            title: "M".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Classification,
            classes: vec!["a".to_owned(), "b".to_owned()],
            onnx: OnnxIo {
                input: "input".to_owned(),
                label_output: None,
                probabilities_output: Some("probabilities".to_owned()),
                value_output: None,
            },
            output: None,
            features: vec![feature("x"), feature("y")],
            examples: vec![],
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn a_consistent_card_is_valid() {
        assert!(card().validate().is_ok());
    }

    #[test]
    fn a_default_outside_the_range_is_rejected() {
        let mut c = card();
        c.features[0].default = 11.0;
        let err = c.validate().expect_err("default out of range").to_string();
        assert!(err.contains("default 11 is not an accepted value"), "{err}");
    }

    #[test]
    fn a_default_that_is_not_a_choice_is_rejected() {
        let mut c = card();
        c.features[0].choices = Some(vec![Choice { value: 2.0, label: "two".to_owned() }]);
        assert!(c.validate().is_err());
    }

    #[test]
    fn min_above_max_is_rejected() {
        let mut c = card();
        c.features[1].min = 20.0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_duplicate_feature_is_rejected() {
        let mut c = card();
        c.features[1].name = "x".to_owned();
        let err = c.validate().expect_err("duplicate").to_string();
        assert!(err.contains("listed twice"), "{err}");
    }

    #[test]
    fn a_classifier_with_one_class_is_rejected() {
        let mut c = card();
        c.classes.pop();
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_regressor_without_an_output_table_is_rejected() {
        let mut c = card();
        c.task = Task::Regression;
        c.onnx.value_output = Some("variable".to_owned());
        assert!(c.validate().is_err());
    }

    #[test]
    fn an_example_missing_a_feature_is_rejected() {
        let mut c = card();
        c.examples
            .push(Example { label: "e".to_owned(), values: [("x".to_owned(), 1.0)].into_iter().collect() });
        let err = c.validate().expect_err("incomplete example").to_string();
        assert!(err.contains("has no value for \"y\""), "{err}");
    }

    #[test]
    fn a_name_with_a_slash_is_rejected() {
        let mut c = card();
        c.name = "../etc".to_owned();
        assert!(c.validate().is_err());
    }
}
