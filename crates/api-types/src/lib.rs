//! The JSON shapes the prediction API speaks, shared by the API and the UI.
//!
//! This crate owns the HTTP contract between them: wire types (serde, and
//! the model card's own consistency rules) and the `/healthz` probe both
//! binaries run as their container health check. It must not depend on
//! tract, axum or an async runtime, so the UI can use it without compiling them.

mod card;
mod predict;
pub mod probe;
mod problem;
mod status;

pub use card::{
    Choice, Example, FeatureSpec, ModelCard, ModelDetails, ModelList, OnnxIo, Provenance, RegressionOutput,
    Signature, Task, TensorSpec,
};
pub use predict::{
    BatchPredictResponse, BatchRequest, ClassPrediction, Instance, PredictResponse, Prediction,
    RegressionPrediction,
};
pub use problem::{Allowed, FieldError, FieldErrorKind, LocPart, Problem};
pub use status::{Health, Readiness};
