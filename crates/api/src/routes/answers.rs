//! Prediction answers: the shared response types of `api_types`, borrowed
//! from the card and the model's output so a 10,000-row batch copies no
//! class name and no probability row.

use std::borrow::Cow;

use api_types::{BatchPredictResponse, PredictResponse, Prediction, Predictions};

use crate::model::ModelOutput;
use crate::serving::ServedModel;

/// Every row's answer, written from the output as it is.
pub(crate) fn predictions<'a>(model: &'a ServedModel, output: &'a ModelOutput) -> Predictions<'a> {
    let card = model.card();
    match output {
        ModelOutput::Probabilities { data, .. } => Predictions::of_classes(&card.classes, data),
        ModelOutput::Values(values) => {
            let unit = card.output.as_ref().map(|o| o.unit.as_str()).filter(|u| !u.is_empty());
            Predictions::of_values(values, unit)
        }
    }
}

/// The body of `POST /predict`: model, version and the one row's answer.
pub fn single<'a>(model: &'a ServedModel, output: &'a ModelOutput) -> Option<PredictResponse<'a>> {
    let card = model.card();
    let prediction = match output {
        ModelOutput::Probabilities { data, classes } => {
            Prediction::of_class(&card.classes, data.get(..*classes)?)
        }
        ModelOutput::Values(values) => {
            let unit = card.output.as_ref().map(|o| o.unit.as_str()).filter(|u| !u.is_empty());
            Prediction::Regression(api_types::RegressionPrediction {
                value: *values.first()?,
                unit: unit.map(Cow::Borrowed),
            })
        }
    };
    Some(PredictResponse {
        model: Cow::Borrowed(&card.name),
        model_version: Cow::Borrowed(&card.version),
        prediction,
    })
}

/// The body of `POST /predict/batch`: model, version and one answer per row.
pub fn batch<'a>(model: &'a ServedModel, output: &'a ModelOutput) -> BatchPredictResponse<'a> {
    let card = model.card();
    BatchPredictResponse {
        model: Cow::Borrowed(&card.name),
        model_version: Cow::Borrowed(&card.version),
        predictions: predictions(model, output),
    }
}
