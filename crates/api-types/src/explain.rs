//! Explanations and what-if curves: why the model answered what it did,
//! and how its answer moves with each feature.

use serde::{Deserialize, Serialize};

use crate::{FeatureValue, PredictResponse, Predictions};

/// `POST /models/{name}/explain`: the prediction and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainResponse<'a> {
    /// The prediction, as `/predict` answers it.
    pub prediction: PredictResponse<'a>,
    /// Why.
    pub explanation: Explanation,
}

/// `POST /models/{name}/explain/batch`: every row's prediction and explanation, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchExplainResponse<'a> {
    /// The model that answered.
    pub model: std::borrow::Cow<'a, str>,
    /// Its card's version.
    pub model_version: std::borrow::Cow<'a, str>,
    /// One answer per instance, in request order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::Prediction<'static>>))]
    pub predictions: Predictions<'a>,
    /// One explanation per instance, in request order.
    pub explanations: Vec<Explanation>,
}

/// Why a row got its answer: SHAP values, so that
/// `base_value + Σ contributions = output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// How it was computed: `tree_interventional` (exact TreeSHAP),
    /// `linear` (`coef · (x − background mean)`) or `exact_coalitions`.
    pub method: String,
    /// What `output` is: `value` (a regressor's, in its unit),
    /// `probability` or `log_odds` (of `class`), or `score` (a raw linear score of `class`).
    pub space: String,
    /// The class explained (the predicted one), for a classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The regressor's unit, when `space` is `value` and the card names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The output averaged over the background rows.
    pub base_value: f64,
    /// The output for this row.
    pub output: f64,
    /// One per feature, in the card's order.
    pub contributions: Vec<Contribution>,
    /// How many background rows (from the training data) it is measured against.
    pub background_rows: usize,
}

/// One feature's share of `output − base_value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    /// The feature.
    pub feature: String,
    /// Its share; a categorical feature's is the sum over its encoded columns.
    pub contribution: f64,
}

/// `POST /models/{name}/what-if`: the explained output as each feature
/// sweeps its range, the other features held at the row's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhatIfResponse {
    /// The model that answered.
    pub model: String,
    /// Its card's version.
    pub model_version: String,
    /// What the outputs are (as in an explanation).
    pub space: String,
    /// The class whose output is swept (the row's predicted class), for a classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The row's own output.
    pub output: f64,
    /// One curve per feature asked for, in the card's order.
    pub curves: Vec<Curve>,
}

/// One feature's sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Curve {
    /// The feature swept.
    pub feature: String,
    /// The row's own value of it (`null` when missing).
    pub current: Option<FeatureValue>,
    /// The output at each value, in order (numbers ascending, categories in the card's order).
    pub points: Vec<CurvePoint>,
}

/// The output at one value of a swept feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurvePoint {
    /// The feature's value.
    pub value: FeatureValue,
    /// The output there.
    pub output: f64,
}
