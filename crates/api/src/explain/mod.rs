//! Why a prediction: exact interventional SHAP values of one output of a
//! model, per card feature, against the background rows shipped with it
//! (`background.csv`), and what-if sweeps of that output.
//!
//! A graph whose answer comes from one tree ensemble or linear model (its
//! head) is explained on the head's own input columns, after the
//! preprocessing: exact TreeSHAP for trees, `coef · (x − mean)` for linear
//! models; each feature gets the sum over the columns it feeds. Any other
//! graph is explained exactly over coalitions of features when
//! `2^features × background rows` stays within [`MAX_COALITION_ROWS`].
//! Either way `base_value + Σ contributions = output`.

mod coalitions;
mod columns;
mod sweep;
mod trees;

use anyhow::{Context, Result, bail};
use onnx_ml::{LinearWeights, PostTransform, TreeClassifier};

use crate::input::{FeatureSchema, Rows};
use crate::model::{Graph, HeadOp};
pub use coalitions::MAX_COALITION_ROWS;
pub use sweep::{POINTS, Swept, what_if};
use trees::Forest;

/// How an explanation was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact interventional TreeSHAP over the tree ensemble's columns.
    TreeInterventional,
    /// The closed form for a linear head, `coef · (x − background mean)`.
    Linear,
    /// Exact Shapley values over every coalition of features.
    ExactCoalitions,
}

impl Method {
    /// Its name in answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::TreeInterventional => "tree_interventional",
            Self::Linear => "linear",
            Self::ExactCoalitions => "exact_coalitions",
        }
    }
}

/// What the explained number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// A regressor's value, in its unit.
    Value,
    /// The explained class's probability.
    Probability,
    /// The explained class's log-odds (its raw margin before the softmax or sigmoid).
    LogOdds,
    /// The explained class's raw linear score (no transform follows it).
    Score,
}

impl Space {
    /// Its name in answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Value => "value",
            Self::Probability => "probability",
            Self::LogOdds => "log_odds",
            Self::Score => "score",
        }
    }
}

/// One row's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The class explained (its position in the card), for a classifier.
    pub class: Option<usize>,
    /// The output's mean over the background rows.
    pub base_value: f64,
    /// The output for this row.
    pub output: f64,
    /// One value per card feature, in card order, summing to `output − base_value`.
    pub contributions: Vec<f64>,
}

/// A model's explainer, built once when the model loads.
#[derive(Debug)]
pub struct Explainer {
    background: Rows,
    method: Method,
    space: Space,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Explained on the head's columns.
    Head(Box<HeadExplainer>),
    /// Explained over coalitions of features, on the whole graph.
    Coalitions { classifier: bool },
}

#[derive(Debug)]
struct HeadExplainer {
    model: HeadModel,
    /// How a class's output reads off the head's targets.
    rule: Rule,
    owners: columns::Owners,
    /// The background's head input, row-major.
    background: Vec<f32>,
    width: usize,
    /// Each target's raw output, averaged over the background.
    base: Vec<f64>,
    /// Each column's mean over the background.
    means: Vec<f64>,
}

#[derive(Debug)]
enum HeadModel {
    // Boxed: the trees are large and the linear weights small.
    Trees { forest: Box<Forest>, bias: Vec<f64> },
    Linear(LinearWeights),
}

/// A class's explained output is `offset + sign × raw(target)`.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The class's (or the regressor's) own target.
    PerClass,
    /// Two classes, one target holding the positive class's score: the
    /// negative class's output is `complement − score`.
    Binary { target: usize, complement: f64 },
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    target: usize,
    sign: f64,
    offset: f64,
}

impl Explainer {
    /// Builds the explainer of a graph for `background` (checked rows of the
    /// model's schema); `classes` is 0 for a regressor. The error says why
    /// the model cannot be explained.
    pub fn build(
        graph: &Graph,
        schema: &FeatureSchema,
        classes: usize,
        background: Rows,
    ) -> Result<Self, String> {
        if background.is_empty() {
            return Err("its background.csv has no rows".to_owned());
        }
        let by_head = graph.head().map(|head| head_explainer(graph, schema, &head.op, classes, &background));
        match by_head {
            Some(Ok((method, space, head))) => {
                Ok(Self { background, method, space, kind: Kind::Head(Box::new(head)) })
            }
            fallback => {
                let why = match fallback {
                    Some(Err(e)) => format!("{e:#}"),
                    _ => "its graph has no single tree ensemble or linear model".to_owned(),
                };
                let needed = coalitions::rows_needed(schema.width(), background.len());
                if needed.is_none_or(|n| n > MAX_COALITION_ROWS) {
                    return Err(format!(
                        "{why}, and an exact explanation over its {} features and {} background rows \
                         would take {} model runs per row (at most {MAX_COALITION_ROWS})",
                        schema.width(),
                        background.len(),
                        needed.map_or("more than 2^64".to_owned(), |n| n.to_string())
                    ));
                }
                let space = if classes > 0 { Space::Probability } else { Space::Value };
                Ok(Self {
                    background,
                    method: Method::ExactCoalitions,
                    space,
                    kind: Kind::Coalitions { classifier: classes > 0 },
                })
            }
        }
    }

