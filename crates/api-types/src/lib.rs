//! The JSON shapes the prediction API speaks, shared by the API and the UI.
//!
//! This crate owns the HTTP contract between them: the wire types, with
//! serde and (with the `openapi` feature) their OpenAPI schemas. It must not
//! depend on tract, axum or an async runtime, so the UI can use it without
//! compiling them, and it holds no rules: the API checks cards and rows.

mod card;
mod explain;
mod monitoring;
mod predict;
mod problem;
pub mod spreadsheet;
mod status;

pub use card::{
    CardSource, Choice, Example, FeatureSpec, FeatureValue, GoldenCheck, LoadFailure, ModelCard,
    ModelDetails, ModelList, ModelStatus, ModelSummary, OnnxIo, Policy, Provenance, RegressionOutput,
    Signature, Task, TensorSpec, valid_model_name,
};
pub use explain::{
    BatchExplainResponse, Contribution, Curve, CurvePoint, ExplainResponse, Explanation, WhatIfResponse,
};
pub use monitoring::{BinShare, DriftReading, FeatureDrift, Monitoring, PredictionDrift};
pub use predict::{
    BatchPredictResponse, BatchRequest, ClassPrediction, Instance, PredictResponse, Prediction, Predictions,
    Probabilities, RegressionPrediction,
};
pub use problem::{Allowed, FieldError, FieldErrorKind, LocPart, Problem};
pub use status::{Health, Readiness, ReloadReport};
