//! Exact interventional TreeSHAP over a tree ensemble's head columns: for a
//! row `x` and a background row `z`, each tree is walked once along every
//! path either row could take, and each leaf reached credits the columns
//! that had to come from `x` and debits those that had to come from `z`
//! with their exact Shapley weights. Linear in tree size per background row.

use onnx_ml::{Aggregate, TreeEnsemble};

const LEAF: u32 = u32::MAX;

/// One node of a tree, flattened for the walk.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// The ensemble's own node, whose comparison decides the branch.
    view: u32,
    /// The column compared, or [`LEAF`].
    column: u32,
    on_true: u32,
    on_false: u32,
}

/// A tree ensemble's trees and, per leaf, the value each target gets from
/// it (already divided by the tree count when the ensemble averages).
#[derive(Debug, Clone)]
pub(super) struct Forest {
    ensemble: TreeEnsemble,
    trees: Vec<Vec<Node>>,
    /// `leaf_values[tree][node * targets + t]`.
    leaf_values: Vec<Vec<f64>>,
    targets: usize,
    /// `weights[a][b]` for a leaf reached with `a` columns from `x` and `b` from `z`.
    credit: Vec<Vec<f64>>,
    debit: Vec<Vec<f64>>,
}

impl Forest {
    /// Flattens `ensemble`; `None` when its trees do not add up (min or max aggregates).
    pub(super) fn new(ensemble: TreeEnsemble) -> Option<Self> {
        let scale = match ensemble.aggregate() {
            Aggregate::Sum => 1.0,
            Aggregate::Average => 1.0 / ensemble.n_trees().max(1) as f64,
            Aggregate::Min | Aggregate::Max => return None,
        };
        let targets = ensemble.n_targets();
        let mut trees = Vec::with_capacity(ensemble.n_trees());
        let mut leaf_values = Vec::with_capacity(ensemble.n_trees());
        let mut deepest = 0;
        for root in ensemble.trees() {
            let mut nodes: Vec<Node> = Vec::new();
            let mut values: Vec<f64> = Vec::new();
            // (ensemble node, slot in `nodes`, depth); children get slots as they are met.
            let mut stack = vec![(root, 0usize, 0usize)];
            nodes.push(Node { view: 0, column: LEAF, on_true: 0, on_false: 0 });
            values.resize(targets, 0.0);
            while let Some((view, slot, depth)) = stack.pop() {
                deepest = deepest.max(depth);
                let mut node = Node { view: view.index() as u32, column: LEAF, on_true: 0, on_false: 0 };
                if let (Some(column), Some(yes), Some(no)) = (view.feature(), view.on_true(), view.on_false())
                {
                    node.column = column as u32;
                    for (child, side) in [(yes, &mut node.on_true), (no, &mut node.on_false)] {
                        *side = nodes.len() as u32;
                        nodes.push(Node { view: 0, column: LEAF, on_true: 0, on_false: 0 });
                        values.resize(nodes.len() * targets, 0.0);
                        stack.push((child, nodes.len() - 1, depth + 1));
                    }
                } else {
                    for (t, w) in view.leaf_weights() {
                        if t < targets {
                            values[slot * targets + t] += f64::from(w) * scale;
                        }
                    }
                }
                nodes[slot] = node;
            }
            trees.push(nodes);
            leaf_values.push(values);
        }
        let (credit, debit) = shapley_weights(deepest + 1);
        Some(Self { ensemble, trees, leaf_values, targets, credit, debit })
    }

    /// The sum over trees of the leaf values `row` reaches, for `target`.
    pub(super) fn raw(&self, row: &[f32], target: usize) -> f64 {
        let mut sum = 0.0;
        for (tree, values) in self.trees.iter().zip(&self.leaf_values) {
            let mut i = 0usize;
            loop {
                let node = tree[i];
                if node.column == LEAF {
                    sum += values[i * self.targets + target];
                    break;
                }
                i = self.next(node, row[node.column as usize]) as usize;
            }
        }
        sum
    }

    #[inline]
    fn next(&self, node: Node, x: f32) -> u32 {
        if self.ensemble.node(node.view as usize).goes_true(x) { node.on_true } else { node.on_false }
    }

