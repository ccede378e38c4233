//! Prediction requests and responses.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One row as a client sends it: feature name → value.
///
/// The API parses the raw JSON itself so that it can report every problem at
/// once; this alias is what well-behaved clients (such as the UI) build.
pub type Instance = IndexMap<String, f64>;

/// `POST /models/{name}/predict/batch`: rows to predict, answered in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<T = Instance> {
    /// One entry per row; 1 to the server's `MAX_BATCH`.
    pub instances: Vec<T>,
}

/// The answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Prediction {
    /// A classifier's answer.
    Classification(ClassPrediction),
    /// A regressor's answer.
    Regression(RegressionPrediction),
}

/// A classifier's answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassPrediction {
    /// The most probable class's name.
    pub label: String,
    /// The most probable class's position in the card's `classes`.
    pub class_index: usize,
    /// Every class's probability, keyed by class name, in the card's order.
    pub probabilities: IndexMap<String, f32>,
}

/// A regressor's answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegressionPrediction {
    /// The predicted value.
    pub value: f32,
    /// The value's unit, from the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `POST /predict` and `POST /models/{name}/predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictResponse {
    /// The model that answered.
    pub model: String,
    /// Its card's version.
    pub model_version: String,
    /// The answer itself, flattened into this object.
    #[serde(flatten)]
    pub prediction: Prediction,
}

/// `POST /predict/batch` and `POST /models/{name}/predict/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchPredictResponse {
    /// The model that answered.
    pub model: String,
    /// Its card's version.
    pub model_version: String,
    /// One answer per instance, in request order.
    pub predictions: Vec<Prediction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classification_response_flattens_into_the_peer_shape() {
        let body = r#"{"model":"iris","model_version":"1.0.0","label":"setosa","class_index":0,
            "probabilities":{"setosa":0.9,"versicolor":0.1,"virginica":0.0}}"#;
        let parsed: PredictResponse = serde_json::from_str(body).expect("valid response");
        let Prediction::Classification(c) = &parsed.prediction else {
            panic!("expected a classification, got {parsed:?}");
        };
        assert_eq!(c.label, "setosa");
        assert_eq!(c.probabilities.keys().collect::<Vec<_>>(), ["setosa", "versicolor", "virginica"]);
        let again = serde_json::to_value(&parsed).expect("serializable");
        assert_eq!(again["class_index"], 0);
    }

    #[test]
    fn a_regression_response_round_trips() {
        let body = r#"{"model":"diabetes","model_version":"1.0.0","value":151.5,"unit":"points"}"#;
        let parsed: PredictResponse = serde_json::from_str(body).expect("valid response");
        assert!(matches!(parsed.prediction, Prediction::Regression(ref r) if r.value == 151.5));
    }
}