    /// This explainer's background and space, computed over coalitions of
    /// features on the whole graph instead (the method of graphs without a
    /// head; on one with a head it must agree with the head's method).
    pub fn over_coalitions(&self, classifier: bool) -> Self {
        let space = if classifier { Space::Probability } else { Space::Value };
        Self {
            background: self.background.clone(),
            method: Method::ExactCoalitions,
            space,
            kind: Kind::Coalitions { classifier },
        }
    }

    /// How explanations are computed.
    pub fn method(&self) -> Method {
        self.method
    }

    /// What the explained output is.
    pub fn space(&self) -> Space {
        self.space
    }

    /// Background rows explanations are measured against.
    pub fn background_rows(&self) -> usize {
        self.background.len()
    }

    /// Explains each of `rows`, for the class given beside it (`None` for a regressor).
    pub fn explain(
        &self,
        graph: &Graph,
        schema: &FeatureSchema,
        rows: &Rows,
        classes: &[Option<usize>],
    ) -> Result<Vec<Explanation>> {
        match &self.kind {
            Kind::Head(head) => head.explain(graph, rows, classes, schema.width()),
            Kind::Coalitions { .. } => classes
                .iter()
                .enumerate()
                .map(|(r, &class)| coalitions::explain(graph, &rows.slice(r, r + 1), &self.background, class))
                .collect(),
        }
    }

    /// The explained output of each of `rows` for `class` (what-if sweeps).
    pub fn outputs(&self, graph: &Graph, rows: Rows, class: Option<usize>) -> Result<Vec<f64>> {
        match &self.kind {
            Kind::Head(head) => {
                let reading = head.rule.reading(class);
                let (input, width) = graph.head_input(rows)?;
                Ok(input.chunks_exact(width.max(1)).map(|h| head.output(h, reading)).collect())
            }
            Kind::Coalitions { classifier } => {
                let output = graph.run(rows)?;
                coalitions::read(&output, if *classifier { class } else { None })
            }
        }
    }
}

fn head_explainer(
    graph: &Graph,
    schema: &FeatureSchema,
    op: &HeadOp,
    classes: usize,
    background: &Rows,
) -> Result<(Method, Space, HeadExplainer)> {
    let (model, rule, method, space) = match op {
        HeadOp::TreeRegressor(op) => {
            check_transform(op.post_transform(), &[PostTransform::None])?;
            let forest = Forest::new(op.ensemble().clone())
                .map(Box::new)
                .context("its trees take the min or max, not a sum")?;
            let bias = op.base_values().iter().map(|&b| f64::from(b)).collect();
            (HeadModel::Trees { forest, bias }, Rule::PerClass, Method::TreeInterventional, Space::Value)
        }
        HeadOp::TreeClassifier(op) => {
            let (rule, space) = tree_classifier_rule(op, classes)?;
            let forest = Forest::new(op.ensemble().clone())
                .map(Box::new)
                .context("its trees take the min or max, not a sum")?;
            let mut bias: Vec<f64> = op.base_values().iter().map(|&b| f64::from(b)).collect();
            if let Rule::Binary { target, .. } = rule {
                // onnxruntime's binary case adds the first base value to the one score.
                let first = bias.first().copied().unwrap_or(0.0);
                bias = vec![0.0; target + 1];
                bias[target] = first;
            }
            (HeadModel::Trees { forest, bias }, rule, Method::TreeInterventional, space)
        }
        HeadOp::LinearRegressor(op) => {
            check_transform(op.post_transform(), &[PostTransform::None])?;
            (HeadModel::Linear(op.weights().clone()), Rule::PerClass, Method::Linear, Space::Value)
        }
        HeadOp::LinearClassifier(op) => {
            let space = match op.post_transform() {
                PostTransform::None => Space::Score,
                PostTransform::Logistic | PostTransform::Softmax | PostTransform::SoftmaxZero => {
                    Space::LogOdds
                }
                other => bail!("its linear model's {other:?} transform has no log-odds reading"),
            };
            let targets = op.weights().targets();
            let rule = if targets == classes {
                Rule::PerClass
            } else if targets == 1 && classes == 2 {
                Rule::Binary { target: 0, complement: 0.0 }
            } else {
                bail!("its linear model has {targets} targets for {classes} classes");
            };
            (HeadModel::Linear(op.weights().clone()), rule, Method::Linear, space)
        }
    };
    let (input, width) = graph.head_input(background.clone())?;
    let owners = columns::owners(graph, schema, background, &input, width)?;
    let n = background.len() as f64;
    let means =
        (0..width).map(|c| input.chunks_exact(width).map(|z| f64::from(z[c])).sum::<f64>() / n).collect();
    let mut head = HeadExplainer { model, rule, owners, background: input, width, base: Vec::new(), means };
    let targets = match &head.model {
        HeadModel::Trees { bias, .. } => bias.len().max(classes.max(1)),
        HeadModel::Linear(w) => w.targets(),
    };
    head.base = (0..targets)
        .map(|t| head.background.chunks_exact(width.max(1)).map(|z| head.raw(z, t)).sum::<f64>() / n)
        .collect();
    Ok((method, space, head))
}

