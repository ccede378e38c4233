//! Which card feature each of the head's input columns comes from, found by
//! moving one feature at a time over the background rows and watching which
//! columns move (a one-hot category spreads over several columns; a scaled
//! number stays in one). Columns that move with two features (an
//! interaction term) have no single owner, and the head cannot be explained
//! column by column.

use anyhow::{Result, bail};

use crate::input::{Category, FeatureSchema, Rows};
use crate::model::Graph;

/// The owner feature of each head column (`None`: constant, owned by none).
pub(super) type Owners = Vec<Option<usize>>;

/// Finds each column's owner; `background` is the head input of `rows`.
pub(super) fn owners(
    graph: &Graph,
    schema: &FeatureSchema,
    rows: &Rows,
    background: &[f32],
    width: usize,
) -> Result<Owners> {
    let n = rows.len();
    let mut owners: Owners = vec![None; width];
    for col in 0..schema.width() {
        let moved = moved_rows(schema, rows, col);
        let (head, w) = graph.head_input(moved.clone())?;
        if w != width {
            bail!("the preprocessing gave {w} columns for some rows and {width} for others");
        }
        for (r, row) in head.chunks_exact(width).enumerate() {
            let base = &background[(r % n) * width..(r % n + 1) * width];
            for (c, (a, b)) in row.iter().zip(base).enumerate() {
                if a.to_bits() == b.to_bits() {
                    continue;
                }
                match owners[c] {
                    Some(other) if other != col => bail!(
                        "column {c} of the model's head moves with both {:?} and {:?}",
                        schema.name(other),
                        schema.name(col)
                    ),
                    _ => owners[c] = Some(col),
                }
            }
        }
    }
    Ok(owners)
}

/// The background rows with feature `col` replaced: by the next row's value
/// (every value the background has), then by each category, or by the
/// extremes of the background's range, so every column it feeds moves.
fn moved_rows(schema: &FeatureSchema, rows: &Rows, col: usize) -> Rows {
    let n = rows.len();
    let shifted: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    let mut out = Rows::blend(rows, rows, &shifted, |_, c| c != col);
    let mut probes: Vec<Rows> = Vec::new();
    if schema.is_categorical(col) {
        let mut values: Vec<Category> =
            (0..schema.categories(col).len()).map(|i| Category::Known(i as u32)).collect();
        if schema.missing_allowed(col) {
            values.push(Category::Missing);
        }
        for value in values {
            let mut probe = rows.clone();
            for r in 0..n {
                probe.put_category(r, col, value.clone());
            }
            probes.push(probe);
        }
    } else {
        let seen = (0..n).map(|r| rows.number(r, col)).filter(|x| x.is_finite());
        let (lo, hi) = seen.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
        for x in [lo, hi].into_iter().filter(|x| x.is_finite()) {
            let mut probe = rows.clone();
            for r in 0..n {
                probe.put_number(r, col, x);
            }
            probes.push(probe);
        }
    }
    for probe in probes {
        out = out.concat(&probe);
    }
    out
}
