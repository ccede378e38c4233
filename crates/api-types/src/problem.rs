//! RFC 9457 problem details: the one error body shape of the JSON API.

use serde::{Deserialize, Serialize};

/// An `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of that kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// Every problem found in the request body, each with where it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id to quote when asking for help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One problem in the request, located precisely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Where it is: `["body", "instances", 3, "petal_width"]`.
    pub loc: Vec<LocPart>,
    /// What is wrong, for a person.
    pub msg: String,
    /// What is wrong, for a program.
    #[serde(rename = "type")]
    pub kind: FieldErrorKind,
    /// What would have been accepted, when that can be said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Allowed>,
}

/// One step of a location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LocPart {
    /// A position in an array.
    Index(usize),
    /// A key in an object.
    Key(String),
}

impl From<&str> for LocPart {
    fn from(key: &str) -> Self {
        Self::Key(key.to_owned())
    }
}

impl From<String> for LocPart {
    fn from(key: String) -> Self {
        Self::Key(key)
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

/// The machine-readable kinds of field problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorKind {
    /// A required feature is absent.
    Missing,
    /// A key the model does not know.
    UnknownField,
    /// The value has the wrong JSON type (a string, boolean, null, …).
    Type,
    /// A number outside the feature's range.
    Range,
    /// A number that is not one of the feature's choices.
    Choice,
    /// Text that is not one of the feature's categories.
    Category,
    /// Too few or too many rows.
    BatchSize,
    /// The body does not have the expected structure.
    Shape,
}

/// What a field accepts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Allowed {
    /// The smallest accepted value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest accepted value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The accepted values, for coded categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<f64>>,
    /// The accepted categories, for a text category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// The accepted keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// The accepted JSON type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_type: Option<String>,
    /// The fewest items accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<usize>,
    /// The most items accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_mixes_keys_and_indices_on_the_wire() {
        let err = FieldError {
            loc: vec!["body".into(), "instances".into(), 3.into(), "petal_width".into()],
            msg: "must be at most 4".to_owned(),
            kind: FieldErrorKind::Range,
            allowed: Some(Allowed { min: Some(0.1), max: Some(4.0), ..Allowed::default() }),
        };
        let json = serde_json::to_value(&err).expect("serializable");
        assert_eq!(json["loc"], serde_json::json!(["body", "instances", 3, "petal_width"]));
        assert_eq!(json["type"], "range");
        assert_eq!(json["allowed"], serde_json::json!({"min": 0.1, "max": 4.0}));
        let back: FieldError = serde_json::from_value(json).expect("deserializable");
        assert_eq!(back, err);
    }
}
