//! One ONNX graph loaded with tract, bound to a card's features and
//! optimized once for a symbolic batch size. [`Graph::inspect`] reads a
//! graph's signature without a card; [`Graph::load`] then checks the graph
//! against the card and decides how checked rows feed it: one float matrix,
//! or one tensor per feature (float, int64 or text), as skl2onnx exports a
//! pandas DataFrame.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail, ensure};
use api_types::{ModelCard, Policy, Task, TensorSpec};
use onnx_ml::{ClassLabels, ColumnContract, Dim, Direct, ElemType, Keys, Signature, TensorInfo, Verdict};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use crate::input::{Category, FeatureSchema, MISSING_INTEGER, Rows};

/// What a graph answers for a batch, protocol-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOutput {
    /// Row-major `rows × classes` probabilities.
    Probabilities {
        /// The values.
        data: Vec<f32>,
        /// Number of classes per row.
        classes: usize,
    },
    /// One value per row.
    Values(Vec<f32>),
}

/// The position of the most probable class (the first, on a tie), as
/// every answer names it.
pub fn best_class(probabilities: &[f32]) -> usize {
    probabilities.iter().enumerate().fold(0, |best, (i, p)| if *p > probabilities[best] { i } else { best })
}

impl ModelOutput {
    /// Each row's most probable class, or `None` for a regressor's rows.
    pub fn predicted_classes(&self) -> Vec<Option<usize>> {
        match self {
            Self::Probabilities { data, classes } => {
                data.chunks_exact(*classes).map(|p| Some(best_class(p))).collect()
            }
            Self::Values(values) => vec![None; values.len()],
        }
    }

    /// Appends `more` rows of the same kind (a later chunk of one batch).
    pub fn append(&mut self, more: ModelOutput) -> Result<()> {
        match (self, more) {
            (Self::Probabilities { data, classes }, Self::Probabilities { data: more, classes: c })
                if *classes == c =>
            {
                data.extend(more);
            }
            (Self::Values(values), Self::Values(more)) => values.extend(more),
            _ => bail!("a chunk of a batch answered with another kind of output"),
        }
        Ok(())
    }
}

/// Plan states kept for reuse; more than this are dropped after use.
const POOLED_STATES: usize = 8;

/// How checked rows become the graph's inputs.
#[derive(Debug, Clone, PartialEq)]
enum Feed {
    /// One `[N, width]` float matrix: the rows' numbers as they are.
    Matrix { width: usize },
    /// One tensor per graph input, in the graph's order, each of one or
    /// more features (a text matrix, a DataFrame column).
    Columns(Vec<Column>),
}

/// One graph input and the features that fill it.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    /// The features' columns in the rows, in the input's column order.
    cols: Vec<usize>,
    elem: ElemType,
    /// `[N]` (1, one feature) or `[N, features]` (2).
    rank: usize,
    /// Each text feature's categories, to turn positions back into text.
    categories: Vec<Vec<String>>,
}

/// A runnable, optimized graph, the way rows feed it, and the output it serves.
#[derive(Debug)]
pub struct Graph {
    plan: Arc<TypedRunnableModel>,
    /// Ready-made run states: spawning one allocates for every node, which
    /// costs more than running a small model on one row.
    states: Mutex<Vec<TypedSimpleState>>,
    /// The same graph without tract's plan, when every node is one
    /// [`Direct`] knows and it agreed with the plan on probe rows.
    direct: Option<Direct>,
    feed: Feed,
    /// `0..width`, the matrix input's columns.
    all_columns: Vec<usize>,
    inputs: Vec<TensorSpec>,
    output: TensorSpec,
    class_labels: Option<ClassLabels>,
    head: Option<Head>,
    task: Task,
    classes: usize,
}

