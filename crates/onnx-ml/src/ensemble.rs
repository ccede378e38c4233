//! Tree ensembles laid out for speed, and onnxruntime's rules for turning
//! their sums into scores. No tract here: plain slices in, plain slices out.
//! The structure is readable ([`TreeEnsemble::trees`], [`NodeView`]) so that
//! explanations can walk the same trees that score.
//!
//! Nodes of every tree live in one flat array of 12-byte nodes, a branch's
//! two children side by side ([`Node`]); each tree is entered through its
//! root index; a leaf's weights are a range of a flat (target, weight) list
//! kept apart from the nodes, so walks read only what they compare. Rows walk
//! a tree [`LANES`] at a time in lockstep, without branches to mispredict.
//! Walking a tree allocates nothing and builds no error.

use anyhow::{Result, bail, ensure};

/// How a branch node compares the feature with its threshold, as ONNX states it.
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

/// Bits of [`Node::bits`] above the feature index.
const NAN_LEFT: u32 = 1 << 31;
/// The branch tests `x == threshold` instead of `x <= threshold`.
const EQ: u32 = 1 << 30;
const FEATURE: u32 = EQ - 1;

/// One node, 12 bytes: what a walk reads at each step and nothing else.
///
/// A branch sends `x` to `left` when `x <= threshold` (`x == threshold` with
/// [`EQ`]) or when `x` is missing and [`NAN_LEFT`] is set, and to `left + 1`
/// otherwise: the two children sit side by side, so the next index is an
/// addition, not a branch the processor has to guess. The four ordering
/// modes of ONNX become `<=` at build time (`x < t` is `x <= t⁻`, the float
/// just below `t`; `x > t` is "not `x <= t`", its children swapped), and
/// `!=` becomes `==` with its children swapped.
///
/// A leaf points at itself with a test every value passes (`x <= +∞`, or
/// missing), so a walk can take more steps than its path has without
/// leaving the leaf: rows walk a tree in lockstep, as many steps as the tree
/// is deep, with no test for having arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f32,
    /// The feature compared, with the [`NAN_LEFT`] and [`EQ`] flags.
    bits: u32,
    left: u32,
}

impl Node {
    fn leaf(at: u32) -> Self {
        Self { threshold: f32::INFINITY, bits: NAN_LEFT, left: at }
    }

    #[inline(always)]
    fn feature(self) -> usize {
        (self.bits & FEATURE) as usize
    }

    /// The node `x` goes to next; `MAY_EQ` is false when no node of the
    /// ensemble tests equality, which spares the common case that test.
    #[inline(always)]
    fn next<const MAY_EQ: bool>(self, x: f32) -> u32 {
        let t = self.threshold;
        let mut holds = x <= t;
        if MAY_EQ {
            holds &= !((self.bits & EQ != 0) & (x < t));
        }
        let left = holds | ((self.bits & NAN_LEFT != 0) & x.is_nan());
        self.left + u32::from(!left)
    }
}

/// The largest float below `t`, so that `x < t` is `x <= below(t)` for every `x`.
fn below(t: f32) -> f32 {
    if t == f32::NEG_INFINITY {
        // Nothing is below -∞: a comparison with NaN never holds.
        f32::NAN
    } else {
        t.next_down()
    }
}

/// How many rows walk a tree in lockstep: independent walks let the
/// processor overlap their memory reads instead of waiting on each in turn.
const LANES: usize = 8;

/// Trees whose leaves are summed on their own before that sum joins the
/// total. Every path groups them so (a row alone or in a batch, on one
/// thread or several), so a row gets the same bits however it is scored,
/// and a single row's chunks can be scored on several cores.
pub(crate) const CHUNK_TREES: usize = 32;

/// One chunk's scores for a block of rows, and which targets got any.
#[derive(Debug, Default)]
pub(crate) struct ChunkScores {
    scores: Vec<f32>,
    has: Vec<bool>,
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
    /// Each tree's depth: the steps a walk from its root takes to reach any leaf.
    depths: Vec<u32>,
    /// Node `i`'s leaf weights are `weights[weight_at[i]..weight_at[i + 1]]` (none for a branch).
    weight_at: Vec<u32>,
    weight_targets: Vec<u32>,
    weights: Vec<f32>,
    n_targets: usize,
    n_features: usize,
    aggregate: Aggregate,
    /// Some branch tests equality (`BRANCH_EQ`, `BRANCH_NEQ`).
    may_eq: bool,
}

