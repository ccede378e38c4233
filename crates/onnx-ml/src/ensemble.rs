//! Tree ensembles laid out for speed, and onnxruntime's rules for turning
//! their sums into scores. No tract here: plain slices in, plain slices out.
//! The structure is readable ([`TreeEnsemble::trees`], [`NodeView`]) so that
//! explanations can walk the same trees that score.
//!
//! Nodes of every tree live in one flat array; each tree is entered through
//! its root index; a leaf's weights are a range of a flat (target, weight)
//! list. Walking a tree allocates nothing and builds no error.

use anyhow::{Result, bail, ensure};

/// How a branch node compares the feature with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `x <= threshold`.
    Leq,
    /// `x < threshold`.
    Lt,
    /// `x >= threshold`.
    Gte,
    /// `x > threshold`.
    Gt,
    /// `x == threshold`.
    Eq,
    /// `x != threshold`.
    Neq,
    /// A leaf: no comparison.
    Leaf,
}

impl Mode {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "BRANCH_LEQ" => Self::Leq,
            "BRANCH_LT" => Self::Lt,
            "BRANCH_GTE" => Self::Gte,
            "BRANCH_GT" => Self::Gt,
            "BRANCH_EQ" => Self::Eq,
            "BRANCH_NEQ" => Self::Neq,
            "LEAF" => Self::Leaf,
            other => bail!("unknown node mode {other:?}"),
        })
    }
}

/// How the trees' leaf values combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Leaf values add up.
    Sum,
    /// Leaf values add up, then divide by the number of trees.
    Average,
    /// The smallest leaf value.
    Min,
    /// The largest leaf value.
    Max,
}

impl Aggregate {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "SUM" => Self::Sum,
            "AVERAGE" => Self::Average,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            other => bail!("unknown aggregate_function {other:?}"),
        })
    }
}

/// What is applied to the scores at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostTransform {
    /// The scores as they are.
    None,
    /// Softmax over a row's scores.
    Softmax,
    /// The logistic function of each score.
    Logistic,
    /// Softmax that leaves zero scores at zero.
    SoftmaxZero,
    /// The inverse of the normal distribution's CDF.
    Probit,
}

impl PostTransform {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "NONE" => Self::None,
            "SOFTMAX" => Self::Softmax,
            "LOGISTIC" => Self::Logistic,
            "SOFTMAX_ZERO" => Self::SoftmaxZero,
            "PROBIT" => Self::Probit,
            other => bail!("unknown post_transform {other:?}"),
        })
    }
}

/// A feature index meaning "this node is a leaf".
const LEAF: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f32,
    /// The feature compared, or [`LEAF`].
    feature: u32,
    /// Branch: the next node when the comparison holds. Leaf: first weight.
    on_true: u32,
    /// Branch: the next node otherwise. Leaf: one past the last weight.
    on_false: u32,
    mode: Mode,
    missing_goes_true: bool,
}

impl Node {
    /// Whether `x` takes the `on_true` branch: the comparison holds, or `x`
    /// is missing and missing values are tracked to the true side.
    #[inline]
    fn goes_true(&self, x: f32) -> bool {
        let t = self.threshold;
        let holds = match self.mode {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
            Mode::Leaf => false,
        };
        holds || (self.missing_goes_true && x.is_nan())
    }
}

/// The node and leaf attributes of a `TreeEnsemble*` node, as read from the graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct TreeAttributes {
    pub(crate) tree_ids: Vec<i64>,
    pub(crate) node_ids: Vec<i64>,
    pub(crate) feature_ids: Vec<i64>,
    pub(crate) modes: Vec<Mode>,
    pub(crate) values: Vec<f32>,
    pub(crate) true_ids: Vec<i64>,
    pub(crate) false_ids: Vec<i64>,
    pub(crate) missing_tracks_true: Vec<bool>,
    pub(crate) leaf_tree_ids: Vec<i64>,
    pub(crate) leaf_node_ids: Vec<i64>,
    pub(crate) leaf_targets: Vec<i64>,
    pub(crate) leaf_weights: Vec<f32>,
}