/// The model's head: the one tree ensemble or linear model the answer comes
/// from, and the graph before it (the preprocessing), runnable on its own,
/// so explanations can work on the head's own input columns.
#[derive(Debug, Clone)]
pub struct Head {
    /// The head operator.
    pub op: HeadOp,
    /// The graph from the inputs to the head's input (`[N, columns]` floats).
    prefix: Arc<TypedRunnableModel>,
}

/// A head operator whose structure explanations can read.
#[derive(Debug, Clone)]
pub enum HeadOp {
    /// A tree ensemble classifier.
    TreeClassifier(onnx_ml::TreeClassifier),
    /// A tree ensemble regressor.
    TreeRegressor(onnx_ml::TreeRegressor),
    /// A linear classifier.
    LinearClassifier(onnx_ml::LinearClassifier),
    /// A linear regressor.
    LinearRegressor(onnx_ml::LinearRegressor),
}

impl Head {
    /// The graph's head, when it has exactly one (a stack of models has none).
    fn find(typed: &TypedModel) -> Result<Option<Self>> {
        let mut heads = typed.nodes().iter().filter_map(|node| {
            let op = if let Some(op) = node.op_as::<onnx_ml::TreeClassifier>() {
                HeadOp::TreeClassifier(op.clone())
            } else if let Some(op) = node.op_as::<onnx_ml::TreeRegressor>() {
                HeadOp::TreeRegressor(op.clone())
            } else if let Some(op) = node.op_as::<onnx_ml::LinearClassifier>() {
                HeadOp::LinearClassifier(op.clone())
            } else if let Some(op) = node.op_as::<onnx_ml::LinearRegressor>() {
                HeadOp::LinearRegressor(op.clone())
            } else {
                return None;
            };
            Some((op, node.inputs[0]))
        });
        let (Some((op, input)), None) = (heads.next(), heads.next()) else { return Ok(None) };
        let prefix = typed
            .clone()
            .with_output_outlets(&[input])
            .and_then(|m| m.into_runnable())
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot plan the graph before its head")?;
        Ok(Some(Self { op, prefix }))
    }
}

impl Graph {
    /// Reads the signature of the ONNX file at `path`: inputs, outputs, class
    /// labels and operators, without a card and without running anything.
    pub fn inspect(path: &Path) -> Result<Signature> {
        Signature::inspect(path)
    }

    /// Loads `path`, checks it against `card` (whose rules are `schema`), and
    /// optimizes it for any batch size.
    ///
    /// Unsupported operators only show up while optimizing, so that happens
    /// here, at start-up, never on a request.
    pub fn load(path: &Path, card: &ModelCard, schema: &FeatureSchema) -> Result<Self> {
        let onnx = onnx_ml::onnx();
        let proto = onnx
            .proto_model_for_path(path)
            .map_err(|e| anyhow!("{e:#}"))
            .context("not a readable ONNX model")?;
        onnx_ml::check_tensor_sizes(&proto)?;
        let signature = Signature::of(&proto)?;
        let mut model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| anyhow!("{e:#}"))
            .context("tract cannot read this graph")?;
        let unsupported = onnx_ml::unsupported_operators(&model);
        ensure!(
            unsupported.is_empty(),
            "the graph uses operators this server does not implement: {}",
            unsupported.join(", ")
        );

        let feed = bind_inputs(&signature, card, schema)?;
        let served = card.served_output().context("the card names no served output")?.to_owned();
        let output_names: Vec<&str> = signature.outputs.iter().map(|o| o.name.as_str()).collect();
        for wanted in [Some(&served), card.onnx.label_output.as_ref()].into_iter().flatten() {
            ensure!(
                output_names.contains(&wanted.as_str()),
                "the card names output {wanted:?} but the graph's outputs are {output_names:?}"
            );
        }
        // Serving only one output lets tract prune the rest of the graph (for
        // classifiers, the label branch: the label served is the argmax).
        model.select_outputs_by_name([served.as_str()])?;

