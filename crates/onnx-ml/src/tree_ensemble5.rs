//! `ai.onnx.ml` opset 5's `TreeEnsemble`: its attributes (interior nodes
//! and leaves in separate lists, modes and thresholds as tensors, set
//! membership splits) read into the same trees the opset 1–3 operators
//! build, so it runs, and is explained, by the same code.
//!
//! A `BRANCH_MEMBER` split on a set of values becomes a chain of equality
//! tests sharing one true child, which the layout lays out as a tree.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use crate::ensemble::{Aggregate, Mode, PostTransform, TreeAttributes};

/// The attributes of a `TreeEnsemble` node, as the older operators state
/// them, with its aggregate and post transform.
pub(crate) fn attributes(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(TreeAttributes, usize, Aggregate, PostTransform)> {
    let n_targets = usize::try_from(node.get_attr_opt::<i64>("n_targets")?.unwrap_or(0))
        .ok()
        .filter(|&n| n > 0)
        .context("TreeEnsemble: n_targets must be at least 1")?;
    let aggregate = match node.get_attr_opt::<i64>("aggregate_function")?.unwrap_or(1) {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        other => bail!("TreeEnsemble: unknown aggregate_function {other}"),
    };
    let transform = match node.get_attr_opt::<i64>("post_transform")?.unwrap_or(0) {
        0 => PostTransform::None,
        1 => PostTransform::Softmax,
        2 => PostTransform::Logistic,
        3 => PostTransform::SoftmaxZero,
        4 => PostTransform::Probit,
        other => bail!("TreeEnsemble: unknown post_transform {other}"),
    };
    let ints =
        |name: &str| -> TractResult<Vec<i64>> { Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default()) };
    let tensor = |name: &str| -> TractResult<Option<Tensor>> {
        match node.get_attr_opt::<&tract_onnx::pb::TensorProto>(name)? {
            Some(proto) => Ok(Some(ctx.load_tensor(proto)?)),
            None => Ok(None),
        }
    };
    let floats = |name: &str| -> TractResult<Vec<f32>> {
        match tensor(name)? {
            Some(t) => Ok(t.cast_to::<f32>()?.to_plain_array_view::<f32>()?.iter().copied().collect()),
            None => Ok(Vec::new()),
        }
    };
    let modes: Vec<i64> = match tensor("nodes_modes")? {
        Some(t) => t.cast_to::<i64>()?.to_plain_array_view::<i64>()?.iter().copied().collect(),
        None => Vec::new(),
    };
    let splits = floats("nodes_splits")?;
    let features = ints("nodes_featureids")?;
    let true_ids = ints("nodes_truenodeids")?;
    let false_ids = ints("nodes_falsenodeids")?;
    let true_leafs = ints("nodes_trueleafs")?;
    let false_leafs = ints("nodes_falseleafs")?;
    let missing = ints("nodes_missing_value_tracks_true")?;
    let roots = ints("tree_roots")?;
    let leaf_targets = ints("leaf_targetids")?;
    let leaf_weights = floats("leaf_weights")?;
    let members = floats("membership_values")?;

    let n = modes.len();
    for (name, len) in [
        ("nodes_splits", splits.len()),
        ("nodes_featureids", features.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_trueleafs", true_leafs.len()),
        ("nodes_falseleafs", false_leafs.len()),
    ] {
        ensure!(len == n, "TreeEnsemble: {name} has {len} entries for {n} nodes");
    }
    ensure!(
        missing.is_empty() || missing.len() == n,
        "TreeEnsemble: nodes_missing_value_tracks_true has {} entries for {n} nodes",
        missing.len()
    );
    let leaves = leaf_weights.len();
    ensure!(
        leaf_targets.len() == leaves,
        "TreeEnsemble: {} leaf targets for {leaves} leaf weights",
        leaf_targets.len()
    );
    ensure!(!roots.is_empty(), "TreeEnsemble: no tree_roots");
    let members_of = member_sets(&modes, &members)?;

    // Stated ids: interior node i is i, leaf j is n + j, chain nodes after.
    let leaf_id = |j: i64| -> TractResult<i64> {
        ensure!((0..leaves as i64).contains(&j), "TreeEnsemble: leaf {j} does not exist ({leaves} leaves)");
        Ok(n as i64 + j)
    };
    let node_id = |i: i64| -> TractResult<i64> {
        ensure!((0..n as i64).contains(&i), "TreeEnsemble: node {i} does not exist ({n} nodes)");
        Ok(i)
    };
    let child = |id: i64, is_leaf: i64| if is_leaf != 0 { leaf_id(id) } else { node_id(id) };

    let mut a = TreeAttributes::default();
    let mut next_id = (n + leaves) as i64;
    // Each tree's nodes, found from its root; a node in two trees is refused.
    let mut tree_of: Vec<Option<usize>> = vec![None; n + leaves];
    for (tree, &root) in roots.iter().enumerate() {
        let mut stack = vec![node_id(root)?];
        while let Some(id) = stack.pop() {
            let at = usize::try_from(id).unwrap_or(usize::MAX);
            match tree_of.get(at).copied().flatten() {
                Some(t) if t == tree => continue,
                Some(_) => bail!("TreeEnsemble: node {id} belongs to two trees"),
                None => tree_of[at] = Some(tree),
            }
            if at < n {
                stack.push(child(true_ids[at], true_leafs[at])?);
                stack.push(child(false_ids[at], false_leafs[at])?);
            }
        }
    }
    for i in 0..n {
        let Some(tree) = tree_of[i] else { continue };
        let on_true = child(true_ids[i], true_leafs[i])?;
        let on_false = child(false_ids[i], false_leafs[i])?;
        let tracks = missing.get(i).is_some_and(|&m| m != 0);
        let mode = match modes[i] {
            0 => Mode::Leq,
            1 => Mode::Lt,
            2 => Mode::Gte,
            3 => Mode::Gt,
            4 => Mode::Eq,
            5 => Mode::Neq,
            6 => {
                // x ∈ {v1…vk}: "x == v1, else x == v2, … else false".
                let set = members_of[i].as_deref().unwrap_or_default();
                ensure!(!set.is_empty(), "TreeEnsemble: node {i} tests membership of an empty set");
                let mut id = i as i64;
                for (k, &value) in set.iter().enumerate() {
                    let last = k + 1 == set.len();
                    let next = if last { on_false } else { next_id };
                    push(&mut a, tree, id, features[i], Mode::Eq, value, on_true, next, tracks);
                    if !last {
                        id = next_id;
                        next_id += 1;
                    }
                }
                continue;
            }
            other => bail!("TreeEnsemble: node {i} has unknown mode {other}"),
        };
        push(&mut a, tree, i as i64, features[i], mode, splits[i], on_true, on_false, tracks);
    }
    for j in 0..leaves {
        let Some(tree) = tree_of[n + j] else { continue };
        let id = (n + j) as i64;
        push(&mut a, tree, id, 0, Mode::Leaf, 0.0, 0, 0, false);
        a.leaf_tree_ids.push(tree as i64);
        a.leaf_node_ids.push(id);
        a.leaf_targets.push(leaf_targets[j]);
        a.leaf_weights.push(leaf_weights[j]);
    }
    Ok((a, n_targets, aggregate, transform))
}

#[expect(clippy::too_many_arguments, reason = "one node's attributes, as the older operators list them")]
fn push(
    a: &mut TreeAttributes,
    tree: usize,
    id: i64,
    feature: i64,
    mode: Mode,
    threshold: f32,
    on_true: i64,
    on_false: i64,
    tracks: bool,
) {
    a.tree_ids.push(tree as i64);
    a.node_ids.push(id);
    a.feature_ids.push(feature);
    a.modes.push(mode);
    a.values.push(threshold);
    a.true_ids.push(on_true);
    a.false_ids.push(on_false);
    a.missing_tracks_true.push(tracks);
}

/// Each `BRANCH_MEMBER` node's set: `membership_values` holds the sets of
/// those nodes in node order, each ended by a NaN.
fn member_sets(modes: &[i64], values: &[f32]) -> TractResult<Vec<Option<Vec<f32>>>> {
    let mut sets = values.split(|v| v.is_nan());
    let mut out = Vec::with_capacity(modes.len());
    for &mode in modes {
        if mode == 6 {
            let set = sets
                .next()
                .context("TreeEnsemble: membership_values holds fewer sets than BRANCH_MEMBER nodes")?;
            out.push(Some(set.to_vec()));
        } else {
            out.push(None);
        }
    }
    Ok(out)
}