/// A checked, flattened tree ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeEnsemble {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    weight_targets: Vec<u32>,
    weights: Vec<f32>,
    n_targets: usize,
    n_features: usize,
    aggregate: Aggregate,
    /// Every branch is `BRANCH_LEQ`: the common case gets a tighter loop.
    all_leq: bool,
}

impl TreeEnsemble {
    /// Checks and flattens the attributes: every id resolves, every tree is a
    /// tree (no node reached twice, so walking always ends), targets are in range.
    pub(crate) fn build(a: &TreeAttributes, n_targets: usize, aggregate: Aggregate) -> Result<Self> {
        let n = a.node_ids.len();
        ensure!(n > 0, "the ensemble has no nodes");
        for (name, len) in [
            ("nodes_treeids", a.tree_ids.len()),
            ("nodes_featureids", a.feature_ids.len()),
            ("nodes_modes", a.modes.len()),
            ("nodes_values", a.values.len()),
            ("nodes_truenodeids", a.true_ids.len()),
            ("nodes_falsenodeids", a.false_ids.len()),
            ("nodes_missing_value_tracks_true", a.missing_tracks_true.len()),
        ] {
            ensure!(len == n, "{name} has {len} entries for {n} nodes");
        }
        let l = a.leaf_node_ids.len();
        for (name, len) in [
            ("leaf tree ids", a.leaf_tree_ids.len()),
            ("leaf targets", a.leaf_targets.len()),
            ("leaf weights", a.leaf_weights.len()),
        ] {
            ensure!(len == l, "{name}: {len} entries for {l} leaf weights");
        }
        ensure!(n_targets > 0, "the ensemble has no targets or classes");

        // Nodes sorted by (tree, node id); each tree's position in that order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (a.tree_ids[i], a.node_ids[i]));
        let position: std::collections::HashMap<(i64, i64), u32> =
            order.iter().enumerate().map(|(pos, &i)| ((a.tree_ids[i], a.node_ids[i]), pos as u32)).collect();
        ensure!(position.len() == n, "two nodes share a (tree id, node id)");

        // Leaf weights grouped by (tree, node).
        let mut leaf_order: Vec<usize> = (0..l).collect();
        leaf_order.sort_by_key(|&i| (a.leaf_tree_ids[i], a.leaf_node_ids[i]));
        let mut weight_targets = Vec::with_capacity(l);
        let mut weights = Vec::with_capacity(l);
        let mut leaf_ranges: std::collections::HashMap<(i64, i64), (u32, u32)> =
            std::collections::HashMap::new();
        for &i in &leaf_order {
            let key = (a.leaf_tree_ids[i], a.leaf_node_ids[i]);
            ensure!(
                position.contains_key(&key),
                "a leaf weight names node {} of tree {}, which does not exist",
                key.1,
                key.0
            );
            let target = a.leaf_targets[i];
            ensure!(
                (0..n_targets as i64).contains(&target),
                "a leaf weight names target {target}; there are {n_targets}"
            );
            let at = weights.len() as u32;
            let range = leaf_ranges.entry(key).or_insert((at, at));
            range.1 = at + 1;
            weight_targets.push(target as u32);
            weights.push(a.leaf_weights[i]);
        }

        let mut nodes = Vec::with_capacity(n);
        let mut roots = Vec::new();
        let mut n_features = 0usize;
        let mut previous_tree = None;
        for &i in &order {
            let tree = a.tree_ids[i];
            if previous_tree != Some(tree) {
                roots.push(nodes.len() as u32);
                previous_tree = Some(tree);
            }
            let node = if a.modes[i] == Mode::Leaf {
                let (start, end) = leaf_ranges.get(&(tree, a.node_ids[i])).copied().unwrap_or((0, 0));
                Node {
                    threshold: 0.0,
                    feature: LEAF,
                    on_true: start,
                    on_false: end,
                    mode: Mode::Leaf,
                    missing_goes_true: false,
                }
            } else {
                let resolve = |id: i64, which: &str| {
                    position.get(&(tree, id)).copied().ok_or_else(|| {
                        anyhow::anyhow!(
                            "node {} of tree {tree} sends {which} to node {id}, which does not exist",
                            a.node_ids[i]
                        )
                    })
                };
                let feature =
                    u32::try_from(a.feature_ids[i]).map_err(|_| anyhow::anyhow!("negative feature id"))?;
                n_features = n_features.max(feature as usize + 1);
                Node {
                    threshold: a.values[i],
                    feature,
                    on_true: resolve(a.true_ids[i], "true")?,
                    on_false: resolve(a.false_ids[i], "false")?,
                    mode: a.modes[i],
                    missing_goes_true: a.missing_tracks_true[i],
                }
            };
            nodes.push(node);
        }
        // A root is its tree's smallest node id; each tree must be a tree.
        let mut seen = vec![false; nodes.len()];
        for &root in &roots {
            let mut stack = vec![root];
            while let Some(i) = stack.pop() {
                ensure!(!seen[i as usize], "tree node {i} is reached twice: the graph is not a forest");
                seen[i as usize] = true;
                let node = nodes[i as usize];
                if node.feature != LEAF {
                    stack.push(node.on_true);
                    stack.push(node.on_false);
                }
            }
        }
        let all_leq = nodes.iter().all(|n| matches!(n.mode, Mode::Leq | Mode::Leaf));
        Ok(Self { nodes, roots, weight_targets, weights, n_targets, n_features, aggregate, all_leq })
    }

