//! Drift monitoring: how the rows a model has been predicting compare with
//! the rows it was trained on, feature by feature and for its predictions.

use serde::{Deserialize, Serialize};

/// What a population stability index says, in the usual reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DriftReading {
    /// PSI under 0.1: the live rows look like the training rows.
    Stable,
    /// PSI from 0.1 to 0.25: worth a look.
    Moderate,
    /// PSI over 0.25: the model is seeing different data than it learned from.
    Significant,
    /// No rows in the window yet.
    NoData,
}

impl DriftReading {
    /// The reading of `psi` (`None`: no rows yet).
    pub fn of(psi: Option<f64>) -> Self {
        match psi {
            None => Self::NoData,
            Some(p) if p < 0.1 => Self::Stable,
            Some(p) if p <= 0.25 => Self::Moderate,
            Some(_) => Self::Significant,
        }
    }
}

/// One bin of a distribution: its share of the training rows and of the live ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BinShare {
    /// What falls in it: a range (`4.8 – 5.0`), a category, `missing` or `other`.
    pub label: String,
    /// Share of the training rows.
    pub reference: f64,
    /// Share of the rows in the window (0 when there are none).
    pub live: f64,
}

/// One feature's drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureDrift {
    /// The feature.
    pub feature: String,
    /// Population stability index of the live rows against the training rows
    /// (`null` until rows arrive).
    pub psi: Option<f64>,
    /// What the PSI says.
    pub reading: DriftReading,
    /// Share of live rows where the feature was missing.
    pub missing_share: f64,
    /// Share of live rows outside what training saw: a number below its
    /// smallest or above its largest training value, a category it never saw.
    pub out_of_range_share: f64,
    /// The distribution, bin by bin.
    pub bins: Vec<BinShare>,
}

/// The predictions' drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionDrift {
    /// Population stability index against the training predictions.
    pub psi: Option<f64>,
    /// What the PSI says.
    pub reading: DriftReading,
    /// For a regressor: share of live predictions outside the training predictions' range.
    pub out_of_range_share: f64,
    /// Classes, or value bins.
    pub bins: Vec<BinShare>,
}

/// `GET /models/{name}/monitoring`: drift over a window, features sorted by PSI, largest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Monitoring {
    /// The model.
    pub model: String,
    /// Its version (counting starts again when a new version loads).
    pub model_version: String,
    /// `last_hour` or `since_start` (since this version was loaded).
    pub window: String,
    /// How many seconds the window covers so far.
    pub window_seconds: u64,
    /// Rows predicted in the window.
    pub rows: u64,
    /// Rows the reference profile was made from.
    pub reference_rows: u64,
    /// Every feature, most drifted first.
    pub features: Vec<FeatureDrift>,
    /// The predictions.
    pub prediction: PredictionDrift,
}
