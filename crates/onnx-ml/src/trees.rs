//! `TreeEnsembleClassifier` and `TreeEnsembleRegressor` as tract ops: parsing
//! their ONNX attributes, the scores onnxruntime gives (base values, binary
//! layouts, post transforms), and batches split across cores when that pays.

use std::sync::Arc;

use rayon::prelude::*;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use crate::labels::ClassLabels;
use crate::tensors::floats;

use super::ensemble::{
    Aggregate, ChunkScores, Mode, PostTransform, TreeAttributes, TreeEnsemble, transform_scores,
};

fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

/// Reads the node and leaf attributes; `prefix` is `class` or `target`.
fn tree_attributes(ctx: &ParsingContext<'_>, node: &NodeProto, prefix: &str) -> TractResult<TreeAttributes> {
    let modes = node
        .get_attr_opt_tvec::<&str>("nodes_modes")?
        .unwrap_or_default()
        .iter()
        .map(|m| Mode::parse(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n = modes.len();
    Ok(TreeAttributes {
        tree_ids: ints(node, "nodes_treeids")?,
        node_ids: ints(node, "nodes_nodeids")?,
        feature_ids: ints(node, "nodes_featureids")?,
        modes,
        values: floats(ctx, node, "nodes_values")?.unwrap_or_default(),
        true_ids: ints(node, "nodes_truenodeids")?,
        false_ids: ints(node, "nodes_falsenodeids")?,
        missing_tracks_true: node
            .get_attr_opt_vec::<i64>("nodes_missing_value_tracks_true")?
            .map(|v| v.into_iter().map(|b| b != 0).collect())
            .unwrap_or_else(|| vec![false; n]),
        leaf_tree_ids: ints(node, &format!("{prefix}_treeids"))?,
        leaf_node_ids: ints(node, &format!("{prefix}_nodeids"))?,
        leaf_targets: ints(node, &format!("{prefix}_ids"))?,
        leaf_weights: floats(ctx, node, &format!("{prefix}_weights"))?.unwrap_or_default(),
    })
}

fn post_transform(node: &NodeProto) -> TractResult<PostTransform> {
    PostTransform::parse(node.get_attr_opt::<&str>("post_transform")?.unwrap_or("NONE"))
}

/// Rows walked together, tree by tree (see `TreeEnsemble::accumulate_block`).
const BLOCK_ROWS: usize = 64;

/// Rows × trees from which a batch's rows are split across cores.
const PARALLEL_WORK: usize = 8 * 1024;

/// Nodes (12 bytes each) from which a batch too small to split by rows is
/// split by trees instead: such an ensemble outgrows one core's cache (2 MiB
/// of L2 on the machine measured), a row then mostly waits on memory, and two
/// cores wait in parallel. Smaller ensembles stay on one core, where a row of
/// 900 cached boosting trees was measured faster than split.
const SPLIT_TREES_NODES: usize = 256 * 1024;

/// What runs for each block of rows: their features, their outputs, the thread's scratch.
type BlockFn<'a> = dyn Fn(&[f32], &mut [f32], &mut Scratch) + Sync + 'a;

/// Per-thread working space for a block's scores, allocated once per thread.
struct Scratch {
    scores: Vec<f32>,
    has: Vec<bool>,
    spare: ChunkScores,
    /// Score the block's trees on several cores (a small batch of a large ensemble).
    split_trees: bool,
}

impl Scratch {
    /// The block's scores (`n_targets` per row) and which of them any leaf gave.
    fn scores_of(
        &mut self,
        ensemble: &TreeEnsemble,
        block: &[f32],
        width: usize,
    ) -> (&mut [f32], &mut [bool]) {
        let len = block.len() / width.max(1) * ensemble.n_targets();
        let (scores, has) = (&mut self.scores[..len], &mut self.has[..len]);
        if self.split_trees {
            // Each chunk of trees on whichever core is free, folded in order:
            // the same bits as one core gives.
            let chunks: Vec<ChunkScores> = (0..ensemble.n_chunks())
                .into_par_iter()
                .map(|chunk| ensemble.chunk_scores_owned(chunk, block, width))
                .collect();
            scores.fill(0.0);
            has.fill(false);
            for chunk in &chunks {
                ensemble.fold(scores, has, chunk);
            }
        } else {
            ensemble.accumulate_block(block, width, scores, has, &mut self.spare);
        }
        (scores, has)
    }
}

/// Runs `per_block` over the rows of `input` (each `width` wide, each writing
/// `out_width` outputs) in blocks of [`BLOCK_ROWS`]: the rows split across
/// cores when the batch is large enough to pay for it, the trees when the
/// batch is small but the ensemble large, otherwise on the calling thread.
fn for_each_block(
    input: &[f32],
    width: usize,
    out: &mut [f32],
    out_width: usize,
    ensemble: &TreeEnsemble,
    per_block: &BlockFn<'_>,
) {
    let targets = ensemble.n_targets();
    let rows = out.len() / out_width.max(1);
    let threads = rayon::current_num_threads().min(8);
    let split_rows = threads >= 2 && rows * ensemble.n_trees() >= PARALLEL_WORK && rows >= 2 * threads;
    let split_trees = threads >= 2
        && !split_rows
        && rows <= BLOCK_ROWS
        && ensemble.n_chunks() >= 2
        && ensemble.n_nodes() >= SPLIT_TREES_NODES;
    let run = |inputs: &[f32], outputs: &mut [f32]| {
        let mut scratch = Scratch {
            scores: vec![0.0; BLOCK_ROWS * targets],
            has: vec![false; BLOCK_ROWS * targets],
            spare: ChunkScores::default(),
            split_trees,
        };
        for (rows, outs) in inputs.chunks(BLOCK_ROWS * width).zip(outputs.chunks_mut(BLOCK_ROWS * out_width))
        {
            per_block(rows, outs, &mut scratch);
        }
    };
    if !split_rows {
        run(input, out);
        return;
    }
    let per_thread = rows.div_ceil(threads);
    input
        .par_chunks(per_thread * width)
        .zip(out.par_chunks_mut(per_thread * out_width))
        .for_each(|(inputs, outputs)| run(inputs, outputs));
}

/// The input as contiguous f32 rows, checked wide enough for the ensemble.
fn rows_of(input: &TValue, needed: usize) -> TractResult<(Vec<f32>, usize, usize)> {
    let input = input.cast_to::<f32>()?;
    let view = input.to_plain_array_view::<f32>()?;
    let shape = view.shape().to_vec();
    let (rows, width) = match shape.as_slice() {
        [rows, width] => (*rows, *width),
        [width] => (1, *width),
        other => bail!("a tree ensemble takes [rows, features]; got shape {other:?}"),
    };
    ensure!(width >= needed, "the ensemble reads feature {} but rows have {width}", needed.saturating_sub(1));
    Ok((view.iter().copied().collect(), rows, width))
}

/// `TreeEnsembleClassifier`: outputs the label and the class scores.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeClassifier {
    ensemble: Arc<TreeEnsemble>,
    labels: ClassLabels,
    base_values: Vec<f32>,
    transform: PostTransform,
    /// Two classes and only one of them in the leaves (onnxruntime's "binary case").
    binary_case: bool,
    weights_all_positive: bool,
}

pub(crate) fn parse_classifier(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = ClassLabels::of_node(node, &["classlabels_int64s"])?
        .context("a classifier must set classlabels_int64s or classlabels_strings")?;
    ensure!(labels.len() >= 2, "a classifier needs at least two classes");
    let attributes = tree_attributes(ctx, node, "class")?;
    let ensemble = TreeEnsemble::build(&attributes, labels.len(), Aggregate::Sum)?;
    let (classes_in_leaves, weights_all_positive) = ensemble.weight_summary();
    let op = TreeClassifier {
        binary_case: labels.len() == 2 && classes_in_leaves.len() == 1,
        weights_all_positive,
        ensemble: Arc::new(ensemble),
        labels,
        base_values: floats(ctx, node, "base_values")?.unwrap_or_default(),
        transform: post_transform(node)?,
    };
    Ok((expand(op), vec![]))
}

// tract dedupes equal ops; comparing the parsed attributes is enough (no NaN thresholds in practice).
impl Eq for TreeClassifier {}

impl TreeClassifier {
    fn n_classes(&self) -> usize {
        self.labels.len()
    }

    /// The trees.
    pub fn ensemble(&self) -> &TreeEnsemble {
        &self.ensemble
    }

    /// What is added to each class's sum before the post transform.
    pub fn base_values(&self) -> &[f32] {
        &self.base_values
    }

    /// What turns the sums into scores.
    pub fn post_transform(&self) -> PostTransform {
        self.transform
    }

    /// Two classes and only one of them in the leaves (onnxruntime's binary
    /// case): the leaves' sum plus the first base value is the positive
    /// class's score.
    pub fn binary_case(&self) -> bool {
        self.binary_case
    }

    /// Whether every leaf weight is positive (in the binary case, the score
    /// is then a probability of the positive class, not a margin).
    pub fn weights_all_positive(&self) -> bool {
        self.weights_all_positive
    }

    /// The class scores of `n` row-major rows of `width` floats, `n × classes`,
    /// as the operator's second output, without tract's tensors.
    pub fn class_scores(&self, rows: &[f32], n: usize, width: usize) -> Vec<f32> {
        self.scores_and_labels(rows, n, width).0
    }

    /// The class scores and each row's label index.
    fn scores_and_labels(&self, rows: &[f32], n: usize, width: usize) -> (Vec<f32>, Vec<usize>) {
        let classes = self.n_classes();
        // Each row's scores, then its label index in a trailing slot.
        let mut out = vec![0.0f32; n * (classes + 1)];
        for_each_block(rows, width, &mut out, classes + 1, &self.ensemble, &|block, outs, scratch| {
            let (scores, has) = scratch.scores_of(&self.ensemble, block, width);
            for ((scores, has), out_row) in scores
                .chunks_exact_mut(classes)
                .zip(has.chunks_exact_mut(classes))
                .zip(outs.chunks_exact_mut(classes + 1))
            {
                let label = self.finish(scores, has, &mut out_row[..classes]);
                out_row[classes] = label as f32;
            }
        });
        let mut probabilities = Vec::with_capacity(n * classes);
        let mut label_ix = Vec::with_capacity(n);
        for chunk in out.chunks_exact(classes + 1) {
            probabilities.extend_from_slice(&chunk[..classes]);
            label_ix.push(chunk[classes] as usize);
        }
        (probabilities, label_ix)
    }

    /// One row's label index and class scores, as onnxruntime computes them.
    fn finish(&self, scores: &mut [f32], has: &mut [bool], out: &mut [f32]) -> usize {
        let base = &self.base_values;
        if self.n_classes() > 2 {
            for (k, b) in base.iter().enumerate().take(scores.len()) {
                scores[k] = if has[k] { scores[k] + b } else { *b };
                has[k] = true;
            }
            let mut best: Option<usize> = None;
            for k in 0..scores.len() {
                if has[k] && best.is_none_or(|b| scores[k] > scores[b]) {
                    best = Some(k);
                }
            }
            for k in 0..scores.len() {
                if !has[k] {
                    scores[k] = 0.0;
                }
            }
            transform_scores(scores, self.transform);
            out.copy_from_slice(scores);
            return best.unwrap_or(0);
        }
        // Two classes: onnxruntime's binary rules.
        let mut len = 2;
        let mut second_class: i8 = -1;
        match base.len() {
            2 if has[1] => {
                scores[1] = base[1] + scores[0];
                scores[0] = -scores[1];
            }
            2 => {
                scores[1] += base[1];
                scores[0] += base[0];
            }
            1 => {
                scores[0] += base[0];
                if !has[1] {
                    len = 1;
                }
            }
            _ => {
                second_class = 3;
                if !has[1] {
                    len = 1;
                }
            }
        }
        let positive = if len == 2 && has[1] {
            scores[1]
        } else if has[0] {
            scores[0]
        } else {
            0.0
        };
        let label = if self.binary_case {
            match (self.weights_all_positive, positive) {
                (true, p) if p > 0.5 => {
                    second_class = 0;
                    1
                }
                (true, _) => {
                    second_class = 1;
                    0
                }
                (false, p) if p > 0.0 => {
                    second_class = 2;
                    1
                }
                (false, _) => {
                    second_class = 3;
                    0
                }
            }
        } else {
            usize::from(positive > 0.0)
        };
        if len == 2 {
            for k in 0..2 {
                if !has[k] && base.is_empty() {
                    scores[k] = 0.0;
                }
            }
            transform_scores(&mut scores[..2], self.transform);
            out.copy_from_slice(&scores[..2]);
            return label;
        }
        let s = scores[0];
        let (negative, positive) = match (self.transform, second_class) {
            (PostTransform::Probit, _) => (super::ensemble::probit(s), 0.0),
            (_, 0 | 1) => (1.0 - s, s),
            (PostTransform::Logistic, 2 | 3) => (super::ensemble::logistic(-s), super::ensemble::logistic(s)),
            (_, 2 | 3) => (-s, s),
            _ => (s, 0.0),
        };
        out[0] = negative;
        out[1] = positive;
        label
    }
}

impl Expansion for TreeClassifier {
    fn name(&self) -> StaticName {
        "TreeEnsembleClassifier".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 2)?;
        s.equals(&outputs[0].datum_type, self.labels.datum_type())?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[1], self.n_classes().to_dim())?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for TreeClassifier {
    fn name(&self) -> StaticName {
        "TreeEnsembleClassifier".into()
    }

    op_as_typed_op!();
}

impl EvalOp for TreeClassifier {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (rows, n, width) = rows_of(&input, self.ensemble.n_features())?;
        let classes = self.n_classes();
        let (probabilities, label_ix) = self.scores_and_labels(&rows, n, width);
        let labels = self.labels.tensor(&label_ix)?;
        let scores = Tensor::from_shape(&[n, classes], &probabilities)?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

impl TypedOp for TreeClassifier {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(
            self.labels.datum_type().fact(std::slice::from_ref(&n)),
            f32::fact(&[n, self.n_classes().to_dim()])
        ))
    }

    as_op!();
}

