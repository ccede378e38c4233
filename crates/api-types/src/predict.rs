//! Prediction requests and responses: the one definition of the JSON the
//! API writes, the UI reads and the OpenAPI document describes.
//!
//! The responses borrow (`Cow`, [`Probabilities`]) so the API can answer a
//! 10,000-row batch straight from the model's output without copying a
//! class name per row; the UI reads them back as owned values.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use serde::de::{MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FeatureValue;

/// One row as a client sends it: feature name → value.
///
/// The API parses the raw JSON itself so that it can report every problem at
/// once; this alias is what well-behaved clients (such as the UI) build.
pub type Instance = IndexMap<String, FeatureValue>;

/// `POST /models/{name}/predict/batch`: rows to predict, answered in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<T = Instance> {
    /// One entry per row; 1 to the server's `MAX_BATCH`.
    pub instances: Vec<T>,
}

/// The answer for one row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Prediction<'a> {
    /// A classifier's answer.
    Classification(ClassPrediction<'a>),
    /// A regressor's answer.
    Regression(RegressionPrediction<'a>),
}

/// A classifier's answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassPrediction<'a> {
    /// The most probable class's name.
    pub label: Cow<'a, str>,
    /// The most probable class's position in the card's `classes`.
    pub class_index: usize,
    /// Every class's probability, keyed by class name, in the card's order.
    pub probabilities: Probabilities<'a>,
}

/// A regressor's answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegressionPrediction<'a> {
    /// The predicted value.
    pub value: f32,
    /// The value's unit, from the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Cow<'a, str>>,
}

/// `POST /predict` and `POST /models/{name}/predict`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictResponse<'a> {
    /// The model that answered.
    pub model: Cow<'a, str>,
    /// Its card's version.
    pub model_version: Cow<'a, str>,
    /// The answer itself, flattened into this object.
    #[serde(flatten)]
    pub prediction: Prediction<'a>,
}

/// `POST /predict/batch` and `POST /models/{name}/predict/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchPredictResponse<'a> {
    /// The model that answered.
    pub model: Cow<'a, str>,
    /// Its card's version.
    pub model_version: Cow<'a, str>,
    /// One answer per instance, in request order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Prediction<'static>>))]
    pub predictions: Predictions<'a>,
}

/// The answers of a batch, in row order: read from JSON as a list, or
/// written straight from a model's output (every row's probabilities, or
/// every row's value) without building an answer per row first.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions<'a>(Answers<'a>);

#[derive(Debug, Clone, PartialEq)]
enum Answers<'a> {
    List(Vec<Prediction<'a>>),
    Classes { classes: &'a [String], probabilities: &'a [f32] },
    Values { values: &'a [f32], unit: Option<&'a str> },
}

impl<'a> Predictions<'a> {
    /// Answers given one by one.
    pub fn list(answers: Vec<Prediction<'a>>) -> Self {
        Self(Answers::List(answers))
    }

    /// A classifier's answers: `probabilities` holds one row of `classes.len()` values per row.
    pub fn of_classes(classes: &'a [String], probabilities: &'a [f32]) -> Self {
        Self(Answers::Classes { classes, probabilities })
    }

    /// A regressor's answers: one value per row, all in `unit`.
    pub fn of_values(values: &'a [f32], unit: Option<&'a str>) -> Self {
        Self(Answers::Values { values, unit })
    }

    /// How many rows are answered.
    pub fn len(&self) -> usize {
        match &self.0 {
            Answers::List(list) => list.len(),
            Answers::Classes { classes, probabilities } => {
                probabilities.len().checked_div(classes.len()).unwrap_or(0)
            }
            Answers::Values { values, .. } => values.len(),
        }
    }

    /// Whether no row is answered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each row's answer, in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Prediction<'_>> + '_> {
        match &self.0 {
            Answers::List(list) => Box::new(list.iter().cloned()),
            Answers::Classes { classes, probabilities } => Box::new(
                probabilities
                    .chunks_exact(classes.len().max(1))
                    .map(|row| Prediction::of_class(classes, row)),
            ),
            Answers::Values { values, unit } => Box::new(values.iter().map(|&value| {
                Prediction::Regression(RegressionPrediction { value, unit: unit.map(Cow::Borrowed) })
            })),
        }
    }
}

