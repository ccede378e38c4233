//! The JSON shapes the prediction API speaks, shared by the API and the UI.
//!
//! This crate owns wire types only: serde (de)serialization and the model
//! card's own consistency rules. It must not depend on tract or axum, so the
//! UI can use it without compiling either.

mod card;
mod predict;
mod problem;
mod status;

pub use card::{
    Choice, Example, FeatureSpec, ModelCard, ModelDetails, ModelList, OnnxIo, Provenance,
    RegressionOutput, Signature, Task, TensorSpec,
};
pub use predict::{
    BatchPredictResponse, BatchRequest, ClassPrediction, Instance, PredictResponse, Prediction,
    RegressionPrediction,
};
pub use problem::{Allowed, FieldError, FieldErrorKind, LocPart, Problem};
pub use status::{Health, Readiness};