/// `TreeEnsembleRegressor`: outputs `[rows, n_targets]` values.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeRegressor {
    ensemble: Arc<TreeEnsemble>,
    base_values: Vec<f32>,
    transform: PostTransform,
}

pub(crate) fn parse_regressor(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let n_targets: i64 = node.get_attr_opt("n_targets")?.unwrap_or(1);
    ensure!(n_targets >= 1, "n_targets must be at least 1");
    let aggregate = Aggregate::parse(node.get_attr_opt::<&str>("aggregate_function")?.unwrap_or("SUM"))?;
    let attributes = tree_attributes(ctx, node, "target")?;
    let op = TreeRegressor {
        ensemble: Arc::new(TreeEnsemble::build(&attributes, n_targets as usize, aggregate)?),
        base_values: floats(ctx, node, "base_values")?.unwrap_or_default(),
        transform: post_transform(node)?,
    };
    Ok((expand(op), vec![]))
}

/// `TreeEnsemble` (ai.onnx.ml opset 5): the same trees, no base values.
pub(crate) fn parse_tree_ensemble(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (attributes, n_targets, aggregate, transform) = crate::tree_ensemble5::attributes(ctx, node)?;
    let op = TreeRegressor {
        ensemble: Arc::new(TreeEnsemble::build(&attributes, n_targets, aggregate)?),
        base_values: Vec::new(),
        transform,
    };
    Ok((expand(op), vec![]))
}