/// A node as the graph states it, its children resolved to positions.
struct Stated {
    mode: Mode,
    feature: u32,
    threshold: f32,
    on_true: u32,
    on_false: u32,
    missing_goes_true: bool,
    weights: (u32, u32),
}

/// How many times over its stated nodes an ensemble may be laid out when
/// trees share subtrees.
const MAX_COPIES: usize = 8;
/// Laid-out nodes at most, whatever the ensemble.
const MAX_LAID_OUT: usize = 1 << 27;

impl TreeEnsemble {
    /// Checks and flattens the attributes: every id resolves, no path
    /// through a tree returns to a node (so walking always ends), targets
    /// are in range.
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
        ensure!(n < (1 << 31), "the ensemble has {n} nodes; at most 2^31 are supported");

        // Nodes in (tree, node id) order, as skl2onnx already writes them
        // (sorting only when they are not); each tree a range of positions.
        let key = |i: usize| (a.tree_ids[i], a.node_ids[i]);
        let order: Vec<usize> = if (1..n).all(|i| key(i - 1) < key(i)) {
            (0..n).collect()
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_unstable_by_key(|&i| key(i));
            ensure!(order.windows(2).all(|w| key(w[0]) != key(w[1])), "two nodes share a (tree id, node id)");
            order
        };
        let ids: Vec<i64> = order.iter().map(|&i| a.node_ids[i]).collect();
        // (tree id, first position, one past the last)
        let mut trees: Vec<(i64, usize, usize)> = Vec::new();
        for (pos, &i) in order.iter().enumerate() {
            match trees.last_mut() {
                Some(last) if last.0 == a.tree_ids[i] => last.2 = pos + 1,
                _ => trees.push((a.tree_ids[i], pos, pos + 1)),
            }
        }
        // Node `id`'s position within a tree's positions: ids usually count
        // up from the first, so look there before searching.
        let find = |(_, start, end): (i64, usize, usize), id: i64| -> Option<u32> {
            let guess = id.checked_sub(ids[start]).and_then(|d| usize::try_from(d).ok()).map(|d| start + d);
            match guess {
                Some(g) if g < end && ids[g] == id => Some(g as u32),
                _ => ids[start..end].binary_search(&id).ok().map(|p| (start + p) as u32),
            }
        };
        let tree_of = |tree: i64| trees.binary_search_by_key(&tree, |t| t.0).ok().map(|t| trees[t]);

        // Leaf weights grouped by (tree, node), in stated order within a node.
        let leaf_key = |i: usize| (a.leaf_tree_ids[i], a.leaf_node_ids[i]);
        let mut leaf_order: Vec<usize> = (0..l).collect();
        if !(1..l).all(|i| leaf_key(i - 1) <= leaf_key(i)) {
            leaf_order.sort_by_key(|&i| leaf_key(i));
        }
        let mut stated_targets = Vec::with_capacity(l);
        let mut stated_weights = Vec::with_capacity(l);
        // Each position's range of stated weights.
        let mut leaf_ranges: Vec<(u32, u32)> = vec![(0, 0); n];
        let mut previous: Option<((i64, i64), u32)> = None;
        for &i in &leaf_order {
            let key = leaf_key(i);
            let pos = match previous {
                Some((k, pos)) if k == key => pos,
                _ => tree_of(key.0).and_then(|t| find(t, key.1)).ok_or_else(|| {
                    anyhow::anyhow!(
                        "a leaf weight names node {} of tree {}, which does not exist",
                        key.1,
                        key.0
                    )
                })?,
            };
            previous = Some((key, pos));
            let target = a.leaf_targets[i];
            ensure!(
                (0..n_targets as i64).contains(&target),
                "a leaf weight names target {target}; there are {n_targets}"
            );
            let at = stated_weights.len() as u32;
            let range = &mut leaf_ranges[pos as usize];
            if range.0 == range.1 {
                *range = (at, at);
            }
            range.1 = at + 1;
            stated_targets.push(target as u32);
            stated_weights.push(a.leaf_weights[i]);
        }