        let batch = TDim::from(model.symbols.sym("N"));
        let inputs = match &feed {
            Feed::Matrix { width } => {
                model.set_input_fact(0, f32::fact(tvec![batch, TDim::from(*width)]).into())?;
                vec![TensorSpec {
                    name: signature.inputs[0].name.clone(),
                    dtype: ElemType::F32.name(),
                    shape: vec![None, Some(*width)],
                }]
            }
            Feed::Columns(columns) => {
                let mut specs = Vec::with_capacity(columns.len());
                for (i, column) in columns.iter().enumerate() {
                    let width = column.cols.len();
                    let shape: TVec<TDim> = if column.rank == 1 {
                        tvec![batch.clone()]
                    } else {
                        tvec![batch.clone(), TDim::from(width)]
                    };
                    model.set_input_fact(i, InferenceFact::dt_shape(datum_type(column.elem)?, shape))?;
                    specs.push(TensorSpec {
                        name: signature.inputs[i].name.clone(),
                        dtype: column.elem.name(),
                        shape: if column.rank == 1 { vec![None] } else { vec![None, Some(width)] },
                    });
                }
                specs
            }
        };
        let typed = model
            .into_optimized()
            .map_err(|e| anyhow!("{e:#}"))
            .context("tract cannot run this graph (an operator or shape it does not support)")?;

