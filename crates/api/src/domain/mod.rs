//! Parse, don't validate: turns raw request JSON into a checked
//! [`FeatureMatrix`] against a model's [`FeatureSchema`].
//!
//! Every rule a row must satisfy lives here, and every problem in a request
//! is reported at once. Nothing here knows about HTTP or tract.

mod problems;
mod schema;

pub use problems::{MAX_REPORTED_PROBLEMS, Problems, bounded_key};
pub use schema::{BodyError, FeatureMatrix, FeatureSchema};
