//! What-if sweeps: the explained output of a row as one feature takes each
//! value of a grid (its card range, else the background's, in
//! [`POINTS`] steps; each choice or category), every other feature held at
//! the row's value. All features' grids run as one batch.

use anyhow::Result;
use api_types::FeatureSpec;

use super::Explainer;
use crate::input::{Category, FeatureSchema, Rows};
use crate::model::Graph;

/// Points of a numeric feature's sweep.
pub const POINTS: usize = 25;

/// A value a feature is swept through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Swept {
    /// A number.
    Number(f64),
    /// A category, by its position in the card.
    Category(u32),
}

/// The grid of feature `col`: numbers ascending, or categories in card order.
fn grid(spec: &FeatureSpec, schema: &FeatureSchema, col: usize, background: &Rows) -> Vec<Swept> {
    if schema.is_categorical(col) {
        return (0..schema.categories(col).len() as u32).map(Swept::Category).collect();
    }
    if let Some(choices) = &spec.choices {
        return choices.iter().map(|c| Swept::Number(c.value)).collect();
    }
    let seen = (0..background.len()).map(|r| background.number(r, col)).filter(|x| x.is_finite());
    let (lo, hi) = seen
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(f64::from(x)), hi.max(f64::from(x))));
    let (lo, hi) = (spec.min.unwrap_or(lo), spec.max.unwrap_or(hi));
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return Vec::new();
    }
    let mut points: Vec<f64> = (0..POINTS)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / (POINTS - 1) as f64;
            // Snap to the card's step, inside the range: a form offers only those.
            let x = match spec.step {
                Some(step) if step > 0.0 => (lo + ((x - lo) / step).round() * step).min(hi),
                _ => x,
            };
            // Rounded to 6 significant digits: a grid, not a measurement.
            let digits = 5 - x.abs().log10().floor().clamp(-300.0, 300.0) as i32;
            if x == 0.0 { 0.0 } else { (x * 10f64.powi(digits)).round() / 10f64.powi(digits) }
        })
        .collect();
    points.dedup();
    points.into_iter().map(Swept::Number).collect()
}

/// For each of `features` (card columns), its grid and the output at each
/// point, for the one row of `row` and `class`.
pub fn what_if(
    explainer: &Explainer,
    graph: &Graph,
    schema: &FeatureSchema,
    specs: &[FeatureSpec],
    row: &Rows,
    class: Option<usize>,
    features: &[usize],
) -> Result<Vec<Vec<(Swept, f64)>>> {
    let grids: Vec<Vec<Swept>> =
        features.iter().map(|&col| grid(&specs[col], schema, col, &explainer.background)).collect();
    let total: usize = grids.iter().map(Vec::len).sum();
    if total == 0 {
        return Ok(grids.iter().map(|_| Vec::new()).collect());
    }
    let copies = vec![(0, 0); total];
    let mut rows = Rows::blend(row, row, &copies, |_, _| true);
    let mut r = 0;
    for (grid, &col) in grids.iter().zip(features) {
        for value in grid {
            match *value {
                Swept::Number(x) => rows.put_number(r, col, x as f32),
                Swept::Category(i) => rows.put_category(r, col, Category::Known(i)),
            }
            r += 1;
        }
    }
    let outputs = explainer.outputs(graph, rows, class)?;
    let mut outputs = outputs.into_iter();
    Ok(grids.into_iter().map(|grid| grid.into_iter().zip(outputs.by_ref()).collect()).collect())
}