        let mut stated = Vec::with_capacity(n);
        let mut stated_roots = Vec::with_capacity(trees.len());
        let mut n_features = 0usize;
        for &tree in &trees {
            stated_roots.push(tree.1 as u32);
            for (pos, &i) in order.iter().enumerate().take(tree.2).skip(tree.1) {
                let mut node = Stated {
                    mode: a.modes[i],
                    feature: 0,
                    threshold: a.values[i],
                    on_true: 0,
                    on_false: 0,
                    missing_goes_true: a.missing_tracks_true[i],
                    weights: leaf_ranges[pos],
                };
                if node.mode != Mode::Leaf {
                    let resolve = |id: i64, which: &str| {
                        find(tree, id).ok_or_else(|| {
                            anyhow::anyhow!(
                                "node {} of tree {} sends {which} to node {id}, which does not exist",
                                a.node_ids[i],
                                tree.0
                            )
                        })
                    };
                    node.feature = u32::try_from(a.feature_ids[i])
                        .ok()
                        .filter(|&f| f <= FEATURE)
                        .ok_or_else(|| anyhow::anyhow!("feature id {} is out of range", a.feature_ids[i]))?;
                    n_features = n_features.max(node.feature as usize + 1);
                    node.on_true = resolve(a.true_ids[i], "true")?;
                    node.on_false = resolve(a.false_ids[i], "false")?;
                }
                stated.push(node);
            }
        }

        // Lay each tree out again from its root (its smallest node id), the
        // two children of a branch side by side, the left subtree first. A
        // node reached twice (LightGBM's categorical splits: a chain of
        // equality tests sharing one true child) is laid out once per path
        // to it; a path longer than the tree has nodes is a cycle, and the
        // copies are bounded.
        let most = n.saturating_mul(MAX_COPIES).max(n + 4096).min(MAX_LAID_OUT);
        let mut source: Vec<u32> = Vec::with_capacity(n);
        let mut nodes: Vec<Node> = Vec::with_capacity(n);
        let mut roots = Vec::with_capacity(stated_roots.len());
        let mut depths = Vec::with_capacity(stated_roots.len());
        let mut may_eq = false;
        for &root in &stated_roots {
            roots.push(nodes.len() as u32);
            nodes.push(Node::leaf(0));
            source.push(root);
            let mut deepest = 0u32;
            let mut stack = vec![(nodes.len() as u32 - 1, 0u32)];
            let tree_size = trees.iter().find(|t| t.1 as u32 == root).map_or(n, |t| t.2 - t.1);
            while let Some((at, depth)) = stack.pop() {
                let s = &stated[source[at as usize] as usize];
                ensure!(
                    (depth as usize) < tree_size,
                    "tree node {} is reached again on its own path: the graph is not a forest",
                    source[at as usize]
                );
                ensure!(
                    nodes.len() <= most,
                    "the trees share so many subtrees that laying them out takes more than {most} nodes"
                );
                deepest = deepest.max(depth);
                if s.mode == Mode::Leaf {
                    nodes[at as usize] = Node::leaf(at);
                    continue;
                }
                let m = s.missing_goes_true;
                // (test, threshold, left child, right child, missing goes left)
                let (eq, threshold, left, right, nan_left) = match s.mode {
                    // No order holds against NaN: every number goes to the false side.
                    Mode::Leq | Mode::Lt | Mode::Gt | Mode::Gte if s.threshold.is_nan() => {
                        (false, f32::NAN, s.on_true, s.on_false, m)
                    }
                    Mode::Leq => (false, s.threshold, s.on_true, s.on_false, m),
                    Mode::Lt => (false, below(s.threshold), s.on_true, s.on_false, m),
                    Mode::Gt => (false, s.threshold, s.on_false, s.on_true, !m),
                    Mode::Gte => (false, below(s.threshold), s.on_false, s.on_true, !m),
                    Mode::Eq => (true, s.threshold, s.on_true, s.on_false, m),
                    // `x != t` holds for a missing x: it always goes to the true side.
                    Mode::Neq => (true, s.threshold, s.on_false, s.on_true, false),
                    Mode::Leaf => unreachable!("handled above"),
                };
                may_eq |= eq;
                let first = nodes.len() as u32;
                nodes[at as usize] = Node {
                    threshold,
                    bits: s.feature | if eq { EQ } else { 0 } | if nan_left { NAN_LEFT } else { 0 },
                    left: first,
                };
                for child in [left, right] {
                    nodes.push(Node::leaf(0));
                    source.push(child);
                }
                stack.push((first + 1, depth + 1));
                stack.push((first, depth + 1));
            }
            depths.push(deepest);
        }

