//! `LinearClassifier` and `LinearRegressor` as onnxruntime runs them, with
//! integer or text class labels (tract's own classifier cannot give text
//! labels), and their coefficients readable for explanations.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use crate::ensemble::{PostTransform, probit, transform_scores};
use crate::labels::ClassLabels;
use crate::tensors::{cast, floats, tensor_of};

/// A linear model's weights: `scores = x · Wᵀ + b`, one row of `W` per target.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearWeights {
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    targets: usize,
}

impl LinearWeights {
    fn new(coefficients: Vec<f32>, intercepts: Option<Vec<f32>>, targets: usize) -> TractResult<Self> {
        ensure!(targets > 0, "a linear model needs at least one target");
        ensure!(
            !coefficients.is_empty() && coefficients.len().is_multiple_of(targets),
            "{} coefficients do not divide into {targets} targets",
            coefficients.len()
        );
        let intercepts = intercepts.unwrap_or_else(|| vec![0.0; targets]);
        ensure!(intercepts.len() == targets, "{} intercepts for {targets} targets", intercepts.len());
        Ok(Self { coefficients, intercepts, targets })
    }

    /// How many targets (score columns).
    pub fn targets(&self) -> usize {
        self.targets
    }

    /// How many features a row has.
    pub fn features(&self) -> usize {
        self.coefficients.len() / self.targets
    }

    /// Target `t`'s coefficients, one per feature.
    pub fn coefficients(&self, t: usize) -> &[f32] {
        let f = self.features();
        &self.coefficients[t * f..(t + 1) * f]
    }

    /// Target `t`'s intercept.
    pub fn intercept(&self, t: usize) -> f32 {
        self.intercepts[t]
    }

    /// Each row's raw scores, `rows × targets`.
    fn scores(&self, x: &[f32]) -> Vec<f32> {
        let f = self.features();
        let mut out = Vec::with_capacity(x.len() / f * self.targets);
        for row in x.chunks_exact(f) {
            for t in 0..self.targets {
                let w = self.coefficients(t);
                // Fused multiply-adds in order (the product and sum exact in
                // f64, rounded once to f32), then the intercept: onnxruntime's
                // arithmetic, so answers match it to the last bit.
                let dot = row
                    .iter()
                    .zip(w)
                    .fold(0.0f32, |acc, (x, w)| (f64::from(*x) * f64::from(*w) + f64::from(acc)) as f32);
                out.push(dot + self.intercepts[t]);
            }
        }
        out
    }
}

/// The input as rows of floats, checked as wide as the coefficients.
fn rows(input: &Tensor, features: usize) -> TractResult<(Vec<f32>, usize)> {
    let n = match input.shape() {
        [n, w] if *w == features => *n,
        [w] if *w == features => 1,
        other => bail!("a linear model of {features} features takes [rows, {features}]; got {other:?}"),
    };
    Ok((cast::<f32>(input)?, n))
}

fn post_transform(node: &NodeProto) -> TractResult<PostTransform> {
    PostTransform::parse(node.get_attr_opt::<&str>("post_transform")?.unwrap_or("NONE"))
}

/// `LinearClassifier`: the label (the class with the largest raw score) and the scores.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearClassifier {
    weights: LinearWeights,
    labels: ClassLabels,
    transform: PostTransform,
}

impl Eq for LinearClassifier {}

impl std::hash::Hash for LinearClassifier {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.labels.hash(state);
    }
}

pub(crate) fn parse_classifier(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = ClassLabels::of_node(node, &["classlabels_ints"])?
        .context("a classifier must set classlabels_ints or classlabels_strings")?;
    let coefficients = floats(ctx, node, "coefficients")?.unwrap_or_default();
    let intercepts = floats(ctx, node, "intercepts")?;
    let n_labels = labels.len();
    let targets = match &intercepts {
        Some(b) => b.len(),
        None if coefficients.len().is_multiple_of(n_labels) && n_labels > 2 => n_labels,
        None => 1,
    };
    let weights = LinearWeights::new(coefficients, intercepts, targets)?;
    ensure!(
        targets == n_labels || (targets == 1 && n_labels == 2),
        "{targets} score rows for {n_labels} class labels"
    );
    Ok((expand(LinearClassifier { weights, labels, transform: post_transform(node)? }), vec![]))
}

impl LinearClassifier {
    /// The weights.
    pub fn weights(&self) -> &LinearWeights {
        &self.weights
    }

    /// What turns raw scores into the scores output.
    pub fn post_transform(&self) -> PostTransform {
        self.transform
    }

    /// The class scores of row-major `x` (`rows × features`), `rows × classes`,
    /// as the operator's second output: tract's tensors left out, for callers
    /// that hold plain rows.
    pub fn class_scores(&self, x: &[f32]) -> Vec<f32> {
        self.picks_and_scores(x).1
    }