    /// How many targets (or classes) the scores have.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// How many trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// The fewest features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The aggregate function.
    pub fn aggregate(&self) -> Aggregate {
        self.aggregate
    }

    /// Each tree's root node, in tree order.
    pub fn trees(&self) -> impl Iterator<Item = NodeView<'_>> + '_ {
        self.roots.iter().map(|&root| self.node(root as usize))
    }

    /// Node `index` of the flat node array (as a view's `on_true`/`on_false` give).
    pub fn node(&self, index: usize) -> NodeView<'_> {
        NodeView { ensemble: self, index }
    }

    /// The leaf `row` reaches in the tree entered at `root`.
    #[inline]
    fn leaf(&self, root: u32, row: &[f32]) -> &Node {
        let mut i = root as usize;
        if self.all_leq {
            loop {
                let n = &self.nodes[i];
                if n.feature == LEAF {
                    return n;
                }
                let x = row[n.feature as usize];
                let go_true = x <= n.threshold || (n.missing_goes_true && x.is_nan());
                i = if go_true { n.on_true } else { n.on_false } as usize;
            }
        }
        loop {
            let n = &self.nodes[i];
            let x = match n.mode {
                Mode::Leaf => return n,
                _ => row[n.feature as usize],
            };
            i = if n.goes_true(x) { n.on_true } else { n.on_false } as usize;
        }
    }

    /// Aggregates every tree's leaf for one row into `scores`; `has[t]` says
    /// whether any leaf gave target `t` a value (onnxruntime tells the two apart).
    #[cfg(test)]
    pub(crate) fn accumulate(&self, row: &[f32], scores: &mut [f32], has: &mut [bool]) {
        self.accumulate_block(row, row.len(), scores, has);
    }

    /// [`TreeEnsemble::accumulate`] for a block of rows (`width` features each),
    /// tree by tree: one tree's nodes stay in cache while every row of the
    /// block walks it. `scores` and `has` hold `n_targets` slots per row.
    pub(crate) fn accumulate_block(&self, rows: &[f32], width: usize, scores: &mut [f32], has: &mut [bool]) {
        let t = self.n_targets;
        scores.fill(0.0);
        has.fill(false);
        for &root in &self.roots {
            for (r, row) in rows.chunks_exact(width).enumerate() {
                let leaf = self.leaf(root, row);
                let range = leaf.on_true as usize..leaf.on_false as usize;
                let (scores, has) = (&mut scores[r * t..(r + 1) * t], &mut has[r * t..(r + 1) * t]);
                for (&target, &w) in self.weight_targets[range.clone()].iter().zip(&self.weights[range]) {
                    let (s, h) = (&mut scores[target as usize], &mut has[target as usize]);
                    match self.aggregate {
                        Aggregate::Sum | Aggregate::Average => *s += w,
                        Aggregate::Min => {
                            if !*h || w < *s {
                                *s = w;
                            }
                        }
                        Aggregate::Max => {
                            if !*h || w > *s {
                                *s = w;
                            }
                        }
                    }
                    *h = true;
                }
            }
        }
    }

    /// Which class ids appear in leaves, and whether every weight is ≥ 0.
    pub(crate) fn weight_summary(&self) -> (std::collections::BTreeSet<u32>, bool) {
        (self.weight_targets.iter().copied().collect(), self.weights.iter().all(|w| *w >= 0.0))
    }
}