        // Leaf weights in node order, so each node's are one range.
        let mut weight_at = Vec::with_capacity(nodes.len() + 1);
        let mut weight_targets = Vec::with_capacity(l);
        let mut weights = Vec::with_capacity(l);
        for (i, node) in nodes.iter().enumerate() {
            weight_at.push(weights.len() as u32);
            if node.left == i as u32 {
                let (start, end) = stated[source[i] as usize].weights;
                let range = start as usize..end as usize;
                weight_targets.extend_from_slice(&stated_targets[range.clone()]);
                weights.extend_from_slice(&stated_weights[range]);
            }
        }
        weight_at.push(weights.len() as u32);
        Ok(Self {
            nodes,
            roots,
            depths,
            weight_at,
            weight_targets,
            weights,
            n_targets,
            n_features,
            aggregate,
            may_eq,
        })
    }

    /// How many targets (or classes) the scores have.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// How many trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// How many nodes the trees have, leaves included.
    pub(crate) fn n_nodes(&self) -> usize {
        self.nodes.len()
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

    /// Walks `N` (row, tree) pairs at most `depth` steps: lane `j` starts at
    /// node `at[j]` and reads its row at `rows[offset[j]..]`; stops early once
    /// every lane stands on its leaf. Ends on their leaves.
    #[inline(always)]
    fn walk<const MAY_EQ: bool, const N: usize>(
        &self,
        mut at: [u32; N],
        offset: [usize; N],
        depth: u32,
        rows: &[f32],
    ) -> [u32; N] {
        for _ in 0..depth {
            let mut moved = false;
            for j in 0..N {
                let node = self.nodes[at[j] as usize];
                let next = node.next::<MAY_EQ>(rows[offset[j] + node.feature()]);
                moved |= next != at[j];
                at[j] = next;
            }
            if !moved {
                break;
            }
        }
        at
    }

    /// Adds leaf `leaf`'s weights to one row's `scores` (`has` says which got any).
    #[inline(always)]
    fn add_leaf(&self, leaf: u32, scores: &mut [f32], has: &mut [bool]) {
        let range = self.weight_at[leaf as usize] as usize..self.weight_at[leaf as usize + 1] as usize;
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

    /// Aggregates every tree's leaf for one row into `scores`; `has[t]` says
    /// whether any leaf gave target `t` a value (onnxruntime tells the two apart).
    #[cfg(test)]
    pub(crate) fn accumulate(&self, row: &[f32], scores: &mut [f32], has: &mut [bool]) {
        self.accumulate_block(row, row.len(), scores, has, &mut ChunkScores::default());
    }

    /// How many chunks of [`CHUNK_TREES`] trees the ensemble has.
    pub(crate) fn n_chunks(&self) -> usize {
        self.roots.len().div_ceil(CHUNK_TREES)
    }

    /// [`TreeEnsemble::accumulate`] for a block of rows (`width` features each),
    /// chunk by chunk; `spare` holds a chunk's scores while they are folded in.
    /// `scores` and `has` hold `n_targets` slots per row.
    pub(crate) fn accumulate_block(
        &self,
        rows: &[f32],
        width: usize,
        scores: &mut [f32],
        has: &mut [bool],
        spare: &mut ChunkScores,
    ) {
        if self.n_chunks() <= 1 {
            // One chunk's scores are the total: no need to fold.
            self.trees_into(0..self.roots.len(), rows, width, scores, has);
            return;
        }
        scores.fill(0.0);
        has.fill(false);
        for chunk in 0..self.n_chunks() {
            self.chunk_scores(chunk, rows, width, spare);
            self.fold(scores, has, spare);
        }
    }

    /// The scores of `rows` from the trees of chunk `chunk` alone.
    pub(crate) fn chunk_scores(&self, chunk: usize, rows: &[f32], width: usize, out: &mut ChunkScores) {
        let len = rows.len() / width.max(1) * self.n_targets;
        out.scores.resize(len, 0.0);
        out.has.resize(len, false);
        let trees = chunk * CHUNK_TREES..((chunk + 1) * CHUNK_TREES).min(self.roots.len());
        self.trees_into(trees, rows, width, &mut out.scores[..len], &mut out.has[..len]);
    }

    /// [`TreeEnsemble::chunk_scores`] into new room: for chunks scored on other threads.
    pub(crate) fn chunk_scores_owned(&self, chunk: usize, rows: &[f32], width: usize) -> ChunkScores {
        let mut out = ChunkScores::default();
        self.chunk_scores(chunk, rows, width, &mut out);
        out
    }

    /// Folds a chunk's scores into the total so far, as the aggregate says.
    pub(crate) fn fold(&self, scores: &mut [f32], has: &mut [bool], chunk: &ChunkScores) {
        for (((s, h), &p), &ph) in scores.iter_mut().zip(has.iter_mut()).zip(&chunk.scores).zip(&chunk.has) {
            if !ph {
                continue;
            }
            *s = match (*h, self.aggregate) {
                (false, _) => p,
                (true, Aggregate::Sum | Aggregate::Average) => *s + p,
                (true, Aggregate::Min) => {
                    if p < *s {
                        p
                    } else {
                        *s
                    }
                }
                (true, Aggregate::Max) => {
                    if p > *s {
                        p
                    } else {
                        *s
                    }
                }
            };
            *h = true;
        }
    }

    /// The scores of `rows` from `trees` alone into `scores` and `has`.
    fn trees_into(
        &self,
        trees: std::ops::Range<usize>,
        rows: &[f32],
        width: usize,
        scores: &mut [f32],
        has: &mut [bool],
    ) {
        let (roots, depths) = (&self.roots[trees.clone()], &self.depths[trees]);
        if self.may_eq {
            self.walk_into::<true>(roots, depths, rows, width, scores, has);
        } else {
            self.walk_into::<false>(roots, depths, rows, width, scores, has);
        }
    }

    fn walk_into<const MAY_EQ: bool>(
        &self,
        roots: &[u32],
        depths: &[u32],
        rows: &[f32],
        width: usize,
        scores: &mut [f32],
        has: &mut [bool],
    ) {
        let t = self.n_targets;
        scores.fill(0.0);
        has.fill(false);
        let n = rows.len() / width.max(1);
        let mut add = |row: usize, leaf: u32| {
            self.add_leaf(leaf, &mut scores[row * t..(row + 1) * t], &mut has[row * t..(row + 1) * t]);
        };
        if n >= LANES {
            // Tree by tree, so one tree's nodes stay in cache while the
            // block's rows walk it, LANES rows at a time.
            let lanes = std::array::from_fn::<usize, LANES, _>(|j| j);
            for (&root, &depth) in roots.iter().zip(depths) {
                let mut r = 0;
                while r + LANES <= n {
                    let leaves = self.walk::<MAY_EQ, LANES>(
                        [root; LANES],
                        lanes.map(|j| (r + j) * width),
                        depth,
                        rows,
                    );
                    for (j, leaf) in leaves.into_iter().enumerate() {
                        add(r + j, leaf);
                    }
                    r += LANES;
                }
                for r in r..n {
                    let [leaf] = self.walk::<MAY_EQ, 1>([root], [r * width], depth, rows);
                    add(r, leaf);
                }
            }
        } else {
            // Too few rows to fill the lanes: each row walks LANES trees at once.
            for r in 0..n {
                let mut groups = roots.chunks_exact(LANES).zip(depths.chunks_exact(LANES));
                for (group, group_depths) in groups.by_ref() {
                    let depth = group_depths.iter().copied().max().unwrap_or(0);
                    let at = std::array::from_fn(|j| group[j]);
                    for leaf in self.walk::<MAY_EQ, LANES>(at, [r * width; LANES], depth, rows) {
                        add(r, leaf);
                    }
                }
                let rest = roots.len() - roots.len() % LANES;
                for (&root, &depth) in roots[rest..].iter().zip(&depths[rest..]) {
                    let [leaf] = self.walk::<MAY_EQ, 1>([root], [r * width], depth, rows);
                    add(r, leaf);
                }
            }
        }
    }

    /// Which class ids appear in leaves, and whether every weight is ≥ 0.
    pub(crate) fn weight_summary(&self) -> (std::collections::BTreeSet<u32>, bool) {
        (self.weight_targets.iter().copied().collect(), self.weights.iter().all(|w| *w >= 0.0))
    }
}

/// One node of a [`TreeEnsemble`], read-only. Branches are as laid out for
/// scoring: [`Mode::Leq`] or [`Mode::Eq`], whatever the graph stated (see
/// [`NodeView::goes_true`]), so the same rows reach the same leaves.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    ensemble: &'a TreeEnsemble,
    index: usize,
}

