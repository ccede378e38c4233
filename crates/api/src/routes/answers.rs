//! Prediction responses written straight from the output tensor: the same
//! JSON as `api_types::PredictResponse` and `BatchPredictResponse`, without
//! building those owned values first (a 1,000-row batch would clone every
//! class name a thousand times). A test checks the two agree.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use crate::model::{LoadedModel, ModelOutput};

/// One row's answer, borrowed from the card and the output.
enum Row<'a> {
    Class { classes: &'a [String], probabilities: &'a [f32] },
    Value { value: f32, unit: Option<&'a str> },
}

impl Row<'_> {
    /// Writes the row's fields into an open map.
    fn write_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Class { classes, probabilities } => {
                let index = argmax(probabilities);
                map.serialize_entry("label", &classes[index])?;
                map.serialize_entry("class_index", &index)?;
                map.serialize_entry("probabilities", &Probabilities { classes, probabilities })
            }
            Self::Value { value, unit } => {
                map.serialize_entry("value", value)?;
                match unit {
                    Some(unit) => map.serialize_entry("unit", unit),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_fields(&mut map)?;
        map.end()
    }
}

/// `{"class name": probability, ...}` in the card's class order.
struct Probabilities<'a> {
    classes: &'a [String],
    probabilities: &'a [f32],
}

impl Serialize for Probabilities<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.classes.len()))?;
        for (class, p) in self.classes.iter().zip(self.probabilities) {
            map.serialize_entry(class, p)?;
        }
        map.end()
    }
}

/// The rows of an output.
fn rows<'a>(model: &'a LoadedModel, output: &'a ModelOutput) -> impl Iterator<Item = Row<'a>> + 'a {
    let card = model.card();
    let unit = card.output.as_ref().map(|o| o.unit.as_str()).filter(|u| !u.is_empty());
    let (class_rows, value_rows) = match output {
        ModelOutput::Probabilities { data, classes } => (Some(data.chunks_exact(*classes)), None),
        ModelOutput::Values(values) => (None, Some(values.iter())),
    };
    let classes = card.classes.as_slice();
    class_rows
        .into_iter()
        .flatten()
        .map(move |probabilities| Row::Class { classes, probabilities })
        .chain(value_rows.into_iter().flatten().map(move |&value| Row::Value { value, unit }))
}

/// The body of `POST /predict`: model, version and the one row's fields, flat.
#[derive(Debug)]
pub struct SingleAnswer<'a> {
    model: &'a LoadedModel,
    output: &'a ModelOutput,
}

impl<'a> SingleAnswer<'a> {
    /// The answer for a one-row output.
    pub fn new(model: &'a LoadedModel, output: &'a ModelOutput) -> Self {
        Self { model, output }
    }
}

impl Serialize for SingleAnswer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let card = self.model.card();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("model", &card.name)?;
        map.serialize_entry("model_version", &card.version)?;
        if let Some(row) = rows(self.model, self.output).next() {
            row.write_fields(&mut map)?;
        }
        map.end()
    }
}

/// The body of `POST /predict/batch`: model, version and one answer per row.
#[derive(Debug)]
pub struct BatchAnswer<'a> {
    model: &'a LoadedModel,
    output: &'a ModelOutput,
}

impl<'a> BatchAnswer<'a> {
    /// The answers for an output of any number of rows.
    pub fn new(model: &'a LoadedModel, output: &'a ModelOutput) -> Self {
        Self { model, output }
    }
}

struct RowList<'a>(&'a BatchAnswer<'a>);

impl Serialize for RowList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for row in rows(self.0.model, self.0.output) {
            seq.serialize_element(&row)?;
        }
        seq.end()
    }
}

impl Serialize for BatchAnswer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let card = self.model.card();
        let mut body = serializer.serialize_struct("BatchPredictResponse", 3)?;
        body.serialize_field("model", &card.name)?;
        body.serialize_field("model_version", &card.version)?;
        body.serialize_field("predictions", &RowList(self))?;
        body.end()
    }
}

/// The index of the largest value; the first one on a tie, as numpy's argmax.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use api_types::{BatchPredictResponse, PredictResponse, Prediction};

    use super::*;
    use crate::model::Registry;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[0.9, 0.05, 0.05]), 0);
    }

    #[test]
    fn the_written_json_is_what_api_types_describe() {
        let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models");
        let registry = Registry::load(&models, "iris").expect("models load");
        for (name, output) in [
            ("iris", ModelOutput::Probabilities { data: vec![0.1, 0.7, 0.2, 0.5, 0.25, 0.25], classes: 3 }),
            ("diabetes", ModelOutput::Values(vec![151.5, 80.25])),
        ] {
            let model = registry.get(name).expect("model");
            let batch: BatchPredictResponse =
                serde_json::from_slice(&serde_json::to_vec(&BatchAnswer::new(model, &output)).expect("json"))
                    .expect("parses");
            assert_eq!(batch.predictions.len(), 2);
            let single: PredictResponse = serde_json::from_slice(
                &serde_json::to_vec(&SingleAnswer::new(model, &output)).expect("json"),
            )
            .expect("parses");
            assert_eq!(single.model, name);
            match (&single.prediction, &batch.predictions[1]) {
                (Prediction::Classification(first), Prediction::Classification(second)) => {
                    assert_eq!((first.label.as_str(), first.class_index), ("versicolor", 1));
                    assert_eq!(
                        first.probabilities.keys().collect::<Vec<_>>(),
                        ["setosa", "versicolor", "virginica"]
                    );
                    assert_eq!(second.class_index, 0, "ties go to the first class");
                }
                (Prediction::Regression(first), Prediction::Regression(second)) => {
                    assert_eq!((first.value, first.unit.as_deref()), (151.5, Some("points")));
                    assert_eq!(second.value, 80.25);
                }
                other => panic!("mismatched kinds: {other:?}"),
            }
        }
    }
}