        let out_fact = typed.output_fact(0)?.clone();
        let out_shape = out_fact.shape.to_tvec();
        let classes = match card.task {
            Task::Classification => {
                ensure!(
                    out_shape.len() == 2,
                    "output {served:?} has rank {}; expected [batch, classes]",
                    out_shape.len()
                );
                let n = out_shape[1]
                    .to_usize()
                    .map_err(|_| anyhow!("output {served:?} has no fixed class count"))?;
                ensure!(
                    n == card.classes.len(),
                    "output {served:?} gives {n} probabilities per row but the card lists {} classes",
                    card.classes.len()
                );
                n
            }
            Task::Regression => {
                let per_row: usize = out_shape.iter().skip(1).map(|d| d.to_usize().unwrap_or(0)).product();
                ensure!(
                    (1..=2).contains(&out_shape.len()) && per_row == 1,
                    "output {served:?} has shape {out_shape:?}; a regressor must give one value per row"
                );
                1
            }
        };
        let output = TensorSpec {
            name: served,
            dtype: dtype_name(out_fact.datum_type),
            shape: out_shape
                .iter()
                .enumerate()
                .map(|(i, d)| if i == 0 { None } else { d.to_usize().ok() })
                .collect(),
        };
        let head = Head::find(&typed)?;
        let direct = match feed {
            Feed::Matrix { .. } => Direct::build(&typed),
            Feed::Columns(_) => None,
        };
        let plan = typed.into_runnable().map_err(|e| anyhow!("{e:#}")).context("cannot plan the graph")?;
        // The graph's own labels serve protocol clients that expect them (an
        // integer class id from Triton's ONNX backend); they must name as many
        // classes as the card.
        let class_labels = signature.class_labels.clone().filter(|l| l.len() == classes);
        let mut graph = Self {
            plan,
            states: Mutex::new(Vec::new()),
            direct: None,
            all_columns: (0..schema.width()).collect(),
            feed,
            inputs,
            output,
            class_labels,
            head,
            task: card.task,
            classes,
        };
        if let Some(direct) = direct {
            match graph.agrees(&direct) {
                Ok(()) => {
                    tracing::debug!(model = %card.name, "runs on the direct evaluator");
                    graph.direct = Some(direct);
                }
                Err(err) => {
                    tracing::warn!(model = %card.name, error = %format!("{err:#}"), "the direct evaluator disagrees with tract; tract runs this model")
                }
            }
        }
        Ok(graph)
    }

    /// Checks that `direct` answers probe rows as the plan does: rows of
    /// every scale from 0.01 to 10,000 (either sign), so scalers, splits and
    /// transforms are all exercised.
    fn agrees(&self, direct: &Direct) -> Result<()> {
        let Feed::Matrix { width } = self.feed else { bail!("the graph is not fed one matrix") };
        const ROWS: usize = 64;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let numbers: Vec<f32> = (0..ROWS * width)
            .map(|i| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let unit = (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                unit * 10f32.powi((i / width % 7) as i32 - 2)
            })
            .collect();
        let matrix = tract_ndarray::Array2::from_shape_vec((ROWS, width), numbers.clone())?;
        let planned = self.run_plan(tvec!(Tensor::from(matrix).into()))?;
        let direct = direct.run(numbers, ROWS);
        ensure!(
            planned.len() == direct.len(),
            "{} values against the plan's {}",
            direct.len(),
            planned.len()
        );
        for (i, (d, p)) in direct.iter().zip(&planned).enumerate() {
            let same = (d.is_nan() && p.is_nan()) || (d - p).abs() <= 1e-5 * p.abs().max(1.0);
            ensure!(same, "value {i}: {d} against the plan's {p}");
        }
        Ok(())
    }

    /// Whether runs skip tract's plan (see [`Direct`]).
    pub fn runs_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Runs tract's plan on `inputs`: the served output's values, row-major.
    fn run_plan(&self, inputs: TVec<TValue>) -> Result<Vec<f32>> {
        let pooled = self.states.lock().ok().and_then(|mut pool| pool.pop());
        let mut state = match pooled {
            Some(state) => state,
            None => self.plan.spawn().map_err(|e| anyhow!("{e:#}")).context("Failed to prepare a run")?,
        };
        let outputs = state.run(inputs).map_err(|e| anyhow!("{e:#}")).context("Failed to run the graph")?;
        if let Ok(mut pool) = self.states.lock()
            && pool.len() < POOLED_STATES
        {
            pool.push(state);
        }
        let out = outputs.first().context("the graph returned no output")?;
        let out =
            out.cast_to::<f32>().map_err(|e| anyhow!("{e:#}")).context("Failed to read the output as f32")?;
        Ok(out.to_plain_array_view::<f32>().map_err(|e| anyhow!("{e:#}"))?.iter().copied().collect())
    }

    /// The inputs rows feed, as loaded.
    pub fn inputs(&self) -> &[TensorSpec] {
        &self.inputs
    }

    /// The output answers are read from.
    pub fn output(&self) -> &TensorSpec {
        &self.output
    }

    /// The class labels the graph's classifier carries, one per card class.
    pub fn class_labels(&self) -> Option<&ClassLabels> {
        self.class_labels.as_ref()
    }

    /// The head the answer comes from, when the graph has one tree ensemble or linear model.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The head's input for `rows`: the preprocessed columns, row-major, and their count.
    pub fn head_input(&self, rows: Rows) -> Result<(Vec<f32>, usize)> {
        let head = self.head.as_ref().context("the graph has no single tree or linear head")?;
        let n = rows.len();
        let outputs = head
            .prefix
            .run(self.tensors(rows)?)
            .map_err(|e| anyhow!("{e:#}"))
            .context("Failed to run the preprocessing")?;
        let out = outputs.first().context("the preprocessing returned nothing")?;
        let out = out.cast_to::<f32>().map_err(|e| anyhow!("{e:#}"))?;
        let values: Vec<f32> =
            out.to_plain_array_view::<f32>().map_err(|e| anyhow!("{e:#}"))?.iter().copied().collect();
        let width = values.len().checked_div(n).unwrap_or(0);
        ensure!(width * n == values.len(), "the preprocessing gave {} values for {n} rows", values.len());
        Ok((values, width))
    }

    /// The graph's inputs that carry several features, with their columns
    /// in the input's order.
    pub fn groups(&self) -> Vec<(&str, &[usize])> {
        match &self.feed {
            Feed::Matrix { .. } => {
                self.inputs.first().map(|i| (i.name.as_str(), &self.all_columns[..])).into_iter().collect()
            }
            Feed::Columns(columns) => self
                .inputs
                .iter()
                .zip(columns)
                .filter(|(_, c)| c.cols.len() > 1)
                .map(|(i, c)| (i.name.as_str(), &c.cols[..]))
                .collect(),
        }
    }

    /// Runs the graph on checked rows.
    pub fn run(&self, rows: Rows) -> Result<ModelOutput> {
        let n = rows.len();
        let data = match (&self.direct, &self.feed) {
            (Some(direct), Feed::Matrix { width }) => direct.run(matrix(rows, *width)?, n),
            _ => self.run_plan(self.tensors(rows)?)?,
        };
        let expected = n * self.classes;
        if data.len() != expected {
            bail!("the graph returned {} values for {n} rows; expected {expected}", data.len());
        }
        Ok(match self.task {
            Task::Classification => ModelOutput::Probabilities { data, classes: self.classes },
            Task::Regression => ModelOutput::Values(data),
        })
    }

    /// The graph's input tensors for `rows`.
    fn tensors(&self, rows: Rows) -> Result<TVec<TValue>> {
        let n = rows.len();
        match &self.feed {
            Feed::Matrix { width } => {
                let matrix = tract_ndarray::Array2::from_shape_vec((n, *width), matrix(rows, *width)?)
                    .context("Failed to shape the input tensor")?;
                Ok(tvec!(Tensor::from(matrix).into()))
            }
            Feed::Columns(columns) => {
                columns.iter().map(|column| column.tensor(&rows).map(TValue::from)).collect()
            }
        }
    }
}