impl Eq for TreeRegressor {}

impl TreeRegressor {
    /// The trees.
    pub fn ensemble(&self) -> &TreeEnsemble {
        &self.ensemble
    }

    /// What is added to each target's sum before the post transform.
    pub fn base_values(&self) -> &[f32] {
        &self.base_values
    }

    /// What turns the sums into values.
    pub fn post_transform(&self) -> PostTransform {
        self.transform
    }

    /// The values of `n` row-major rows of `width` floats, `n × targets`, as
    /// the operator's output, without tract's tensors.
    pub fn values(&self, rows: &[f32], n: usize, width: usize) -> Vec<f32> {
        let targets = self.ensemble.n_targets();
        let mut out = vec![0.0f32; n * targets];
        for_each_block(rows, width, &mut out, targets, &self.ensemble, &|block, outs, scratch| {
            let (scores, has) = scratch.scores_of(&self.ensemble, block, width);
            for ((scores, has), out_row) in scores
                .chunks_exact_mut(targets)
                .zip(has.chunks_exact(targets))
                .zip(outs.chunks_exact_mut(targets))
            {
                self.finish(scores, has, out_row);
            }
        });
        out
    }

    /// One row's values, as onnxruntime computes them.
    fn finish(&self, scores: &mut [f32], has: &[bool], out: &mut [f32]) {
        let trees = self.ensemble.n_trees() as f32;
        let base = &self.base_values;
        if scores.len() == 1 {
            let origin = if base.len() == 1 { base[0] } else { 0.0 };
            let s = match self.ensemble.aggregate() {
                Aggregate::Sum => scores[0] + origin,
                Aggregate::Average => scores[0] / trees + origin,
                Aggregate::Min | Aggregate::Max => {
                    if has[0] {
                        scores[0] + origin
                    } else {
                        origin
                    }
                }
            };
            out[0] = if self.transform == PostTransform::Probit { super::ensemble::probit(s) } else { s };
            return;
        }
        let use_base = base.len() == scores.len();
        for k in 0..scores.len() {
            let b = if use_base { base[k] } else { 0.0 };
            scores[k] = match self.ensemble.aggregate() {
                Aggregate::Sum => scores[k] + b,
                Aggregate::Average => scores[k] / trees + b,
                Aggregate::Min | Aggregate::Max => b + if has[k] { scores[k] } else { 0.0 },
            };
        }
        transform_scores(scores, self.transform);
        out.copy_from_slice(scores);
    }
}

impl Expansion for TreeRegressor {
    fn name(&self) -> StaticName {
        "TreeEnsembleRegressor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], self.ensemble.n_targets().to_dim())?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for TreeRegressor {
    fn name(&self) -> StaticName {
        "TreeEnsembleRegressor".into()
    }

    op_as_typed_op!();
}

impl EvalOp for TreeRegressor {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (rows, n, width) = rows_of(&input, self.ensemble.n_features())?;
        let targets = self.ensemble.n_targets();
        let out = self.values(&rows, n, width);
        Ok(tvec!(Tensor::from_shape(&[n, targets], &out)?.into_tvalue()))
    }
}

impl TypedOp for TreeRegressor {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(&[inputs[0].shape[0].clone(), self.ensemble.n_targets().to_dim()])))
    }

    as_op!();
}