/// One node of a [`TreeEnsemble`], read-only.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    ensemble: &'a TreeEnsemble,
    index: usize,
}

impl<'a> NodeView<'a> {
    fn raw(&self) -> &'a Node {
        &self.ensemble.nodes[self.index]
    }

    /// Its index in the flat node array.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The feature (input column) a branch compares; `None` for a leaf.
    pub fn feature(&self) -> Option<usize> {
        let f = self.raw().feature;
        (f != LEAF).then_some(f as usize)
    }

    /// How a branch compares.
    pub fn mode(&self) -> Mode {
        self.raw().mode
    }

    /// The threshold a branch compares with.
    pub fn threshold(&self) -> f32 {
        self.raw().threshold
    }

    /// Whether a missing value (NaN) takes the `on_true` branch.
    pub fn missing_goes_true(&self) -> bool {
        self.raw().missing_goes_true
    }

    /// The branch taken when the comparison holds; `None` for a leaf.
    pub fn on_true(&self) -> Option<NodeView<'a>> {
        self.feature().map(|_| self.ensemble.node(self.raw().on_true as usize))
    }

    /// The branch taken otherwise; `None` for a leaf.
    pub fn on_false(&self) -> Option<NodeView<'a>> {
        self.feature().map(|_| self.ensemble.node(self.raw().on_false as usize))
    }

    /// Whether `x` takes the `on_true` branch (a leaf takes none).
    pub fn goes_true(&self, x: f32) -> bool {
        self.raw().goes_true(x)
    }

    /// A leaf's `(target, weight)` pairs; empty for a branch.
    pub fn leaf_weights(&self) -> impl Iterator<Item = (usize, f32)> + 'a {
        let n = self.raw();
        let range = if n.feature == LEAF { n.on_true as usize..n.on_false as usize } else { 0..0 };
        let e = self.ensemble;
        e.weight_targets[range.clone()].iter().zip(&e.weights[range]).map(|(&t, &w)| (t as usize, w))
    }
}

/// onnxruntime's logistic, computed the way it does for symmetry around 0.
pub(crate) fn logistic(v: f32) -> f32 {
    let p = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 { 1.0 - p } else { p }
}

/// onnxruntime's probit: √2 · erfinv(2v − 1) with its erfinv approximation.
pub(crate) fn probit(v: f32) -> f32 {
    let x = 2.0 * v - 1.0;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let ln = x.ln();
    let a = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * ln;
    let b = 1.0 / 0.147 * ln;
    std::f32::consts::SQRT_2 * sign * (-a + (a * a - b).sqrt()).sqrt()
}