/// The rows' numbers, row-major, checked `width` to a row.
fn matrix(rows: Rows, width: usize) -> Result<Vec<f32>> {
    ensure!(rows.width() == width, "rows have {} columns, the graph takes {width}", rows.width());
    Ok(rows.into_numbers())
}

impl Column {
    /// The input's tensor for `rows`: row-major, a row's features side by side.
    fn tensor(&self, rows: &Rows) -> Result<Tensor> {
        let n = rows.len();
        let width = self.cols.len();
        let shape: &[usize] = if self.rank == 1 { &[n] } else { &[n, width] };
        let cells =
            || (0..n).flat_map(move |r| self.cols.iter().enumerate().map(move |(k, &col)| (r, k, col)));
        let tensor = match self.elem {
            ElemType::F32 => {
                Tensor::from_shape(shape, &cells().map(|(r, _, c)| rows.number(r, c)).collect::<Vec<f32>>())?
            }
            ElemType::F64 => Tensor::from_shape(
                shape,
                &cells().map(|(r, _, c)| f64::from(rows.number(r, c))).collect::<Vec<f64>>(),
            )?,
            // Whole numbers exactly; a missing one is the integer the
            // graph's imputers replace (the contract allowed it).
            ElemType::I64 => {
                let ints: Vec<i64> = cells()
                    .map(|(r, _, c)| {
                        rows.integer(r, c).unwrap_or_else(|| {
                            let x = rows.number(r, c);
                            if x.is_nan() { MISSING_INTEGER } else { x as i64 }
                        })
                    })
                    .collect();
                Tensor::from_shape(shape, &ints)?
            }
            ElemType::String => {
                let texts: Vec<String> = cells()
                    .map(|(r, k, c)| match rows.category(r, c) {
                        Some(Category::Known(i)) => self.categories[k][*i as usize].clone(),
                        Some(Category::Unknown(text)) => text.to_string(),
                        Some(Category::Missing) | None => String::new(),
                    })
                    .collect();
                tract_ndarray::ArrayD::from_shape_vec(shape, texts)
                    .context("Failed to shape a text input")?
                    .into()
            }
            other => bail!("input element type {} is not supported", other.name()),
        };
        Ok(tensor)
    }
}