impl Serialize for Predictions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        match &self.0 {
            Answers::List(list) => list.iter().try_for_each(|p| seq.serialize_element(p))?,
            Answers::Classes { classes, probabilities } => {
                probabilities
                    .chunks_exact(classes.len().max(1))
                    .try_for_each(|row| seq.serialize_element(&Prediction::of_class(classes, row)))?
            }
            Answers::Values { values, unit } => values.iter().try_for_each(|&value| {
                seq.serialize_element(&Prediction::Regression(RegressionPrediction {
                    value,
                    unit: unit.map(Cow::Borrowed),
                }))
            })?,
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Predictions<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Prediction<'static>>::deserialize(deserializer).map(|list| Self(Answers::List(list)))
    }
}

impl<'a> Prediction<'a> {
    /// A classifier's answer for one row of `probabilities` over `classes`:
    /// the label is the most probable class, the first one on a tie (as numpy's argmax).
    #[inline]
    pub fn of_class(classes: &'a [String], probabilities: &'a [f32]) -> Self {
        let mut best = 0;
        for (i, p) in probabilities.iter().enumerate() {
            if *p > probabilities[best] {
                best = i;
            }
        }
        Prediction::Classification(ClassPrediction {
            label: Cow::Borrowed(classes.get(best).map_or("", String::as_str)),
            class_index: best,
            probabilities: Probabilities::borrowed(classes, probabilities),
        })
    }
}

// Written by hand rather than derived: serde's `untagged` and `flatten`
// go through intermediate serializers, which a 10,000-row batch pays for on
// every row. The derived `Deserialize` reads exactly what these write (a
// test round-trips them).
impl Prediction<'_> {
    /// Writes the answer's fields into an open map.
    #[inline]
    fn write_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Classification(c) => {
                map.serialize_entry("label", &*c.label)?;
                map.serialize_entry("class_index", &c.class_index)?;
                map.serialize_entry("probabilities", &c.probabilities)
            }
            Self::Regression(r) => {
                map.serialize_entry("value", &r.value)?;
                match &r.unit {
                    Some(unit) => map.serialize_entry("unit", unit),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Serialize for Prediction<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_fields(&mut map)?;
        map.end()
    }
}

impl Serialize for PredictResponse<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("model", &self.model)?;
        map.serialize_entry("model_version", &self.model_version)?;
        self.prediction.write_fields(&mut map)?;
        map.end()
    }
}

/// `{"class name": probability, …}` in the card's class order: on the wire
/// a JSON object, in memory two parallel lists that may borrow the card's
/// class names and the model's output row.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities<'a> {
    classes: Cow<'a, [String]>,
    values: Cow<'a, [f32]>,
}

impl<'a> Probabilities<'a> {
    /// Pairs `classes` with `values` (the shorter list sets the length).
    #[inline]
    pub fn new(classes: impl Into<Cow<'a, [String]>>, values: impl Into<Cow<'a, [f32]>>) -> Self {
        let (classes, values) = (classes.into(), values.into());
        if classes.len() == values.len() {
            return Self { classes, values };
        }
        let n = classes.len().min(values.len());
        let classes = match classes {
            Cow::Borrowed(c) => Cow::Borrowed(&c[..n]),
            Cow::Owned(mut c) => {
                c.truncate(n);
                Cow::Owned(c)
            }
        };
        let values = match values {
            Cow::Borrowed(v) => Cow::Borrowed(&v[..n]),
            Cow::Owned(mut v) => {
                v.truncate(n);
                Cow::Owned(v)
            }
        };
        Self { classes, values }
    }

    /// Borrows both lists, which must be as long as each other.
    #[inline]
    pub fn borrowed(classes: &'a [String], values: &'a [f32]) -> Self {
        debug_assert_eq!(classes.len(), values.len());
        Self { classes: Cow::Borrowed(classes), values: Cow::Borrowed(values) }
    }