fn check_transform(transform: PostTransform, allowed: &[PostTransform]) -> Result<()> {
    if !allowed.contains(&transform) {
        bail!("its head applies a {transform:?} transform");
    }
    Ok(())
}

/// Which target a tree classifier's class reads, and in what space: the
/// probability where the leaves hold probabilities (a random forest), the
/// log-odds where a softmax or sigmoid follows the sum (boosting).
fn tree_classifier_rule(op: &TreeClassifier, classes: usize) -> Result<(Rule, Space)> {
    let transform = op.post_transform();
    if op.binary_case() {
        let target = op.ensemble().trees().flat_map(leaf_targets).next().unwrap_or(0);
        return match transform {
            PostTransform::Logistic => Ok((Rule::Binary { target, complement: 0.0 }, Space::LogOdds)),
            PostTransform::None if op.weights_all_positive() => {
                Ok((Rule::Binary { target, complement: 1.0 }, Space::Probability))
            }
            other => bail!(
                "its two-class trees with a {other:?} transform have no probability or log-odds reading"
            ),
        };
    }
    if op.ensemble().n_targets() != classes {
        bail!("its trees score {} classes, the card names {classes}", op.ensemble().n_targets());
    }
    match transform {
        PostTransform::None => Ok((Rule::PerClass, Space::Probability)),
        PostTransform::Softmax | PostTransform::SoftmaxZero | PostTransform::Logistic => {
            Ok((Rule::PerClass, Space::LogOdds))
        }
        other => bail!("its trees' {other:?} transform has no log-odds reading"),
    }
}

/// The targets the leaves of one tree write (the first found suffices: the
/// binary case has one).
fn leaf_targets(root: onnx_ml::NodeView<'_>) -> Option<usize> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if let Some((t, _)) = node.leaf_weights().next() {
            return Some(t);
        }
        stack.extend(node.on_true());
        stack.extend(node.on_false());
    }
    None
}

impl Rule {
    fn reading(self, class: Option<usize>) -> Reading {
        match (self, class) {
            (Rule::PerClass, class) => Reading { target: class.unwrap_or(0), sign: 1.0, offset: 0.0 },
            (Rule::Binary { target, .. }, Some(1)) => Reading { target, sign: 1.0, offset: 0.0 },
            (Rule::Binary { target, complement }, _) => Reading { target, sign: -1.0, offset: complement },
        }
    }
}

impl HeadExplainer {
    /// The head's raw output for `target` on one row of its input.
    fn raw(&self, h: &[f32], target: usize) -> f64 {
        match &self.model {
            HeadModel::Trees { forest, bias } => {
                bias.get(target).copied().unwrap_or(0.0) + forest.raw(h, target)
            }
            HeadModel::Linear(w) => {
                let dot: f64 =
                    w.coefficients(target).iter().zip(h).map(|(&c, &x)| f64::from(c) * f64::from(x)).sum();
                dot + f64::from(w.intercept(target))
            }
        }
    }

    fn output(&self, h: &[f32], reading: Reading) -> f64 {
        reading.offset + reading.sign * self.raw(h, reading.target)
    }

    fn explain(
        &self,
        graph: &Graph,
        rows: &Rows,
        classes: &[Option<usize>],
        features: usize,
    ) -> Result<Vec<Explanation>> {
        let (input, width) = graph.head_input(rows.clone())?;
        if width != self.width {
            bail!("the preprocessing gave {width} columns, {} for the background", self.width);
        }
        let n = (self.background.len() / width.max(1)) as f64;
        let mut out = Vec::with_capacity(classes.len());
        for (h, &class) in input.chunks_exact(width.max(1)).zip(classes) {
            let reading = self.rule.reading(class);
            let mut phi = vec![0.0f64; width];
            match &self.model {
                HeadModel::Trees { forest, .. } => {
                    for z in self.background.chunks_exact(width) {
                        forest.add_pair(h, z, reading.target, &mut phi);
                    }
                    phi.iter_mut().for_each(|p| *p /= n);
                }
                HeadModel::Linear(w) => {
                    let coefficients = w.coefficients(reading.target);
                    for (c, p) in phi.iter_mut().enumerate() {
                        *p = f64::from(coefficients[c]) * (f64::from(h[c]) - self.means[c]);
                    }
                }
            }
            let mut contributions = vec![0.0f64; features];
            for (c, p) in phi.iter().enumerate() {
                if let Some(f) = self.owners[c] {
                    contributions[f] += reading.sign * p;
                }
            }
            out.push(Explanation {
                class,
                base_value: reading.offset + reading.sign * self.base[reading.target],
                output: self.output(h, reading),
                contributions,
            });
        }
        Ok(out)
    }
}
