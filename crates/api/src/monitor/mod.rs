//! Drift monitoring: is the model still seeing the data it was trained on?
//! A model shipping `reference.json` gets live counters in the same bins;
//! every predicted row is counted (values are never kept), and the drift
//! of each feature and of the predictions is read from the counts.

mod drift;
mod live;
mod reference;

use std::path::Path;

use anyhow::{Context, Result};
use api_types::{ModelCard, Monitoring};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use live::Live;
use reference::{FeatureProfile, PredictionProfile, Reference};

use crate::input::Rows;
use crate::metrics::label_value;
use crate::model::ModelOutput;

/// Which counts a drift report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last hour.
    LastHour,
    /// Since this version of the model loaded.
    SinceStart,
}

impl Window {
    /// Its name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastHour => "last_hour",
            Self::SinceStart => "since_start",
        }
    }
}

/// A model's reference profile and its live counters.
#[derive(Debug)]
pub struct Monitor {
    reference: Reference,
    live: Live,
    names: Vec<String>,
}

impl Monitor {
    /// Reads `path` and checks it against `card`.
    pub fn load(path: &Path, card: &ModelCard) -> Result<Self> {
        let text = std::fs::read_to_string(path).context("cannot read it")?;
        let reference = reference::parse(&text, card)?;
        let live = Live::new(&reference);
        Ok(Self { names: card.features.iter().map(|f| f.name.clone()).collect(), reference, live })
    }

    /// Counts `rows` before the model takes them; [`Monitor::commit`] adds
    /// the answers and counts them all once the prediction succeeded.
    pub fn tally(&self, rows: &Rows) -> Tally {
        Tally(self.live.tally(&self.reference, rows))
    }

    /// Counts a tally and what the model answered for its rows.
    pub fn commit(&self, tally: Tally, output: &ModelOutput) {
        self.live.commit(&self.reference, tally.0, output);
    }

    /// How many counters this model holds: fixed when it loads.
    pub fn counter_count(&self) -> usize {
        self.live.counter_count()
    }

    /// The drift report over `window`.
    pub fn report(&self, card: &ModelCard, window: Window) -> Monitoring {
        let (counts, seconds) = match window {
            Window::LastHour => self.live.last_hour(),
            Window::SinceStart => self.live.since_start(),
        };
        let (rows, features, prediction) =
            drift::figures(&self.reference, self.live.layout(), &self.names, &counts);
        Monitoring {
            model: card.name.clone(),
            model_version: card.version.clone(),
            window: window.as_str().to_owned(),
            window_seconds: seconds,
            rows,
            reference_rows: self.reference.rows,
            features,
            prediction,
        }
    }

    /// The counters since load and the reference shares, as OpenMetrics
    /// samples of `model_input_bin`, `model_input_bin_reference_share`,
    /// `model_prediction_bin` and `model_prediction_bin_reference_share`.
    /// Bins are labelled as [`Monitor::report`] labels them.
    pub fn write_metrics(&self, model: &str, out: &mut Samples) {
        let (counts, _) = self.live.since_start();
        let layout = self.live.layout();
        for ((profile, &(at, _)), feature) in
            self.reference.features.iter().zip(&layout.features).zip(&self.names)
        {
            let (labels, shares): (Vec<String>, &[f64]) = match profile {
                FeatureProfile::Numeric { bins, shares } => {
                    let mut l: Vec<String> = (0..bins.len()).map(|k| bins.label(k)).collect();
                    l.push("missing".to_owned());
                    (l, shares)
                }
                FeatureProfile::Categorical { categories, shares } => {
                    let mut l = categories.clone();
                    l.extend(["other".to_owned(), "missing".to_owned()]);
                    (l, shares)
                }
            };
            for (k, (label, share)) in labels.iter().zip(shares).enumerate() {
                let labels = [("model", model), ("feature", feature.as_str()), ("bin", label.as_str())]
                    .map(|(k, v)| (k, label_value(v)))
                    .to_vec();
                out.input.push((labels.clone(), counts[at + k]));
                out.input_reference.push((labels, *share));
            }
        }
        let (at, _) = layout.prediction;
        let (labels, shares): (Vec<String>, &[f64]) = match &self.reference.prediction {
            PredictionProfile::Classes { classes, shares } => (classes.clone(), shares),
            PredictionProfile::Value { bins, shares } => {
                ((0..bins.len()).map(|k| bins.label(k)).collect(), shares)
            }
        };
        for (k, (label, share)) in labels.iter().zip(shares).enumerate() {
            let labels = vec![("model", label_value(model)), ("bin", label_value(label))];
            out.prediction.push((labels.clone(), counts[at + k]));
            out.prediction_reference.push((labels, *share));
        }
    }
}

/// Rows counted, not yet added to the counters.
#[derive(Debug)]
pub struct Tally(Vec<u64>);

/// Samples of the drift metric families, gathered over every model.
#[derive(Debug, Default)]
pub struct Samples {
    input: Vec<(Labels, u64)>,
    input_reference: Vec<(Labels, f64)>,
    prediction: Vec<(Labels, u64)>,
    prediction_reference: Vec<(Labels, f64)>,
}

impl Samples {
    /// The four families, for a metrics collector.
    pub fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        counters(
            &mut encoder,
            "model_input_bin",
            "Rows predicted since the model loaded, by feature and reference bin",
            &self.input,
        )?;
        shares(
            &mut encoder,
            "model_input_bin_reference_share",
            "Share of the training rows in each bin, by feature",
            &self.input_reference,
        )?;
        counters(
            &mut encoder,
            "model_prediction_bin",
            "Predictions since the model loaded, by class or value bin",
            &self.prediction,
        )?;
        shares(
            &mut encoder,
            "model_prediction_bin_reference_share",
            "Share of the training predictions in each class or value bin",
            &self.prediction_reference,
        )
    }
}

type Labels = Vec<(&'static str, String)>;

fn counters(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        ConstCounter::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

fn shares(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, f64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}