    /// Each row's label index (by raw score) and its transformed scores.
    fn picks_and_scores(&self, x: &[f32]) -> (Vec<usize>, Vec<f32>) {
        let mut scores = self.weights.scores(x);
        let targets = self.weights.targets();
        if targets == 1 {
            // One score row for two classes: the positive class wins above 0,
            // and the scores become [1 - p, p] after the transform.
            let picks: Vec<usize> = scores.iter().map(|s| usize::from(*s > 0.0)).collect();
            let out = scores
                .iter()
                .flat_map(|&s| {
                    let p = match self.transform {
                        PostTransform::Logistic => crate::ensemble::logistic(s),
                        PostTransform::Probit => probit(s),
                        _ => s,
                    };
                    [1.0 - p, p]
                })
                .collect();
            (picks, out)
        } else {
            let picks = scores
                .chunks_exact(targets)
                .map(|row| {
                    row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
                })
                .collect();
            for row in scores.chunks_exact_mut(targets) {
                transform_scores(row, self.transform);
            }
            (picks, scores)
        }
    }

    fn n_classes(&self) -> usize {
        self.labels.len()
    }

    fn label_type(&self) -> DatumType {
        self.labels.datum_type()
    }

    fn label_tensor(&self, picks: &[usize]) -> TractResult<Tensor> {
        self.labels.tensor(picks)
    }
}

impl Expansion for LinearClassifier {
    fn name(&self) -> StaticName {
        "LinearClassifier".into()
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
        s.equals(&outputs[0].datum_type, self.label_type())?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[1], self.n_classes().to_dim())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for LinearClassifier {
    fn name(&self) -> StaticName {
        "LinearClassifier".into()
    }

    op_as_typed_op!();
}

impl EvalOp for LinearClassifier {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, n) = rows(&inputs[0], self.weights.features())?;
        let (picks, out) = self.picks_and_scores(&x);
        let classes = self.n_classes();
        let labels = self.label_tensor(&picks)?;
        Ok(tvec!(labels.into_tvalue(), tensor_of(&[n, classes], out)?.into_tvalue()))
    }
}

impl TypedOp for LinearClassifier {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape.iter().next().cloned().unwrap_or_else(|| 1.to_dim());
        Ok(tvec!(self.label_type().fact(std::slice::from_ref(&n)), f32::fact([n, self.n_classes().to_dim()])))
    }

    as_op!();
}

/// `LinearRegressor`: `[rows, targets]` values.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegressor {
    weights: LinearWeights,
    transform: PostTransform,
}

impl Eq for LinearRegressor {}

impl std::hash::Hash for LinearRegressor {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.weights.targets.hash(state);
    }
}

pub(crate) fn parse_regressor(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let targets = usize::try_from(node.get_attr_opt::<i64>("targets")?.unwrap_or(1))
        .map_err(|_| format_err!("negative targets"))?;
    let weights = LinearWeights::new(
        floats(ctx, node, "coefficients")?.unwrap_or_default(),
        floats(ctx, node, "intercepts")?,
        targets,
    )?;
    Ok((expand(LinearRegressor { weights, transform: post_transform(node)? }), vec![]))
}

impl LinearRegressor {
    /// The weights.
    pub fn weights(&self) -> &LinearWeights {
        &self.weights
    }

    /// What turns raw scores into values.
    pub fn post_transform(&self) -> PostTransform {
        self.transform
    }

    /// The values of row-major `x` (`rows × features`), `rows × targets`,
    /// as the operator's output, without tract's tensors.
    pub fn values(&self, x: &[f32]) -> Vec<f32> {
        let mut values = self.weights.scores(x);
        let targets = self.weights.targets();
        for row in values.chunks_exact_mut(targets) {
            if targets == 1 && self.transform == PostTransform::Probit {
                row[0] = probit(row[0]);
            } else {
                transform_scores(row, self.transform);
            }
        }
        values
    }
}

impl Expansion for LinearRegressor {
    fn name(&self) -> StaticName {
        "LinearRegressor".into()
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
        s.equals(&outputs[0].shape[1], self.weights.targets().to_dim())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for LinearRegressor {
    fn name(&self) -> StaticName {
        "LinearRegressor".into()
    }

    op_as_typed_op!();
}

impl EvalOp for LinearRegressor {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, n) = rows(&inputs[0], self.weights.features())?;
        let values = self.values(&x);
        let targets = self.weights.targets();
        Ok(tvec!(tensor_of(&[n, targets], values)?.into_tvalue()))
    }
}

impl TypedOp for LinearRegressor {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape.iter().next().cloned().unwrap_or_else(|| 1.to_dim());
        Ok(tvec!(f32::fact([n, self.weights.targets().to_dim()])))
    }

    as_op!();
}