    /// Adds to `phi` (one slot per column) the Shapley values of
    /// `raw(x) − raw(z)` for `target`, split over the columns.
    pub(super) fn add_pair(&self, x: &[f32], z: &[f32], target: usize, phi: &mut [f64]) {
        let mut walk = Walk {
            forest: self,
            x,
            z,
            target,
            side: vec![Side::Open; x.len()],
            from_x: Vec::new(),
            from_z: Vec::new(),
            phi,
        };
        for t in 0..self.trees.len() {
            walk.node(t, 0);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Open,
    X,
    Z,
}

struct Walk<'a> {
    forest: &'a Forest,
    x: &'a [f32],
    z: &'a [f32],
    target: usize,
    side: Vec<Side>,
    from_x: Vec<usize>,
    from_z: Vec<usize>,
    phi: &'a mut [f64],
}

impl Walk<'_> {
    fn node(&mut self, tree: usize, i: usize) {
        let forest = self.forest;
        let node = forest.trees[tree][i];
        if node.column == LEAF {
            let v = forest.leaf_values[tree][i * forest.targets + self.target];
            let (a, b) = (self.from_x.len(), self.from_z.len());
            if v != 0.0 {
                if a > 0 {
                    let w = v * forest.credit[a][b];
                    self.from_x.iter().for_each(|&c| self.phi[c] += w);
                }
                if b > 0 {
                    let w = v * forest.debit[a][b];
                    self.from_z.iter().for_each(|&c| self.phi[c] -= w);
                }
            }
            return;
        }
        let c = node.column as usize;
        let x_next = forest.next(node, self.x[c]) as usize;
        let z_next = forest.next(node, self.z[c]) as usize;
        match self.side[c] {
            Side::X => self.node(tree, x_next),
            Side::Z => self.node(tree, z_next),
            Side::Open if x_next == z_next => self.node(tree, x_next),
            Side::Open => {
                self.side[c] = Side::X;
                self.from_x.push(c);
                self.node(tree, x_next);
                self.from_x.pop();
                self.side[c] = Side::Z;
                self.from_z.push(c);
                self.node(tree, z_next);
                self.from_z.pop();
                self.side[c] = Side::Open;
            }
        }
    }
}

/// A leaf reached only when the `a` columns come from `x` and the `b`
/// columns from `z` is worth, to each of the `a`, `(a−1)! b! / (a+b)!` of
/// its value, and costs each of the `b` `a! (b−1)! / (a+b)!`.
fn shapley_weights(n: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    // 1 / (k · C(a+b, k)), with the binomial built as a product to stay finite.
    let binomial = |n: usize, k: usize| -> f64 {
        let k = k.min(n - k);
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    };
    let mut credit = vec![vec![0.0; n + 1]; n + 1];
    let mut debit = vec![vec![0.0; n + 1]; n + 1];
    for a in 0..=n {
        for b in 0..=n {
            if a > 0 {
                credit[a][b] = 1.0 / (a as f64 * binomial(a + b, a));
            }
            if b > 0 {
                debit[a][b] = 1.0 / (b as f64 * binomial(a + b, b));
            }
        }
    }
    (credit, debit)
}

#[cfg(test)]
mod tests {
    use super::shapley_weights;

    #[test]
    fn the_weights_are_the_shapley_coalition_weights() {
        let (credit, debit) = shapley_weights(4);
        // a=1, b=0: the only column decides alone.
        assert_eq!(credit[1][0], 1.0);
        // a=2, b=1: 1! 1! / 3! = 1/6; debit a=2, b=1: 2! 0! / 3! = 1/3.
        assert!((credit[2][1] - 1.0 / 6.0).abs() < 1e-15);
        assert!((debit[2][1] - 1.0 / 3.0).abs() < 1e-15);
        // A leaf with columns on both sides credits in all what it debits: a! b! / (a+b)!.
        for a in 1..4 {
            for b in 1..4 {
                assert!((a as f64 * credit[a][b] - b as f64 * debit[a][b]).abs() < 1e-15);
            }
        }
    }
}