impl<'a> NodeView<'a> {
    fn raw(&self) -> Node {
        self.ensemble.nodes[self.index]
    }

    fn is_leaf(&self) -> bool {
        self.raw().left == self.index as u32
    }

    /// Its index in the flat node array.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The feature (input column) a branch compares; `None` for a leaf.
    pub fn feature(&self) -> Option<usize> {
        (!self.is_leaf()).then(|| self.raw().feature())
    }

    /// How a branch compares: [`Mode::Leq`] or [`Mode::Eq`]; [`Mode::Leaf`] for a leaf.
    pub fn mode(&self) -> Mode {
        match (self.is_leaf(), self.raw().bits & EQ != 0) {
            (true, _) => Mode::Leaf,
            (false, true) => Mode::Eq,
            (false, false) => Mode::Leq,
        }
    }

    /// The threshold a branch compares with.
    pub fn threshold(&self) -> f32 {
        self.raw().threshold
    }

    /// Whether a missing value (NaN) takes the `on_true` branch.
    pub fn missing_goes_true(&self) -> bool {
        self.raw().bits & NAN_LEFT != 0
    }

    /// The branch taken when the comparison holds; `None` for a leaf.
    pub fn on_true(&self) -> Option<NodeView<'a>> {
        (!self.is_leaf()).then(|| self.ensemble.node(self.raw().left as usize))
    }

    /// The branch taken otherwise; `None` for a leaf.
    pub fn on_false(&self) -> Option<NodeView<'a>> {
        (!self.is_leaf()).then(|| self.ensemble.node(self.raw().left as usize + 1))
    }

    /// Whether `x` takes the `on_true` branch (a leaf takes none).
    pub fn goes_true(&self, x: f32) -> bool {
        let node = self.raw();
        !self.is_leaf() && node.next::<true>(x) == node.left
    }

    /// A leaf's `(target, weight)` pairs; empty for a branch.
    pub fn leaf_weights(&self) -> impl Iterator<Item = (usize, f32)> + 'a {
        let e = self.ensemble;
        let range = e.weight_at[self.index] as usize..e.weight_at[self.index + 1] as usize;
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

    /// What ONNX says a branch does, written out plainly.
    fn stated_goes_true(mode: Mode, t: f32, missing_goes_true: bool, x: f32) -> bool {
        let holds = match mode {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
            Mode::Leaf => unreachable!(),
        };
        holds || (missing_goes_true && x.is_nan())
    }

    #[test]
    fn every_mode_sends_every_value_where_the_graph_says_at_the_edges_and_when_missing() {
        let tiny = f32::from_bits(1); // the smallest subnormal
        let specials = [
            0.0,
            -0.0,
            tiny,
            -tiny,
            1.0,
            -1.0,
            0.5,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut xs: Vec<f32> = Vec::new();
        for v in specials {
            xs.extend([v, v.next_up(), v.next_down()]);
        }
        for mode in [Mode::Leq, Mode::Lt, Mode::Gte, Mode::Gt, Mode::Eq, Mode::Neq] {
            for missing in [false, true] {
                for &t in &xs {
                    let mut a = stumps(1, mode, &[(0, 1.0, 2.0)]);
                    a.values[0] = t;
                    a.missing_tracks_true[0] = missing;
                    let e = TreeEnsemble::build(&a, 1, Aggregate::Sum).expect("valid");
                    for &x in &xs {
                        let want = if stated_goes_true(mode, t, missing, x) { 1.0 } else { 2.0 };
                        assert_eq!(
                            run(&e, x),
                            vec![want],
                            "{mode:?} threshold {t:e}, missing→true {missing}, x {x:e}"
                        );
                        // The view explanations walk agrees with the scores.
                        let root = e.trees().next().expect("a tree");
                        let side = if root.goes_true(x) { root.on_true() } else { root.on_false() };
                        let weight = side.expect("a branch").leaf_weights().next().expect("a weight").1;
                        assert_eq!(weight, want, "view of {mode:?} threshold {t:e} at x {x:e}");
                    }
                }
            }
        }
    }

    /// A reproducible stream of numbers for generated trees (xorshift).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn value(&mut self) -> f32 {
            (self.below(2001) as f32 - 1000.0) / 100.0
        }
    }

    /// `trees` random trees over `width` features, every mode, missing values
    /// tracked either way, node ids shuffled, leaves of different depths.
    fn random_forest(noise: &mut Noise, trees: usize, width: usize, targets: usize) -> TreeAttributes {
        let modes = [Mode::Leq, Mode::Lt, Mode::Gte, Mode::Gt, Mode::Eq, Mode::Neq];
        let mut a = TreeAttributes::default();
        for tree in 0..trees as i64 {
            let size = 1 + 2 * noise.below(40) as i64; // a full binary tree: odd node count
            // Node k's children are the next two unused ids, given in a shuffled id space.
            let ids: Vec<i64> = {
                let ids: Vec<i64> = (0..size).map(|i| i * 7 % size.max(1) + 100 * i).collect();
                let keys: Vec<u64> = ids.iter().map(|_| noise.next()).collect();
                let mut order: Vec<usize> = (0..ids.len()).collect();
                order.sort_by_key(|&i| keys[i]);
                let mut ids: Vec<i64> = order.iter().map(|&i| ids[i]).collect();
                // The root is the tree's smallest id.
                let smallest = (0..ids.len()).min_by_key(|&i| ids[i]).unwrap_or(0);
                ids.swap(0, smallest);
                ids
            };
            let mut next = 1;
            let mut open = vec![0i64];
            while let Some(k) = open.pop() {
                let branch = next + 1 < size && (k == 0 || noise.below(4) != 0);
                a.tree_ids.push(tree);
                a.node_ids.push(ids[k as usize]);
                a.feature_ids.push(noise.below(width as u64) as i64);
                a.values.push(noise.value());
                a.missing_tracks_true.push(noise.below(2) == 0);
                if branch {
                    let mode = modes[noise.below(6) as usize];
                    a.modes.push(mode);
                    a.true_ids.push(ids[next as usize]);
                    a.false_ids.push(ids[next as usize + 1]);
                    open.push(next);
                    open.push(next + 1);
                    next += 2;
                } else {
                    a.modes.push(Mode::Leaf);
                    a.true_ids.push(0);
                    a.false_ids.push(0);
                    for target in 0..targets as i64 {
                        if noise.below(3) != 0 {
                            a.leaf_tree_ids.push(tree);
                            a.leaf_node_ids.push(ids[k as usize]);
                            a.leaf_targets.push(target);
                            a.leaf_weights.push(noise.value());
                        }
                    }
                }
            }
        }
        a
    }

    /// Each row walked node by node through the stated attributes.
    fn stated_scores(
        a: &TreeAttributes,
        row: &[f32],
        targets: usize,
        aggregate: Aggregate,
    ) -> (Vec<f32>, Vec<bool>) {
        let find = |tree: i64, id: i64| {
            (0..a.node_ids.len()).find(|&i| a.tree_ids[i] == tree && a.node_ids[i] == id)
        };
        let mut scores = vec![0.0f32; targets];
        let mut has = vec![false; targets];
        let mut trees: Vec<i64> = a.tree_ids.clone();
        trees.sort_unstable();
        trees.dedup();
        for tree in trees {
            let root =
                (0..a.node_ids.len()).filter(|&i| a.tree_ids[i] == tree).min_by_key(|&i| a.node_ids[i]);
            let mut i = root.expect("a root");
            while a.modes[i] != Mode::Leaf {
                let x = row[a.feature_ids[i] as usize];
                let id = if stated_goes_true(a.modes[i], a.values[i], a.missing_tracks_true[i], x) {
                    a.true_ids[i]
                } else {
                    a.false_ids[i]
                };
                i = find(tree, id).expect("child");
            }
            for w in 0..a.leaf_node_ids.len() {
                if a.leaf_tree_ids[w] == tree && a.leaf_node_ids[w] == a.node_ids[i] {
                    let (t, v) = (a.leaf_targets[w] as usize, a.leaf_weights[w]);
                    scores[t] = match aggregate {
                        Aggregate::Sum | Aggregate::Average => scores[t] + v,
                        Aggregate::Min if has[t] => scores[t].min(v),
                        Aggregate::Max if has[t] => scores[t].max(v),
                        Aggregate::Min | Aggregate::Max => v,
                    };
                    has[t] = true;
                }
            }
        }
        (scores, has)
    }

    #[test]
    fn rows_walked_in_lockstep_or_alone_reach_the_leaves_the_graph_states() {
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        let (width, targets) = (5, 3);
        for trees in [1, 3, LANES, LANES + 5, CHUNK_TREES + 8, 3 * CHUNK_TREES + 1] {
            for aggregate in [Aggregate::Sum, Aggregate::Min, Aggregate::Max] {
                let a = random_forest(&mut noise, trees, width, targets);
                let e = TreeEnsemble::build(&a, targets, aggregate).expect("valid");
                for n in [1, 2, LANES - 1, LANES, 3 * LANES + 5] {
                    let rows: Vec<f32> = (0..n * width)
                        .map(|_| match noise.below(10) {
                            0 => f32::NAN,
                            1 => [f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0][noise.below(4) as usize],
                            _ => noise.value(),
                        })
                        .collect();
                    let mut scores = vec![0.0; n * targets];
                    let mut has = vec![false; n * targets];
                    e.accumulate_block(&rows, width, &mut scores, &mut has, &mut ChunkScores::default());
                    for (r, row) in rows.chunks_exact(width).enumerate() {
                        let (want, want_has) = stated_scores(&a, row, targets, aggregate);
                        let got = &scores[r * targets..(r + 1) * targets];
                        for t in 0..targets {
                            assert!(
                                (got[t] - want[t]).abs() <= 1e-4 * want[t].abs().max(1.0),
                                "{trees} trees, {n} rows, row {r}, target {t}: {} vs {}",
                                got[t],
                                want[t]
                            );
                        }
                        assert_eq!(&has[r * targets..(r + 1) * targets], want_has.as_slice(), "row {r}");
                        // The same bits alone as in the batch, and chunk by chunk in any order of work.
                        let (mut alone, mut alone_has) = (vec![0.0; targets], vec![false; targets]);
                        e.accumulate(row, &mut alone, &mut alone_has);
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&alone), bits(got), "row {r} alone");
                        let chunks: Vec<ChunkScores> =
                            (0..e.n_chunks()).rev().map(|c| e.chunk_scores_owned(c, row, width)).collect();
                        let (mut folded, mut folded_has) = (vec![0.0; targets], vec![false; targets]);
                        for chunk in chunks.iter().rev() {
                            e.fold(&mut folded, &mut folded_has, chunk);
                        }
                        assert_eq!(bits(&folded), bits(got), "row {r} chunk by chunk");
                    }
                }
            }
        }
    }
}