/// Applies `transform` to a row's scores (two or more of them).
pub(crate) fn transform_scores(scores: &mut [f32], transform: PostTransform) {
    match transform {
        PostTransform::None => {}
        PostTransform::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
        PostTransform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
        PostTransform::Softmax => {
            let max = scores.iter().copied().fold(f32::MIN, f32::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            scores.iter_mut().for_each(|s| *s /= sum);
        }
        PostTransform::SoftmaxZero => {
            let max = scores.iter().copied().fold(f32::MIN, f32::max);
            let exp_neg_max = (-max).exp();
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                if s.abs() > 1e-7 {
                    *s = (*s - max).exp();
                    sum += *s;
                } else {
                    *s *= exp_neg_max;
                }
            }
            scores.iter_mut().for_each(|s| *s /= sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One stump per tree: x[0] <= 0.5 → leaf 1, else leaf 2.
    fn stumps(trees: usize, mode: Mode, weights: &[(i64, f32, f32)]) -> TreeAttributes {
        let mut a = TreeAttributes::default();
        for t in 0..trees as i64 {
            for (id, m, tr, fa) in [(0, mode, 1, 2), (1, Mode::Leaf, 0, 0), (2, Mode::Leaf, 0, 0)] {
                a.tree_ids.push(t);
                a.node_ids.push(id);
                a.feature_ids.push(0);
                a.modes.push(m);
                a.values.push(0.5);
                a.true_ids.push(tr);
                a.false_ids.push(fa);
                a.missing_tracks_true.push(true);
            }
            for &(target, left, right) in weights {
                for (node, w) in [(1, left), (2, right)] {
                    a.leaf_tree_ids.push(t);
                    a.leaf_node_ids.push(node);
                    a.leaf_targets.push(target);
                    a.leaf_weights.push(w);
                }
            }
        }
        a
    }

    fn run(e: &TreeEnsemble, x: f32) -> Vec<f32> {
        let mut scores = vec![0.0; e.n_targets()];
        let mut has = vec![false; e.n_targets()];
        e.accumulate(&[x], &mut scores, &mut has);
        scores
    }

    #[test]
    fn every_comparison_mode_branches_as_named() {
        for (mode, x, left) in [
            (Mode::Leq, 0.5, true),
            (Mode::Lt, 0.5, false),
            (Mode::Gte, 0.5, true),
            (Mode::Gt, 0.5, false),
            (Mode::Eq, 0.5, true),
            (Mode::Neq, 0.5, false),
            (Mode::Leq, 0.7, false),
            (Mode::Gt, 0.7, true),
        ] {
            let e =
                TreeEnsemble::build(&stumps(1, mode, &[(0, 1.0, 2.0)]), 1, Aggregate::Sum).expect("valid");
            assert_eq!(run(&e, x), vec![if left { 1.0 } else { 2.0 }], "{mode:?} at {x}");
        }
    }

    #[test]
    fn a_missing_value_follows_the_tracked_branch() {
        let e =
            TreeEnsemble::build(&stumps(1, Mode::Leq, &[(0, 1.0, 2.0)]), 1, Aggregate::Sum).expect("valid");
        assert_eq!(run(&e, f32::NAN), vec![1.0]);
    }

    #[test]
    fn aggregates_combine_trees() {
        let mut a = stumps(2, Mode::Leq, &[(0, 1.0, 2.0)]);
        a.leaf_weights[2] = 5.0; // tree 1's left leaf
        for (agg, want) in
            [(Aggregate::Sum, 6.0), (Aggregate::Min, 1.0), (Aggregate::Max, 5.0), (Aggregate::Average, 6.0)]
        {
            let e = TreeEnsemble::build(&a, 1, agg).expect("valid");
            assert_eq!(run(&e, 0.0), vec![want], "{agg:?}");
        }
    }

    #[test]
    fn a_cycle_is_rejected_at_build_time() {
        let mut a = stumps(1, Mode::Leq, &[(0, 1.0, 2.0)]);
        a.modes[1] = Mode::Leq;
        a.true_ids[1] = 0;
        a.false_ids[1] = 2;
        assert!(TreeEnsemble::build(&a, 1, Aggregate::Sum).is_err());
    }

    #[test]
    fn a_dangling_node_id_is_rejected() {
        let mut a = stumps(1, Mode::Leq, &[(0, 1.0, 2.0)]);
        a.false_ids[0] = 9;
        let err = TreeEnsemble::build(&a, 1, Aggregate::Sum).expect_err("dangling").to_string();
        assert!(err.contains("node 9"), "{err}");
    }

    #[test]
    fn a_target_out_of_range_is_rejected() {
        let a = stumps(1, Mode::Leq, &[(3, 1.0, 2.0)]);
        assert!(TreeEnsemble::build(&a, 2, Aggregate::Sum).is_err());
    }

    #[test]
    fn softmax_sums_to_one_and_logistic_is_symmetric() {
        let mut s = [1.0, 2.0, 3.0];
        transform_scores(&mut s, PostTransform::Softmax);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((logistic(2.0) + logistic(-2.0) - 1.0).abs() < 1e-6);
        assert!(probit(0.5).abs() < 1e-3);
    }
}