    /// `(class, probability)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> + '_ {
        self.classes.iter().map(String::as_str).zip(self.values.iter().copied())
    }

    /// The probability of `class`.
    pub fn get(&self, class: &str) -> Option<f32> {
        self.iter().find(|(c, _)| *c == class).map(|(_, p)| p)
    }

    /// The class names, in order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The probabilities, in class order.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// How many classes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl Serialize for Probabilities<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (classes, values): (&[String], &[f32]) = (&self.classes, &self.values);
        let mut map = serializer.serialize_map(Some(values.len()))?;
        for (class, p) in classes.iter().zip(values) {
            map.serialize_entry(class.as_str(), p)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Probabilities<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = Probabilities<'static>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of class name → probability")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut classes, mut values) = (Vec::new(), Vec::new());
                while let Some((class, p)) = map.next_entry::<String, f32>()? {
                    classes.push(class);
                    values.push(p);
                }
                Ok(Probabilities { classes: Cow::Owned(classes), values: Cow::Owned(values) })
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
    use utoipa::openapi::{RefOr, schema};

    use super::Probabilities;

    impl utoipa::PartialSchema for Probabilities<'_> {
        fn schema() -> RefOr<Schema> {
            let probability =
                ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0.0)).maximum(Some(1.0));
            ObjectBuilder::new()
                .schema_type(schema::SchemaType::new(Type::Object))
                .description(Some(
                    "Every class's probability, keyed by class name, in the card's class order",
                ))
                .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(
                    probability.build(),
                )))))
                .into()
        }
    }

    impl utoipa::ToSchema for Probabilities<'_> {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classification_response_flattens_into_the_peer_shape() {
        let body = r#"{"model":"iris","model_version":"1.0.0","label":"setosa","class_index":0,"probabilities":{"setosa":0.9,"versicolor":0.1,"virginica":0.0}}"#;
        let parsed: PredictResponse<'_> = serde_json::from_str(body).expect("valid response");
        let Prediction::Classification(c) = &parsed.prediction else {
            panic!("expected a classification, got {parsed:?}");
        };
        assert_eq!(c.label, "setosa");
        assert_eq!(c.probabilities.classes(), ["setosa", "versicolor", "virginica"]);
        assert_eq!(serde_json::to_string(&parsed).expect("serializable"), body);
    }

    #[test]
    fn a_borrowed_answer_writes_the_same_bytes_as_an_owned_one() {
        let classes = ["a".to_owned(), "b".to_owned()];
        let row = [0.25f32, 0.75];
        let borrowed = PredictResponse {
            model: Cow::Borrowed("m"),
            model_version: Cow::Borrowed("1"),
            prediction: Prediction::Classification(ClassPrediction {
                label: Cow::Borrowed(&classes[1]),
                class_index: 1,
                probabilities: Probabilities::new(&classes[..], &row[..]),
            }),
        };

        let text = serde_json::to_string(&borrowed).expect("serializable");
        let owned: PredictResponse<'static> = serde_json::from_str(&text).expect("parses");

        assert_eq!(owned, borrowed);
        assert_eq!(
            text,
            r#"{"model":"m","model_version":"1","label":"b","class_index":1,"probabilities":{"a":0.25,"b":0.75}}"#
        );
    }

    #[test]
    fn a_batch_of_both_kinds_round_trips_through_the_hand_written_serializers() {
        let classes = ["a".to_owned(), "b".to_owned()];
        let batch = BatchPredictResponse {
            model: Cow::Borrowed("m"),
            model_version: Cow::Borrowed("1"),
            predictions: Predictions::list(vec![
                Prediction::Regression(RegressionPrediction { value: 1.5, unit: None }),
                Prediction::Classification(ClassPrediction {
                    label: Cow::Borrowed("a"),
                    class_index: 0,
                    probabilities: Probabilities::new(&classes[..], &[0.5f32, 0.5][..]),
                }),
            ]),
        };

        let text = serde_json::to_string(&batch).expect("serializable");
        let back: BatchPredictResponse<'static> = serde_json::from_str(&text).expect("parses");

        assert_eq!(back, batch);
        assert!(text.contains(r#"{"value":1.5}"#), "{text}");
    }

    #[test]
    fn answers_written_from_an_output_read_back_as_the_same_list() {
        let classes = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let probabilities = [0.2f32, 0.4, 0.4, 0.9, 0.05, 0.05];
        let lazy = Predictions::of_classes(&classes, &probabilities);

        let text = serde_json::to_string(&lazy).expect("serializable");
        let read: Predictions<'static> = serde_json::from_str(&text).expect("parses");

        assert_eq!(read.len(), 2);
        assert_eq!(read.iter().collect::<Vec<_>>(), lazy.iter().collect::<Vec<_>>());
        let labels: Vec<usize> = read
            .iter()
            .map(|p| match p {
                Prediction::Classification(c) => c.class_index,
                Prediction::Regression(_) => usize::MAX,
            })
            .collect();
        assert_eq!(labels, [1, 0], "ties go to the first class");
    }

    #[test]
    fn a_regression_response_round_trips() {
        let body = r#"{"model":"diabetes","model_version":"1.0.0","value":151.5,"unit":"points"}"#;
        let parsed: PredictResponse<'_> = serde_json::from_str(body).expect("valid response");
        assert!(matches!(parsed.prediction, Prediction::Regression(ref r) if r.value == 151.5));
        assert_eq!(serde_json::to_string(&parsed).expect("serializable"), body);
    }
}
