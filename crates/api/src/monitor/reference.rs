//! `reference.json`: how the training rows were distributed, feature by
//! feature and in the model's predictions, as the training script wrote it;
//! read strictly and checked against the card it ships with.

use anyhow::{Context, Result, bail, ensure};
use api_types::{ModelCard, Task};
use serde::Deserialize;

/// How far the shares of one distribution may sum from 1 (they are rounded).
const SUM_TOLERANCE: f64 = 1e-3;
/// The most bins a numeric profile may have.
const MAX_EDGES: usize = 64;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    model: String,
    #[serde(default)]
    #[allow(dead_code, reason = "read for the format's sake; the card names the model")]
    source: String,
    rows: u64,
    features: Vec<FileFeature>,
    prediction: FilePrediction,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FileFeature {
    Numeric { name: String, edges: Vec<f64>, shares: Vec<f64>, missing: f64, min: f64, max: f64 },
    Categorical { name: String, categories: Vec<String>, shares: Vec<f64>, other: f64, missing: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FilePrediction {
    Classes { classes: Vec<String>, shares: Vec<f64> },
    Value { edges: Vec<f64>, shares: Vec<f64>, min: f64, max: f64 },
}

/// Numbers cut into bins at edges: bin `k` holds `edges[k-1] <= v < edges[k]`.
///
/// Edges and values are compared as the float32 the model sees, so a value
/// equal to an edge in the training data falls on the same side here.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bins {
    /// Ascending cut points.
    pub(super) edges: Vec<f32>,
    /// The smallest and largest value seen in training.
    pub(super) range: (f32, f32),
}

impl Bins {
    /// The bin of `v`.
    pub(super) fn of(&self, v: f32) -> usize {
        // A branch-free count beats a binary search over a dozen edges.
        self.edges.iter().map(|&e| usize::from(e <= v)).sum()
    }

    /// Whether `v` is outside the training range.
    pub(super) fn outside(&self, v: f32) -> bool {
        v < self.range.0 || v > self.range.1
    }

    /// How many bins.
    pub(super) fn len(&self) -> usize {
        self.edges.len() + 1
    }

    /// A person's name for bin `k`.
    pub(super) fn label(&self, k: usize) -> String {
        let show = |e: f32| format!("{}", f64::from(e) as f32);
        match (k.checked_sub(1).map(|i| self.edges[i]), self.edges.get(k)) {
            (None, Some(hi)) => format!("< {}", show(*hi)),
            (Some(lo), Some(hi)) => format!("{} – {}", show(lo), show(*hi)),
            (Some(lo), None) => format!("≥ {}", show(lo)),
            (None, None) => "any".to_owned(),
        }
    }
}

/// One feature's training distribution.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FeatureProfile {
    /// Binned numbers: shares per bin, then missing.
    Numeric {
        /// The bins.
        bins: Bins,
        /// Share of training rows per bin, then the missing share.
        shares: Vec<f64>,
    },
    /// Categories: shares per card category, then other, then missing.
    Categorical {
        /// The card's categories.
        categories: Vec<String>,
        /// Share of training rows per category, then other, then missing.
        shares: Vec<f64>,
    },
}

/// The training predictions' distribution.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PredictionProfile {
    /// Share of training rows predicted as each class.
    Classes {
        /// The card's classes.
        classes: Vec<String>,
        /// Shares, one per class.
        shares: Vec<f64>,
    },
    /// Binned values.
    Value {
        /// The bins.
        bins: Bins,
        /// Shares, one per bin.
        shares: Vec<f64>,
    },
}

/// A model's reference profile, checked against its card.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reference {
    /// Training rows it was made from.
    pub(super) rows: u64,
    /// One per card feature, in card order.
    pub(super) features: Vec<FeatureProfile>,
    /// The predictions.
    pub(super) prediction: PredictionProfile,
}

