//! Exact Shapley values over coalitions of features, for graphs with no
//! single head: the value of a coalition `S` is the model's output averaged
//! over the background rows with the features of `S` taken from the row
//! explained. Every coalition of every background row runs in one batch.

use anyhow::{Context, Result, bail};

use super::Explanation;
use crate::input::Rows;
use crate::model::{Graph, ModelOutput};

/// The most model rows one explained row may take: `2^features × background rows`.
pub const MAX_COALITION_ROWS: u64 = 1 << 18;

/// `2^features × background`, or `None` past `u64`.
pub(super) fn rows_needed(features: usize, background: usize) -> Option<u64> {
    let coalitions = 1u64.checked_shl(u32::try_from(features).ok()?)?;
    coalitions.checked_mul(background as u64)
}

/// The explained output of each row of `output`: the class's probability, or the value.
pub(super) fn read(output: &ModelOutput, class: Option<usize>) -> Result<Vec<f64>> {
    Ok(match (output, class) {
        (ModelOutput::Probabilities { data, classes }, Some(k)) if k < *classes => {
            data.chunks_exact(*classes).map(|p| f64::from(p[k])).collect()
        }
        (ModelOutput::Values(values), None) => values.iter().map(|&v| f64::from(v)).collect(),
        _ => bail!("the model's output does not match the explained class {class:?}"),
    })
}

/// Explains the one row of `row`.
pub(super) fn explain(
    graph: &Graph,
    row: &Rows,
    background: &Rows,
    class: Option<usize>,
) -> Result<Explanation> {
    let features = row.width();
    let b = background.len();
    let coalitions = 1usize << features;
    let pairs: Vec<(usize, usize)> = (0..coalitions).flat_map(|_| (0..b).map(|z| (0, z))).collect();
    let mixed = Rows::blend(row, background, &pairs, |i, col| (i / b) & (1 << col) != 0);
    let outputs = read(&graph.run(mixed)?, class)?;
    let value: Vec<f64> = outputs.chunks_exact(b).map(|o| o.iter().sum::<f64>() / b as f64).collect();
    let full = coalitions - 1;
    // weight[s] = s! (F − s − 1)! / F!, built as a ratio to stay finite.
    let weight: Vec<f64> = (0..features)
        .map(|s| {
            let mut w = 1.0 / features as f64;
            for k in 1..=s {
                w *= k as f64 / (features - k) as f64;
            }
            w
        })
        .collect();
    let mut contributions = vec![0.0; features];
    for (i, c) in contributions.iter_mut().enumerate() {
        let bit = 1usize << i;
        for s in (0..coalitions).filter(|s| s & bit == 0) {
            *c += weight[s.count_ones() as usize] * (value[s | bit] - value[s]);
        }
    }
    Ok(Explanation {
        class,
        base_value: *value.first().context("no coalitions")?,
        output: value[full],
        contributions,
    })
}
