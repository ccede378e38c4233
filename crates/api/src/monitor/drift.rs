//! Drift figures from counts: each distribution's live shares against the
//! reference, and the population stability index between them.

use api_types::{BinShare, DriftReading, FeatureDrift, PredictionDrift};

use super::live::Layout;
use super::reference::{FeatureProfile, PredictionProfile, Reference};

/// Shares are floored here before the logarithm, so an empty bin on either
/// side weighs a lot but stays finite (the usual convention).
const FLOOR: f64 = 1e-4;

/// Population stability index of `live` against `reference` (same bins):
/// Σ (live − ref) · ln(live / ref).
pub(super) fn psi(reference: &[f64], live: &[f64]) -> f64 {
    reference
        .iter()
        .zip(live)
        .map(|(&r, &l)| {
            let (r, l) = (r.max(FLOOR), l.max(FLOOR));
            (l - r) * (l / r).ln()
        })
        .sum()
}

fn shares(counts: &[u64], rows: u64) -> Vec<f64> {
    counts.iter().map(|&c| if rows == 0 { 0.0 } else { c as f64 / rows as f64 }).collect()
}

fn share(count: u64, rows: u64) -> f64 {
    if rows == 0 { 0.0 } else { count as f64 / rows as f64 }
}

/// Every feature's drift, most drifted first, and the predictions'.
pub(super) fn figures(
    reference: &Reference,
    layout: &Layout,
    names: &[String],
    counts: &[u64],
) -> (u64, Vec<FeatureDrift>, PredictionDrift) {
    let rows = counts[layout.rows()];
    let mut features: Vec<FeatureDrift> = reference
        .features
        .iter()
        .zip(&layout.features)
        .zip(names)
        .map(|((profile, &(at, n)), name)| {
            let c = &counts[at..at + n];
            let (labels, ref_shares, live_counts, missing, out_of_range): (
                Vec<String>,
                &[f64],
                Vec<u64>,
                u64,
                u64,
            ) = match profile {
                FeatureProfile::Numeric { bins, shares } => {
                    let mut labels: Vec<String> = (0..bins.len()).map(|k| bins.label(k)).collect();
                    labels.push("missing".to_owned());
                    // Bins and missing; the out-of-range count is apart.
                    (labels, shares, c[..=bins.len()].to_vec(), c[bins.len()], c[bins.len() + 1])
                }
                FeatureProfile::Categorical { categories, shares } => {
                    let mut labels = categories.clone();
                    labels.extend(["other".to_owned(), "missing".to_owned()]);
                    (labels, shares, c.to_vec(), c[categories.len() + 1], c[categories.len()])
                }
            };
            let live = shares(&live_counts, rows);
            let psi = (rows > 0).then(|| psi(ref_shares, &live));
            FeatureDrift {
                feature: name.clone(),
                psi,
                reading: DriftReading::of(psi),
                missing_share: share(missing, rows),
                out_of_range_share: share(out_of_range, rows),
                bins: bins(labels, ref_shares, &live),
            }
        })
        .collect();
    features.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));

    let (at, n) = layout.prediction;
    let c = &counts[at..at + n];
    let (labels, ref_shares, live_counts, outside) = match &reference.prediction {
        PredictionProfile::Classes { classes, shares } => (classes.clone(), shares, c.to_vec(), 0),
        PredictionProfile::Value { bins, shares } => (
            (0..bins.len()).map(|k| bins.label(k)).collect(),
            shares,
            c[..bins.len()].to_vec(),
            c[bins.len()],
        ),
    };
    let predicted: u64 = live_counts.iter().sum();
    let live = shares(&live_counts, predicted);
    let psi = (predicted > 0).then(|| psi(ref_shares, &live));
    let prediction = PredictionDrift {
        psi,
        reading: DriftReading::of(psi),
        out_of_range_share: share(outside, predicted),
        bins: bins(labels, ref_shares, &live),
    };
    (rows, features, prediction)
}

fn bins(labels: Vec<String>, reference: &[f64], live: &[f64]) -> Vec<BinShare> {
    labels
        .into_iter()
        .zip(reference.iter().zip(live))
        .map(|(label, (&reference, &live))| BinShare { label, reference, live })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::psi;

    #[test]
    fn the_same_distribution_has_no_drift_and_a_shift_has_a_lot() {
        let reference = [0.25, 0.25, 0.25, 0.25];

        assert!(psi(&reference, &reference).abs() < 1e-12);
        let shifted = psi(&reference, &[0.0, 0.1, 0.4, 0.5]);
        // (0.0001-0.25)ln(0.0004) + (0.1-0.25)ln(0.4) + (0.4-0.25)ln(1.6) + (0.5-0.25)ln(2)
        let by_hand = (0.0001_f64 - 0.25) * (0.0004_f64).ln()
            + (0.1_f64 - 0.25) * (0.4_f64).ln()
            + (0.4_f64 - 0.25) * (1.6_f64).ln()
            + (0.5_f64 - 0.25) * 2_f64.ln();
        assert!((shifted - by_hand).abs() < 1e-12, "{shifted} vs {by_hand}");
        assert!(shifted > 0.25);
    }
}