/// Parses `text` and checks it against `card`: the same model, every card
/// feature in order with its kind and categories, the classes, shares that
/// are distributions, edges that ascend.
pub(super) fn parse(text: &str, card: &ModelCard) -> Result<Reference> {
    let file: File = serde_json::from_str(text).context("not a reference profile")?;
    ensure!(file.model == card.name, "it profiles model {:?}, not {:?}", file.model, card.name);
    ensure!(file.rows > 0, "it was made from no rows");
    let names: Vec<&str> = file
        .features
        .iter()
        .map(|f| match f {
            FileFeature::Numeric { name, .. } | FileFeature::Categorical { name, .. } => name.as_str(),
        })
        .collect();
    let card_names: Vec<&str> = card.features.iter().map(|f| f.name.as_str()).collect();
    ensure!(names == card_names, "it profiles features {names:?}; the card's are {card_names:?}");
    let mut features = Vec::with_capacity(file.features.len());
    for (feature, spec) in file.features.into_iter().zip(&card.features) {
        let profile = match feature {
            FileFeature::Numeric { name, edges, mut shares, missing, min, max } => {
                ensure!(!spec.is_categorical(), "feature {name:?} is text in the card but numeric here");
                let bins = bins(&name, &edges, min, max)?;
                ensure!(
                    shares.len() == bins.len(),
                    "feature {name:?}: {} shares for {} bins",
                    shares.len(),
                    bins.len()
                );
                shares.push(missing);
                distribution(&name, &shares)?;
                FeatureProfile::Numeric { bins, shares }
            }
            FileFeature::Categorical { name, categories, mut shares, other, missing } => {
                ensure!(
                    spec.categories.as_ref() == Some(&categories),
                    "feature {name:?}: its categories {categories:?} are not the card's {:?}",
                    spec.categories
                );
                ensure!(
                    shares.len() == categories.len(),
                    "feature {name:?}: {} shares for {} categories",
                    shares.len(),
                    categories.len()
                );
                shares.extend([other, missing]);
                distribution(&name, &shares)?;
                FeatureProfile::Categorical { categories, shares }
            }
        };
        features.push(profile);
    }
    let prediction = match (file.prediction, card.task) {
        (FilePrediction::Classes { classes, shares }, Task::Classification) => {
            ensure!(classes == card.classes, "its classes {classes:?} are not the card's {:?}", card.classes);
            ensure!(shares.len() == classes.len(), "{} shares for {} classes", shares.len(), classes.len());
            distribution("the predictions", &shares)?;
            PredictionProfile::Classes { classes, shares }
        }
        (FilePrediction::Value { edges, shares, min, max }, Task::Regression) => {
            let bins = bins("the predictions", &edges, min, max)?;
            ensure!(
                shares.len() == bins.len(),
                "the predictions: {} shares for {} bins",
                shares.len(),
                bins.len()
            );
            distribution("the predictions", &shares)?;
            PredictionProfile::Value { bins, shares }
        }
        _ => bail!("its predictions are not of the card's task"),
    };
    Ok(Reference { rows: file.rows, features, prediction })
}

fn bins(name: &str, edges: &[f64], min: f64, max: f64) -> Result<Bins> {
    ensure!(edges.len() <= MAX_EDGES, "{name}: {} edges; at most {MAX_EDGES}", edges.len());
    ensure!(
        edges.iter().chain([&min, &max]).all(|e| e.is_finite()) && min <= max,
        "{name}: edges and range must be finite numbers, min <= max"
    );
    let edges: Vec<f32> = edges.iter().map(|&e| e as f32).collect();
    ensure!(edges.windows(2).all(|w| w[0] < w[1]), "{name}: edges must ascend, each once");
    Ok(Bins { edges, range: (min as f32, max as f32) })
}

fn distribution(name: &str, shares: &[f64]) -> Result<()> {
    ensure!(
        shares.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s)),
        "{name}: shares must be numbers from 0 to 1"
    );
    let sum: f64 = shares.iter().sum();
    ensure!((sum - 1.0).abs() <= SUM_TOLERANCE, "{name}: shares sum to {sum}, not 1");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_an_edge_goes_up_as_numpy_searchsorted_right_puts_it() {
        let bins = Bins { edges: vec![1.0, 2.0, 3.0], range: (0.0, 4.0) };

        let got: Vec<usize> = [0.5, 1.0, 1.5, 2.0, 3.0, 9.0].iter().map(|&v| bins.of(v)).collect();

        assert_eq!(got, [0, 1, 1, 2, 3, 3]);
        assert_eq!(bins.label(0), "< 1");
        assert_eq!(bins.label(1), "1 – 2");
        assert_eq!(bins.label(3), "≥ 3");
        assert!(bins.outside(4.5) && bins.outside(-0.1) && !bins.outside(4.0));
    }
}