fn dtype_name(dt: DatumType) -> String {
    match dt {
        DatumType::F32 => "float32".to_owned(),
        DatumType::F64 => "float64".to_owned(),
        DatumType::I64 => "int64".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn datum_type(elem: ElemType) -> Result<DatumType> {
    Ok(match elem {
        ElemType::F32 => f32::datum_type(),
        ElemType::F64 => f64::datum_type(),
        ElemType::I64 => i64::datum_type(),
        ElemType::String => String::datum_type(),
        other => bail!("input element type {} is not supported", other.name()),
    })
}

/// Decides how rows feed the graph, checking every input against the card.
///
/// A card naming one `onnx.input` feeds every feature, in card order, to that
/// input's columns; otherwise each graph input takes the feature of its name,
/// or, for an input of several columns, the features `<input>_0`, `<input>_1`, ….
fn bind_inputs(signature: &Signature, card: &ModelCard, schema: &FeatureSchema) -> Result<Feed> {
    let width = schema.width();
    let graph_inputs: Vec<&str> = signature.inputs.iter().map(|i| i.name.as_str()).collect();
    if let Some(name) = &card.onnx.input {
        ensure!(
            signature.inputs.len() == 1,
            "the card names one matrix input ({name:?}) but the graph has {} inputs: {graph_inputs:?}; \
             leave onnx.input out to feed one input per feature",
            signature.inputs.len()
        );
        let input = &signature.inputs[0];
        ensure!(
            input.name == *name,
            "the card's onnx.input is {name:?} but the graph's input is {:?}",
            input.name
        );
        if let Some(shape) = &input.shape {
            ensure!(
                shape.len() == 2,
                "the graph's input has rank {}; expected [batch, features]",
                shape.len()
            );
            if let Some(cols) = shape[1].fixed() {
                ensure!(
                    cols as usize == width,
                    "the graph takes {cols} features per row but the card lists {width}"
                );
            }
        }
        let cols: Vec<usize> = (0..width).collect();
        let contract = signature.contracts.first();
        for &col in &cols {
            takes(input, card, schema, col, contract.and_then(|c| c.columns.get(col)))?;
        }
        if input.elem == ElemType::F32 && cols.iter().all(|&c| !schema.is_integer(c)) {
            return Ok(Feed::Matrix { width });
        }
        let categories = cols.iter().map(|&c| schema.categories(c).to_vec()).collect();
        return Ok(Feed::Columns(vec![Column { cols, elem: input.elem, rank: 2, categories }]));
    }
    let mut columns = Vec::with_capacity(signature.inputs.len());
    let mut fed = 0;
    for (i, input) in signature.inputs.iter().enumerate() {
        let (rank, input_width) = match input.shape.as_deref() {
            None => (2, 1),
            Some([_]) => (1, 1),
            Some([_, Dim::Unknown | Dim::Symbolic(_)]) => (2, 1),
            Some([_, Dim::Fixed(w)]) => (2, usize::try_from(*w).unwrap_or(usize::MAX)),
            Some(other) => bail!(
                "the graph's input {:?} has shape {other:?}; an input is [N], [N, 1] or [N, columns]",
                input.name
            ),
        };
        ensure!(
            input_width <= width,
            "the graph's input {:?} takes {input_width} columns but the card lists {width} features",
            input.name
        );
        let names: Vec<String> = if input_width == 1 {
            vec![input.name.clone()]
        } else {
            (0..input_width).map(|c| format!("{}_{c}", input.name)).collect()
        };
        let mut cols = Vec::with_capacity(names.len());
        for (c, feature) in names.iter().enumerate() {
            let col = schema.column(feature).with_context(|| {
                format!(
                    "the graph's input {:?} needs a feature named {feature:?}, which the card does not list; features: {}",
                    input.name,
                    schema.names_listed()
                )
            })?;
            let contract = signature.contracts.get(i).and_then(|k| k.columns.get(c));
            takes(input, card, schema, col, contract)?;
            cols.push(col);
        }
        fed += cols.len();
        let categories = cols.iter().map(|&c| schema.categories(c).to_vec()).collect();
        columns.push(Column { cols, elem: input.elem, rank, categories });
    }
    ensure!(
        fed == width,
        "the graph's inputs ({graph_inputs:?}) take {fed} features but the card lists {width}"
    );
    Ok(Feed::Columns(columns))
}

/// Checks that feature `col` can fill a column of `input`: its type, and
/// what the graph's operators take there.
fn takes(
    input: &TensorInfo,
    card: &ModelCard,
    schema: &FeatureSchema,
    col: usize,
    contract: Option<&ColumnContract>,
) -> Result<()> {
    let name = schema.name(col);
    let feature = &card.features[col];
    match input.elem {
        ElemType::String => ensure!(
            schema.is_categorical(col),
            "the graph's input {:?} takes text but feature {name:?} is numeric; give it `categories`",
            input.name
        ),
        ElemType::F32 | ElemType::F64 => ensure!(
            !schema.is_categorical(col),
            "the graph's input {:?} takes numbers but feature {name:?} has categories",
            input.name
        ),
        ElemType::I64 => {
            let integral = schema.is_integer(col)
                || feature.choices.as_ref().is_some_and(|cs| cs.iter().all(|c| c.value.fract() == 0.0));
            ensure!(
                integral,
                "the graph's input {:?} takes int64 but the card lets {name:?} be any number; \
                 write `integer = true` in its [[features]] entry (or whole-number choices)",
                input.name
            );
        }
        other => {
            bail!("the graph's input {:?} holds {}, which this server cannot feed", input.name, other.name())
        }
    }
    match contract {
        Some(column) => within_contract(card, schema, col, column),
        None => Ok(()),
    }
}

/// Refuses a card that lets a feature take what the graph cannot: a missing
/// value, a category or number its encoders refuse. Such a row would fail
/// inside the graph, at request time, instead of being refused with a 422.
fn within_contract(
    card: &ModelCard,
    schema: &FeatureSchema,
    col: usize,
    column: &ColumnContract,
) -> Result<()> {
    let name = schema.name(col);
    if let (true, Verdict::Refused(why)) = (schema.missing_allowed(col), &column.missing) {
        bail!(
            "the card lets {name:?} be missing, but the graph cannot take a missing {name}: {why}; \
             remove `missing = \"allowed\"` from its [[features]] entry"
        );
    }
    let Verdict::Refused(why) = &column.unseen else { return Ok(()) };
    let feature = &card.features[col];
    if feature.unknown == Policy::Allowed {
        bail!(
            "the card lets {name:?} take categories it does not list, but the graph refuses them: {why}; \
             remove `unknown = \"allowed\"` from its [[features]] entry"
        );
    }
    match (&column.keys, feature.categories.as_ref(), feature.choices.as_ref()) {
        (Some(Keys::Strings(keys)), Some(categories), _) => {
            if let Some(extra) = categories.iter().find(|c| !keys.contains(c)) {
                bail!(
                    "the card lists category {extra:?} for {name:?}, which the graph's encoder does not know \
                     (it knows {}); list only those in `categories`",
                    keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        (Some(Keys::Ints(_) | Keys::Floats(_)), None, choices) => {
            let known = |v: f64| match &column.keys {
                Some(Keys::Ints(k)) => k.iter().any(|&k| k as f64 == v),
                Some(Keys::Floats(k)) => k.contains(&v),
                _ => false,
            };
            match choices {
                Some(choices) => {
                    if let Some(extra) = choices.iter().find(|c| !known(c.value)) {
                        bail!(
                            "the card lists choice {} for {name:?}, which the graph's encoder does not know; \
                             list only the values it does in `choices`",
                            extra.value
                        );
                    }
                }
                None => bail!(
                    "the graph takes only some values for {name:?} ({why}), and the card lets it be any number; \
                     give its [[features]] entry `choices`"
                ),
            }
        }
        _ => {}
    }
    Ok(())
}
