//! What each input of a graph accepts, read from the operators on its path
//! to the outputs — never from trial rows.
//!
//! The graph is run abstractly, once per kind of probe, every input column
//! holding the probe at once:
//! - *missing*: a number is NaN, an integer `i64::MIN` (numpy's cast of NaN,
//!   which skl2onnx's integer imputers replace), text the empty string;
//! - *unseen*: a value equal to no constant in the graph.
//!
//! Each value in the graph is a list of per-row elements (the batch axis
//! first, the rest row-major), each element an abstract value ([`Abs`]) and
//! the input columns it derives from. Operators whose meaning matters are
//! evaluated exactly (imputers, encoders, scalers, casts, `Where`,
//! comparisons, arithmetic on known values); any other operator taints its
//! outputs with every column it read. A column's probe is *refused* where
//! the graph cannot answer it: an encoder that errors on an unknown value,
//! a missing value reaching a model that would compute NaN from it or the
//! graph's output as NaN, or anything tainted reaching a model. A tree
//! ensemble defines its answer for NaN (`nodes_missing_value_tracks_true`,
//! else the comparison's false branch), as onnxruntime computes it; an
//! integer standing for a missing value does not mean "missing" to it.
//!
//! The encoders a text (or integer-coded) column reaches first also say
//! which categories it takes.
//!
//! Work is bounded: a graph too large to follow is reported as such, and
//! every input then accepts only what the graph certainly takes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

use crate::signature::{ElemType, TensorInfo};

/// Element-steps at most (nodes × elements per row): a hostile graph cannot
/// make reading it slow.
const MAX_WORK: usize = 20_000_000;
/// Input columns at most that are followed one by one.
const MAX_COLUMNS: usize = 100_000;
/// Columns at most asked about alone after being refused together.
const MAX_ALONE: usize = 64;

/// Whether an input column accepts a kind of value, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The graph answers it.
    Accepted,
    /// The graph does not answer it; the reason names the operator.
    Refused(String),
}

impl Verdict {
    /// Whether the graph answers it.
    pub fn accepted(&self) -> bool {
        matches!(self, Self::Accepted)
    }
}

/// The values an encoder lists for a column, in its order.
#[derive(Debug, Clone, PartialEq)]
pub enum Keys {
    /// Text categories.
    Strings(Vec<String>),
    /// Integer codes.
    Ints(Vec<i64>),
    /// Number codes.
    Floats(Vec<f64>),
}

/// What one column of a graph input accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnContract {
    /// A missing value (NaN, `i64::MIN` for an integer, "" for text).
    pub missing: Verdict,
    /// A value none of the graph's encoders lists.
    pub unseen: Verdict,
    /// The values the first encoder the column reaches lists.
    pub keys: Option<Keys>,
    /// Whether anything reads the column at all.
    pub used: bool,
}

/// What one graph input accepts, column by column (one column for an
/// `[N]` or `[N, 1]` input).
#[derive(Debug, Clone, PartialEq)]
pub struct InputContract {
    /// The input's name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<ColumnContract>,
}

/// A concrete value.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    F(f64),
    I(i64),
    S(String),
    B(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::F(x) if x.is_nan() => f.write_str("NaN"),
            Self::F(x) => write!(f, "{x}"),
            Self::I(i) => write!(f, "{i}"),
            Self::S(s) => write!(f, "{s:?}"),
            Self::B(b) => write!(f, "{b}"),
        }
    }
}

/// What is known of one element.
#[derive(Debug, Clone, PartialEq)]
enum Abs {
    /// A valid value no probe made.
    Normal,
    /// Exactly this value.
    Known(Scalar),
    /// Equal to no constant of the graph (the unseen probe).
    Unseen,
    /// Some finite number computed from a probe.
    Finite,
    /// `i64::MIN` standing for a missing integer.
    MissingInt,
    /// Computed from a probe; anything at all.
    Taint,
}

/// The input columns an element derives from (sorted, shared).
type Sources = Rc<Vec<u32>>;

#[derive(Debug, Clone)]
struct El {
    abs: Abs,
    from: Sources,
}

impl El {
    fn plain(abs: Abs) -> Self {
        Self { abs, from: Rc::new(Vec::new()) }
    }

    fn with(abs: Abs, from: &Sources) -> Self {
        Self { abs, from: from.clone() }
    }

    /// Missing-like: would make a model compute NaN or an arbitrary answer.
    fn undefined(&self) -> bool {
        self.abs.undefined()
    }
}

fn union(a: &Sources, b: &Sources) -> Sources {
    if b.is_empty() || Rc::ptr_eq(a, b) {
        return a.clone();
    }
    if a.is_empty() {
        return b.clone();
    }
    let mut all: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
    all.sort_unstable();
    all.dedup();
    Rc::new(all)
}

/// A graph value.
#[derive(Debug, Clone)]
enum Val {
    /// A batch: each row's elements, row-major past the batch axis, with the
    /// shape past the batch axis when known.
    Rows { els: Vec<El>, dims: Option<Vec<usize>> },
    /// A batch whose layout is not followed: every element alike.
    Uniform(El),
    /// A batch whose elements are known but not their positions.
    Loose(Vec<El>),
    /// A constant (no batch axis).
    Const { shape: Vec<usize>, data: Vec<Scalar> },
}

impl Val {
    /// Every element joined into one: what an operator not followed sees.
    fn joined(&self) -> El {
        match self {
            Self::Uniform(e) => e.clone(),
            Self::Const { .. } => El::plain(Abs::Normal),
            Self::Rows { els, .. } | Self::Loose(els) => {
                let mut from: Sources = Rc::new(Vec::new());
                let mut abs = Abs::Normal;
                for e in els {
                    from = union(&from, &e.from);
                    abs = join(&abs, &e.abs);
                }
                El { abs, from }
            }
        }
    }

    /// The elements of a batch value, or of a constant repeated in each
    /// row, in their positions.
    fn elements(&self) -> Option<Vec<El>> {
        match self {
            Self::Rows { els, .. } => Some(els.clone()),
            Self::Const { data, .. } => Some(data.iter().map(|s| El::plain(Abs::Known(s.clone()))).collect()),
            Self::Uniform(_) | Self::Loose(_) => None,
        }
    }

    /// Every element, each for what it is, positions or not.
    fn all_elements(&self) -> Vec<El> {
        match self {
            Self::Loose(els) => els.clone(),
            Self::Uniform(e) => vec![e.clone()],
            other => other.elements().unwrap_or_default(),
        }
    }

    fn rows(els: Vec<El>, dims: Option<Vec<usize>>) -> Self {
        Self::Rows { els, dims }
    }
}

/// Parts of a batch laid side by side where some part's layout is not
/// followed: the positions are lost, the elements are not (a model reading
/// the whole still sees each for what it is).
fn loose(parts: &[Val]) -> Val {
    let mut els = Vec::new();
    for p in parts {
        match p.elements() {
            Some(e) => els.extend(e),
            None => els.push(p.joined()),
        }
    }
    Val::Loose(els)
}

/// The join of two abstract values seen as one.
fn join(a: &Abs, b: &Abs) -> Abs {
    if a == b {
        a.clone()
    } else if a.undefined() || b.undefined() {
        Abs::Taint
    } else if a.valid() && b.valid() {
        Abs::Normal
    } else {
        Abs::Finite
    }
}

impl Abs {
    fn is_nan(&self) -> bool {
        matches!(self, Self::Known(Scalar::F(x)) if x.is_nan())
    }

    /// NaN, a missing integer, or anything: no model can take it as a value.
    fn undefined(&self) -> bool {
        matches!(self, Self::Taint | Self::MissingInt) || self.is_nan()
    }

    /// A value no probe made, or a known one that is not NaN.
    fn valid(&self) -> bool {
        matches!(self, Self::Normal) || (matches!(self, Self::Known(_)) && !self.is_nan())
    }
}

/// Which probe a run feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Missing,
    Unseen,
}

/// Reads what every input of `graph` accepts; `inputs` are its fed inputs
/// (initializers excluded), in order.
pub(crate) fn contracts(graph: &GraphProto, inputs: &[TensorInfo]) -> Vec<InputContract> {
    let layout = Layout::of(inputs);
    let mut missing = Run::new(graph, inputs, &layout, Probe::Missing, None).finish();
    let unseen = Run::new(graph, inputs, &layout, Probe::Unseen, None).finish();
    // A column refused where several columns' missing values met (a matrix
    // product, say) may be fine on its own: ask again with it alone missing.
    let mixed: Vec<u32> =
        missing.refusals.iter().filter(|(_, (_, shared))| *shared).map(|(s, _)| *s).take(MAX_ALONE).collect();
    for source in mixed {
        let alone = Run::new(graph, inputs, &layout, Probe::Missing, Some(source)).finish();
        match alone.refusals.get(&source) {
            Some(refusal) if alone.gave_up.is_none() => {
                missing.refusals.insert(source, refusal.clone());
            }
            _ if alone.gave_up.is_none() => {
                missing.refusals.remove(&source);
            }
            _ => {}
        }
    }
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let columns = (0..layout.widths[i])
                .map(|c| {
                    let source = layout.first[i] + c as u32;
                    let refused = |run: &Outcome| match &run.gave_up {
                        Some(why) => Verdict::Refused(why.clone()),
                        None => match run.refusals.get(&source) {
                            Some((why, _)) => Verdict::Refused(why.clone()),
                            None => Verdict::Accepted,
                        },
                    };
                    ColumnContract {
                        missing: refused(&missing),
                        unseen: refused(&unseen),
                        keys: unseen.keys.get(&source).cloned(),
                        used: missing.used.contains(&source) || unseen.used.contains(&source),
                    }
                })
                .collect();
            InputContract { name: input.name.clone(), columns }
        })
        .collect()
}

/// How input columns are numbered as sources.
struct Layout {
    widths: Vec<usize>,
    first: Vec<u32>,
}

impl Layout {
    fn of(inputs: &[TensorInfo]) -> Self {
        let mut widths = Vec::with_capacity(inputs.len());
        let mut first = Vec::with_capacity(inputs.len());
        let mut next = 0u32;
        for input in inputs {
            let width = match input.shape.as_deref() {
                Some([_, w]) => w.fixed().and_then(|w| usize::try_from(w).ok()).unwrap_or(1),
                _ => 1,
            };
            let width = width.min(MAX_COLUMNS.saturating_sub(next as usize)).max(1);
            first.push(next);
            widths.push(width);
            next = next.saturating_add(width as u32);
        }
        Self { widths, first }
    }
}

/// What one run found.
#[derive(Debug, Default)]
struct Outcome {
    /// The first reason each refused column was refused, and whether other
    /// columns' probes were mixed into what was refused.
    refusals: BTreeMap<u32, (String, bool)>,
    /// The keys of the first encoder each column reached.
    keys: BTreeMap<u32, Keys>,
    /// Columns something read.
    used: BTreeSet<u32>,
    /// Why the graph could not be followed, if it could not.
    gave_up: Option<String>,
}

struct Run<'g> {
    graph: &'g GraphProto,
    probe: Probe,
    values: HashMap<&'g str, Val>,
    out: Outcome,
    work: usize,
}

impl<'g> Run<'g> {
    /// A run feeding `probe` to every input column, or to `alone` only (the
    /// others then hold valid values).
    fn new(
        graph: &'g GraphProto,
        inputs: &[TensorInfo],
        layout: &Layout,
        probe: Probe,
        alone: Option<u32>,
    ) -> Self {
        let mut values = HashMap::new();
        for init in &graph.initializer {
            values.insert(init.name.as_str(), constant(init));
        }
        for (i, input) in inputs.iter().enumerate() {
            let width = layout.widths[i];
            let abs = match (probe, input.elem) {
                (Probe::Missing, ElemType::F32 | ElemType::F64) => Abs::Known(Scalar::F(f64::NAN)),
                (Probe::Missing, ElemType::I64 | ElemType::I32) => Abs::MissingInt,
                (Probe::Missing, ElemType::String) => Abs::Known(Scalar::S(String::new())),
                (Probe::Unseen, _) => Abs::Unseen,
                _ => Abs::Taint,
            };
            let els = (0..width)
                .map(|c| {
                    let source = layout.first[i] + c as u32;
                    match alone {
                        Some(only) if only != source => El::plain(Abs::Normal),
                        _ => El { abs: abs.clone(), from: Rc::new(vec![source]) },
                    }
                })
                .collect();
            let dims = match input.shape.as_deref() {
                Some([_]) => Some(vec![]),
                _ => Some(vec![width]),
            };
            if let Some(name) = graph.input.iter().find(|v| v.name == input.name).map(|v| v.name.as_str()) {
                values.insert(name, Val::rows(els, dims));
            }
        }
        Self { graph, probe, values, out: Outcome::default(), work: 0 }
    }

    fn finish(mut self) -> Outcome {
        for node in &self.graph.node {
            if self.out.gave_up.is_some() {
                break;
            }
            self.step(node);
        }
        if self.out.gave_up.is_none() {
            for output in &self.graph.output {
                let Some(val) = self.values.get(output.name.as_str()).cloned() else { continue };
                let els = val.all_elements();
                for e in els {
                    self.mark_used(&e);
                    if self.probe == Probe::Missing && e.undefined() {
                        let why = format!(
                            "it reaches the graph's output {:?} as NaN or an undefined value",
                            output.name
                        );
                        self.refuse(&e.from, &why);
                    }
                }
            }
        }
        self.out
    }

    fn refuse(&mut self, from: &Sources, why: &str) {
        let shared = from.len() > 1;
        for s in from.iter() {
            self.out.refusals.entry(*s).or_insert_with(|| (why.to_owned(), shared));
        }
    }

    fn mark_used(&mut self, e: &El) {
        self.out.used.extend(e.from.iter().copied());
    }

    fn input(&self, node: &NodeProto, i: usize) -> Option<Val> {
        let name = node.input.get(i).filter(|n| !n.is_empty())?;
        self.values.get(name.as_str()).cloned()
    }

    fn set(&mut self, node: &'g NodeProto, i: usize, val: Val) {
        if let Some(name) = node.output.get(i) {
            let size = match &val {
                Val::Rows { els, .. } => els.len(),
                _ => 1,
            };
            self.work = self.work.saturating_add(size);
            if self.work > MAX_WORK {
                self.out.gave_up = Some(format!(
                    "the graph is too large to follow from its inputs (past {MAX_WORK} element steps)"
                ));
            }
            self.values.insert(name.as_str(), val);
        }
    }

    /// Every output of `node` as an operator not followed: what it computes
    /// from valid values is valid, from a probe's finite values finite, and
    /// from anything undefined undefined; it derives from every column it read.
    fn opaque(&mut self, node: &'g NodeProto) {
        let mut joined = El::plain(Abs::Normal);
        for i in 0..node.input.len() {
            if let Some(v) = self.input(node, i) {
                let e = v.joined();
                self.mark_used(&e);
                let abs = if matches!(e.abs, Abs::Known(_)) && !e.abs.is_nan() { Abs::Normal } else { e.abs };
                joined = El { abs: join(&joined.abs, &abs), from: union(&joined.from, &e.from) };
            }
        }
        for i in 0..node.output.len() {
            self.set(node, i, Val::Uniform(joined.clone()));
        }
    }

    fn step(&mut self, node: &'g NodeProto) {
        let op = node.op_type.as_str();
        // A node computing constants only is evaluated where it is one of
        // ours; its value is no probe's either way.
        match op {
            "Identity" | "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => self.reshape(node),
            "Constant" => match attr(node, "value").and_then(|a| a.t.as_ref()) {
                Some(t) => {
                    let value = constant(t);
                    self.set(node, 0, value);
                }
                None => self.opaque(node),
            },
            "Cast" => self.map1(node, |abs, _| cast(abs, node)),
            "Concat" => self.concat(node),
            "Gather" | "ArrayFeatureExtractor" => self.pick(node),
            "Imputer" => self.imputer(node),
            "Scaler" => self.scaler(node),
            "Binarizer" => {
                let threshold = float_attr(node, "threshold").unwrap_or(0.0);
                self.map1(node, move |abs, _| match abs {
                    Abs::Known(Scalar::F(x)) if !x.is_nan() => {
                        Abs::Known(Scalar::F(f64::from(u8::from(*x > threshold))))
                    }
                    Abs::Known(Scalar::I(x)) => {
                        Abs::Known(Scalar::F(f64::from(u8::from((*x as f64) > threshold))))
                    }
                    Abs::Normal => Abs::Normal,
                    Abs::Unseen | Abs::Finite => Abs::Finite,
                    _ => Abs::Taint,
                });
            }
            "LabelEncoder" | "CategoryMapper" => self.label_encoder(node),
            "OneHotEncoder" => self.one_hot(node),
            "Where" => self.where_(node),
            "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor"
            | "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" => self.binary(node),
            "Not" | "IsNaN" | "Neg" | "Abs" => self.unary(node),
            "TreeEnsembleClassifier" | "TreeEnsembleRegressor" | "TreeEnsemble" => self.model(node, true),
            "LinearClassifier" | "LinearRegressor" | "SVMClassifier" | "SVMRegressor" | "Normalizer" => {
                self.model(node, false)
            }
            _ => self.opaque(node),
        }
    }

    /// A model operator: what reaches it is checked, what it gives is a
    /// normal value. Trees define their answer for NaN; other models
    /// compute NaN from it.
    fn model(&mut self, node: &'g NodeProto, trees: bool) {
        let Some(input) = self.input(node, 0) else { return self.opaque(node) };
        let els = input.all_elements();
        let name = node_name(node);
        for e in &els {
            self.mark_used(e);
            let refused = match &e.abs {
                Abs::Known(Scalar::F(x)) if x.is_nan() && trees => None,
                Abs::Known(Scalar::F(x)) if x.is_nan() => {
                    Some(format!("it reaches {name} as NaN, from which the model computes NaN"))
                }
                Abs::MissingInt => Some(format!(
                    "it reaches {name} as the number -9223372036854775808, which no imputer replaces before"
                )),
                Abs::Taint => Some(format!("it reaches {name} as a value the graph does not define")),
                Abs::Known(Scalar::S(s)) => Some(format!("it reaches {name} as the text {s:?}")),
                _ => None,
            };
            if let (Some(why), Probe::Missing) = (refused, self.probe) {
                self.refuse(&e.from, &why);
            }
        }
        if op_is(node, "Normalizer") {
            // Row-wise, not a model: NaN anywhere makes the whole row NaN.
            let joined = input.joined();
            let abs = if els.iter().any(El::undefined) { Abs::Taint } else { Abs::Normal };
            let dims = match &input {
                Val::Rows { dims, .. } => dims.clone(),
                _ => None,
            };
            let out = els.iter().map(|_| El::with(abs.clone(), &joined.from)).collect();
            return self.set(node, 0, Val::rows(out, dims));
        }
        for i in 0..node.output.len() {
            self.set(node, i, Val::Uniform(El::plain(Abs::Normal)));
        }
    }

    fn reshape(&mut self, node: &'g NodeProto) {
        let Some(v) = self.input(node, 0) else { return self.opaque(node) };
        let keeps_batch = match node.op_type.as_str() {
            "Reshape" => match self.input(node, 1) {
                Some(Val::Const { data, .. }) => matches!(data.first(), Some(Scalar::I(-1 | 0))),
                _ => false,
            },
            "Flatten" => int_attr(node, "axis").unwrap_or(1) == 1,
            "Squeeze" | "Unsqueeze" => {
                let axes = ints_attr(node, "axes")
                    .or_else(|| match self.input(node, 1) {
                        Some(Val::Const { data, .. }) => Some(
                            data.iter()
                                .filter_map(|s| if let Scalar::I(i) = s { Some(*i) } else { None })
                                .collect(),
                        ),
                        _ => None,
                    })
                    .unwrap_or_default();
                !axes.is_empty() && !axes.contains(&0)
            }
            _ => true,
        };
        let identity = op_is(node, "Identity");
        let reshaped = match self.input(node, 1) {
            Some(Val::Const { data, .. }) if op_is(node, "Reshape") => data.get(1..).and_then(|rest| {
                rest.iter()
                    .map(|s| {
                        if let Scalar::I(d) = s { usize::try_from(*d).ok().filter(|&d| d > 0) } else { None }
                    })
                    .collect::<Option<Vec<usize>>>()
            }),
            _ => None,
        };
        let out = match v {
            Val::Rows { els, dims } if identity => Val::rows(els, dims),
            Val::Rows { els, .. } if keeps_batch => {
                let dims = reshaped.filter(|d| d.iter().product::<usize>() == els.len());
                Val::rows(els, dims)
            }
            Val::Const { shape, data } => Val::Const { shape, data },
            other => Val::Uniform(other.joined()),
        };
        self.set(node, 0, out);
    }

    /// Applies `f` to each element of the first input (constants too),
    /// with its position in the row when it is known.
    fn map1(&mut self, node: &'g NodeProto, f: impl Fn(&Abs, Option<usize>) -> Abs) {
        let Some(v) = self.input(node, 0) else { return self.opaque(node) };
        let out = match v {
            Val::Rows { els, dims } => Val::rows(
                els.iter().enumerate().map(|(j, e)| El::with(f(&e.abs, Some(j)), &e.from)).collect(),
                dims,
            ),
            Val::Uniform(e) => Val::Uniform(El::with(f(&e.abs, None), &e.from)),
            Val::Loose(els) => Val::Loose(els.iter().map(|e| El::with(f(&e.abs, None), &e.from)).collect()),
            Val::Const { shape, data } => {
                let mapped: Option<Vec<Scalar>> = data
                    .iter()
                    .enumerate()
                    .map(|(j, s)| match f(&Abs::Known(s.clone()), Some(j)) {
                        Abs::Known(k) => Some(k),
                        _ => None,
                    })
                    .collect();
                match mapped {
                    Some(data) => Val::Const { shape, data },
                    None => Val::Uniform(El::plain(Abs::Normal)),
                }
            }
        };
        self.set(node, 0, out);
    }

    fn concat(&mut self, node: &'g NodeProto) {
        let axis = int_attr(node, "axis").unwrap_or(0);
        let parts: Vec<Val> = (0..node.input.len()).filter_map(|i| self.input(node, i)).collect();
        if parts.len() != node.input.len() || parts.iter().all(|p| matches!(p, Val::Const { .. })) {
            return self.opaque(node);
        }
        // Per-row shapes past the batch axis (constants broadcast over it).
        let shapes: Vec<Option<Vec<usize>>> = parts
            .iter()
            .map(|p| match p {
                Val::Rows { dims, .. } => dims.clone(),
                Val::Const { shape, .. } => shape.get(1..).map(<[usize]>::to_vec),
                Val::Uniform(_) | Val::Loose(_) => None,
            })
            .collect();
        let rank = shapes.iter().flatten().map(Vec::len).max().unwrap_or(1).max(1);
        let at = if axis < 0 { axis + rank as i64 + 1 } else { axis };
        // Joining along an axis with nothing but size-1 axes before it (past
        // the batch) appends each row's elements; anything else is not followed.
        let appends = at >= 1
            && shapes.iter().all(|s| match s {
                Some(dims) => dims.len() == rank && dims[..(at as usize - 1)].iter().all(|&d| d == 1),
                None => rank == 1 && at == 1,
            });
        if !appends {
            return self.opaque(node);
        }
        let mut els = Vec::new();
        for p in &parts {
            match p.elements() {
                Some(e) => els.extend(e),
                // A part of unknown width: the positions after it are
                // unknown, but every element is still what it is.
                None => return self.set(node, 0, loose(&parts)),
            }
        }
        let dims = shapes
            .iter()
            .map(|s| s.as_ref().map(|d| d[at as usize - 1..].iter().product::<usize>()))
            .sum::<Option<usize>>();
        let dims = match (rank, dims) {
            (1, Some(width)) => Some(vec![width]),
            _ => None,
        };
        self.set(node, 0, Val::rows(els, dims));
    }

    /// `Gather` on axis 1 or `ArrayFeatureExtractor` with constant indices.
    fn pick(&mut self, node: &'g NodeProto) {
        let (Some(v), Some(Val::Const { data, .. })) = (self.input(node, 0), self.input(node, 1)) else {
            return self.opaque(node);
        };
        let indices: Vec<i64> =
            data.iter().filter_map(|s| if let Scalar::I(i) = s { Some(*i) } else { None }).collect();
        let axis = if op_is(node, "Gather") { int_attr(node, "axis").unwrap_or(0) } else { 1 };
        match v {
            Val::Rows { els, dims } if axis == 1 && dims.as_ref().is_none_or(|d| d.len() <= 1) => {
                let n = els.len() as i64;
                let picked: Option<Vec<El>> = indices
                    .iter()
                    .map(|&i| els.get(usize::try_from(if i < 0 { i + n } else { i }).ok()?).cloned())
                    .collect();
                match picked {
                    Some(p) => {
                        let width = p.len();
                        self.set(node, 0, Val::rows(p, Some(vec![width])));
                    }
                    None => self.opaque(node),
                }
            }
            Val::Const { shape, data } if shape.len() <= 1 => {
                let picked: Option<Vec<Scalar>> =
                    indices.iter().map(|&i| data.get(usize::try_from(i).ok()?).cloned()).collect();
                match picked {
                    Some(d) => self.set(node, 0, Val::Const { shape: vec![d.len()], data: d }),
                    None => self.opaque(node),
                }
            }
            other => {
                let e = other.joined();
                self.set(node, 0, Val::Uniform(e));
            }
        }
    }

    fn imputer(&mut self, node: &'g NodeProto) {
        let floats = floats_attr(node, "imputed_value_floats");
        let ints = ints_attr(node, "imputed_value_int64s");
        let replaced_float = float_attr(node, "replaced_value_float").unwrap_or(0.0);
        let replaced_int = int_attr(node, "replaced_value_int64").unwrap_or(0);
        // Where the element's position is unknown, an imputer with one
        // value per column still gives some finite value.
        let imputed = |values: &Option<Vec<f64>>, j: Option<usize>| -> Abs {
            match (values.as_deref(), j) {
                (Some([only]), _) => Abs::Known(Scalar::F(*only)),
                (Some(all), Some(j)) if j < all.len() => Abs::Known(Scalar::F(all[j])),
                (Some(all), None) if !all.is_empty() && all.iter().all(|v| v.is_finite()) => Abs::Finite,
                _ => Abs::Taint,
            }
        };
        let ints: Option<Vec<f64>> = ints.map(|v| v.into_iter().map(|i| i as f64).collect());
        let as_int = |abs: Abs| match abs {
            Abs::Known(Scalar::F(x)) => Abs::Known(Scalar::I(x as i64)),
            other => other,
        };
        self.map1(node, |abs, j| match abs {
            Abs::Known(Scalar::F(x)) if (x.is_nan() && replaced_float.is_nan()) || *x == replaced_float => {
                imputed(&floats, j)
            }
            Abs::MissingInt if replaced_int == i64::MIN => as_int(imputed(&ints, j)),
            Abs::Known(Scalar::I(x)) if *x == replaced_int => as_int(imputed(&ints, j)),
            other => other.clone(),
        });
    }

    fn scaler(&mut self, node: &'g NodeProto) {
        let offset = floats_attr(node, "offset").unwrap_or_default();
        let scale = floats_attr(node, "scale").unwrap_or_default();
        let at = |v: &[f64], j: Option<usize>, default: f64| -> Option<f64> {
            match (v, j) {
                ([], _) => Some(default),
                ([only], _) => Some(*only),
                (all, Some(j)) => all.get(j).copied(),
                (_, None) => None,
            }
        };
        self.map1(node, |abs, j| {
            let x = match abs {
                Abs::Known(Scalar::F(x)) => *x,
                Abs::Known(Scalar::I(x)) => *x as f64,
                Abs::Unseen | Abs::Finite => return Abs::Finite,
                Abs::Normal => return Abs::Normal,
                _ => return Abs::Taint,
            };
            match (at(&offset, j, 0.0), at(&scale, j, 1.0)) {
                (Some(o), Some(s)) => Abs::Known(Scalar::F((x - o) * s)),
                _ if x.is_nan() => Abs::Known(Scalar::F(f64::NAN)),
                _ => Abs::Finite,
            }
        });
    }

    fn label_encoder(&mut self, node: &'g NodeProto) {
        let Some(v) = self.input(node, 0) else { return self.opaque(node) };
        let encoder = if op_is(node, "CategoryMapper") {
            Encoder::category_mapper(node, &v)
        } else {
            Encoder::label(node)
        };
        let Some(encoder) = encoder else { return self.opaque(node) };
        self.record_keys(&v.all_elements(), &encoder.keys);
        let map = |e: &El| -> Abs {
            match &e.abs {
                Abs::Known(s) => encoder.lookup(s).map_or(Abs::Taint, Abs::Known),
                Abs::Unseen => encoder.default.clone().map_or(Abs::Taint, Abs::Known),
                Abs::Normal => Abs::Normal,
                _ => Abs::Taint,
            }
        };
        let out = match v {
            Val::Rows { els, dims } => {
                Val::rows(els.iter().map(|e| El::with(map(e), &e.from)).collect(), dims)
            }
            Val::Loose(els) => Val::Loose(els.iter().map(|e| El::with(map(e), &e.from)).collect()),
            Val::Uniform(e) => Val::Uniform(El::with(map(&e), &e.from)),
            Val::Const { shape, data } => {
                let mapped: Option<Vec<Scalar>> = data.iter().map(|s| encoder.lookup(s)).collect();
                match mapped {
                    Some(data) => Val::Const { shape, data },
                    None => Val::Uniform(El::plain(Abs::Normal)),
                }
            }
        };
        self.set(node, 0, out);
    }

    fn one_hot(&mut self, node: &'g NodeProto) {
        let keys = strings_attr(node, "cats_strings")
            .filter(|k| !k.is_empty())
            .map(Keys::Strings)
            .or_else(|| ints_attr(node, "cats_int64s").map(Keys::Ints));
        let Some(keys) = keys else { return self.opaque(node) };
        let zeros = int_attr(node, "zeros").unwrap_or(1) != 0;
        let name = node_name(node);
        let Some(v) = self.input(node, 0) else { return self.opaque(node) };
        let positional = matches!(v, Val::Rows { .. } | Val::Const { .. });
        let els = v.all_elements();
        self.record_keys(&els, &keys);
        let width = keys.len();
        let mut out = Vec::with_capacity(els.len() * width);
        for e in &els {
            self.mark_used(e);
            // Whether the encoder lists it: yes, no, or cannot tell.
            let listed = match &e.abs {
                Abs::Known(s) if !e.abs.is_nan() => Some(keys.contains(s)),
                Abs::Unseen => Some(false),
                Abs::Normal => Some(true),
                _ => None,
            };
            let problem = match (listed, zeros) {
                _ if e.undefined() => Some(format!("it reaches {name} as a value the graph does not define")),
                (Some(true), _) | (_, true) => None,
                (Some(false), false) => Some(match &e.abs {
                    Abs::Known(s) => format!(
                        "it becomes {s} before {name}, which does not list it and refuses what it does not list (handle_unknown='error')"
                    ),
                    _ => format!(
                        "{name} refuses a category it does not list (handle_unknown='error'); it lists {}",
                        keys.shown()
                    ),
                }),
                (None, false) => Some(format!(
                    "{name} refuses a value it does not list (handle_unknown='error') and cannot tell which reach it"
                )),
            };
            if let Some(why) = problem {
                self.refuse(&e.from, &why);
            }
            out.extend((0..width).map(|_| El::plain(Abs::Normal)));
        }
        let rows = els.len();
        let out = if positional { Val::rows(out, Some(vec![rows, width])) } else { Val::Loose(out) };
        self.set(node, 0, out);
    }

    /// The first encoder a probe of one column reaches names its keys.
    fn record_keys(&mut self, els: &[El], keys: &Keys) {
        if self.probe != Probe::Unseen || keys.is_imputer_test() {
            return;
        }
        for e in els {
            if let (Abs::Unseen | Abs::Finite, [source]) = (&e.abs, e.from.as_slice()) {
                self.out.keys.entry(*source).or_insert_with(|| keys.clone());
            }
        }
    }

    fn where_(&mut self, node: &'g NodeProto) {
        let (Some(c), Some(a), Some(b)) = (self.input(node, 0), self.input(node, 1), self.input(node, 2))
        else {
            return self.opaque(node);
        };
        self.elementwise(node, &[c, a, b], |args| match &args[0].abs {
            Abs::Known(Scalar::B(true)) => {
                El::with(args[1].abs.clone(), &union(&args[1].from, &args[0].from))
            }
            Abs::Known(Scalar::B(false)) => {
                El::with(args[2].abs.clone(), &union(&args[2].from, &args[0].from))
            }
            _ => {
                let from = union(&union(&args[0].from, &args[1].from), &args[2].from);
                let abs = if args[0].from.is_empty() { join(&args[1].abs, &args[2].abs) } else { Abs::Taint };
                El { abs, from }
            }
        });
    }

    fn binary(&mut self, node: &'g NodeProto) {
        let (Some(a), Some(b)) = (self.input(node, 0), self.input(node, 1)) else { return self.opaque(node) };
        let op = node.op_type.clone();
        self.elementwise(node, &[a, b], move |args| {
            let from = union(&args[0].from, &args[1].from);
            El { abs: binary(&op, &args[0].abs, &args[1].abs), from }
        });
    }

    fn unary(&mut self, node: &'g NodeProto) {
        let op = node.op_type.clone();
        self.map1(node, move |abs, _| match (op.as_str(), abs) {
            ("IsNaN", Abs::Known(Scalar::F(x))) => Abs::Known(Scalar::B(x.is_nan())),
            ("IsNaN", Abs::Unseen | Abs::Finite | Abs::Known(_)) => Abs::Known(Scalar::B(false)),
            ("Not", Abs::Known(Scalar::B(b))) => Abs::Known(Scalar::B(!b)),
            ("Neg", Abs::Known(Scalar::F(x))) => Abs::Known(Scalar::F(-x)),
            ("Abs", Abs::Known(Scalar::F(x))) => Abs::Known(Scalar::F(x.abs())),
            ("Neg" | "Abs", Abs::Unseen | Abs::Finite) => Abs::Finite,
            (_, Abs::Normal) => Abs::Normal,
            _ => Abs::Taint,
        });
    }

    /// Applies `f` element by element to inputs broadcast against each other:
    /// batch values of one layout, and constants of one element or one per
    /// element.
    fn elementwise(&mut self, node: &'g NodeProto, args: &[Val], f: impl Fn(&[El]) -> El) {
        // Broadcasting over the row's last axis: one element goes with many.
        let len = args
            .iter()
            .filter_map(|a| match a {
                Val::Rows { els, .. } => Some(els.len()),
                Val::Const { data, .. } => Some(data.len()),
                _ => None,
            })
            .max()
            .filter(|_| args.iter().any(|a| matches!(a, Val::Rows { .. })));
        let dims = args
            .iter()
            .find_map(|a| match a {
                Val::Rows { dims, els } if Some(els.len()) == len => Some(dims.clone()),
                _ => None,
            })
            .unwrap_or_else(|| len.map(|l| vec![l]));
        let Some(len) = len else {
            // No batch value with a layout: constants only, or uniform values.
            if args.iter().all(|a| matches!(a, Val::Const { .. })) {
                return self.opaque(node);
            }
            let joined: Vec<El> = args.iter().map(Val::joined).collect();
            return self.set(node, 0, Val::Uniform(f(&joined)));
        };
        let mut columns = Vec::with_capacity(args.len());
        for a in args {
            let column: Option<Vec<El>> = match a {
                Val::Rows { els, .. } if els.len() == len => Some(els.clone()),
                Val::Rows { els, .. } if els.len() == 1 => Some(vec![els[0].clone(); len]),
                Val::Const { data, .. } if data.len() == 1 => {
                    Some(vec![El::plain(Abs::Known(data[0].clone())); len])
                }
                Val::Const { data, .. } if data.len() == len => {
                    Some(data.iter().map(|s| El::plain(Abs::Known(s.clone()))).collect())
                }
                Val::Uniform(e) => Some(vec![e.clone(); len]),
                _ => None,
            };
            match column {
                Some(c) => columns.push(c),
                None => return self.opaque(node),
            }
        }
        let out = (0..len)
            .map(|j| {
                let at: Vec<El> = columns.iter().map(|c| c[j].clone()).collect();
                f(&at)
            })
            .collect();
        self.set(node, 0, Val::rows(out, dims));
    }
}

/// `a op b` on what is known of each.
fn binary(op: &str, a: &Abs, b: &Abs) -> Abs {
    use Scalar::{B, F, I, S};
    let number = |s: &Scalar| match s {
        F(x) => Some(*x),
        I(i) => Some(*i as f64),
        B(b) => Some(f64::from(u8::from(*b))),
        S(_) => None,
    };
    match (a, b) {
        (Abs::Known(x), Abs::Known(y)) => {
            let known = match op {
                "Equal" => Some(B(match (x, y) {
                    (S(p), S(q)) => p == q,
                    _ => number(x) == number(y),
                })),
                "And" | "Or" | "Xor" => match (x, y) {
                    (B(p), B(q)) => Some(B(match op {
                        "And" => *p && *q,
                        "Or" => *p || *q,
                        _ => p != q,
                    })),
                    _ => None,
                },
                _ => match (number(x), number(y)) {
                    (Some(p), Some(q)) => Some(match op {
                        "Less" => B(p < q),
                        "Greater" => B(p > q),
                        "LessOrEqual" => B(p <= q),
                        "GreaterOrEqual" => B(p >= q),
                        "Add" => F(p + q),
                        "Sub" => F(p - q),
                        "Mul" => F(p * q),
                        "Div" => F(p / q),
                        "Max" => F(p.max(q)),
                        _ => F(p.min(q)),
                    }),
                    _ => None,
                },
            };
            known.map_or(Abs::Taint, Abs::Known)
        }
        (Abs::Normal, Abs::Normal) => Abs::Normal,
        (Abs::Unseen, Abs::Known(_)) | (Abs::Known(_), Abs::Unseen) if op == "Equal" => Abs::Known(B(false)),
        (x, y) if x.undefined() || y.undefined() => Abs::Taint,
        (x, y) if x.valid() && y.valid() => Abs::Normal,
        _ => Abs::Finite,
    }
}

/// A `Cast` of one element.
fn cast(abs: &Abs, node: &NodeProto) -> Abs {
    let to = int_attr(node, "to").and_then(|t| DataType::try_from(t as i32).ok());
    match (abs, to) {
        (Abs::Known(s), Some(to)) => match (s, to) {
            (Scalar::F(x), DataType::Float | DataType::Double) => Abs::Known(Scalar::F(*x)),
            (Scalar::F(x), DataType::Int64 | DataType::Int32) if x.is_finite() => {
                Abs::Known(Scalar::I(x.trunc() as i64))
            }
            (Scalar::F(_), DataType::Int64 | DataType::Int32) => Abs::Taint,
            (Scalar::I(i), DataType::Float | DataType::Double) => Abs::Known(Scalar::F(*i as f64)),
            (Scalar::I(i), DataType::Int64 | DataType::Int32) => Abs::Known(Scalar::I(*i)),
            (Scalar::I(i), DataType::Bool) => Abs::Known(Scalar::B(*i != 0)),
            (Scalar::F(x), DataType::Bool) => Abs::Known(Scalar::B(*x != 0.0)),
            (Scalar::B(b), DataType::Float | DataType::Double) => {
                Abs::Known(Scalar::F(f64::from(u8::from(*b))))
            }
            (Scalar::B(b), DataType::Int64 | DataType::Int32) => Abs::Known(Scalar::I(i64::from(*b))),
            (Scalar::B(b), DataType::Bool) => Abs::Known(Scalar::B(*b)),
            (Scalar::S(s), DataType::String) => Abs::Known(Scalar::S(s.clone())),
            _ => Abs::Taint,
        },
        (Abs::MissingInt, Some(DataType::Int64)) => Abs::MissingInt,
        // An integer standing for "missing" means nothing once it is a float.
        (Abs::MissingInt, _) => Abs::Taint,
        // A number seen nowhere may truncate to one that is listed.
        (Abs::Unseen, Some(DataType::Int64 | DataType::Int32)) => Abs::Finite,
        (other, _) => other.clone(),
    }
}

/// An encoder's mapping.
struct Encoder {
    keys: Keys,
    values: Vec<Scalar>,
    default: Option<Scalar>,
}

impl Encoder {
    /// `CategoryMapper`: text to its code, or a code to its text, whichever
    /// the input is.
    fn category_mapper(node: &NodeProto, input: &Val) -> Option<Self> {
        let strings = strings_attr(node, "cats_strings")?;
        let ints = ints_attr(node, "cats_int64s")?;
        let text_in = match input.all_elements().first().map(|e| &e.abs) {
            Some(Abs::Known(Scalar::S(_))) => true,
            Some(Abs::Known(_)) => false,
            _ => match input {
                Val::Const { data, .. } => matches!(data.first(), Some(Scalar::S(_))),
                _ => true,
            },
        };
        Some(if text_in {
            Self {
                keys: Keys::Strings(strings),
                values: ints.into_iter().map(Scalar::I).collect(),
                default: Some(Scalar::I(int_attr(node, "default_int64").unwrap_or(-1))),
            }
        } else {
            Self {
                keys: Keys::Ints(ints),
                values: strings.into_iter().map(Scalar::S).collect(),
                default: Some(Scalar::S(
                    string_attr(node, "default_string").unwrap_or_else(|| "_Unused".to_owned()),
                )),
            }
        })
    }

    fn label(node: &NodeProto) -> Option<Self> {
        let keys = strings_attr(node, "keys_strings")
            .map(Keys::Strings)
            .or_else(|| ints_attr(node, "keys_int64s").map(Keys::Ints))
            .or_else(|| floats_attr(node, "keys_floats").map(Keys::Floats))?;
        let (values, default) = if let Some(v) = strings_attr(node, "values_strings") {
            let default = string_attr(node, "default_string").unwrap_or_else(|| "_Unused".to_owned());
            (v.into_iter().map(Scalar::S).collect(), Scalar::S(default))
        } else if let Some(v) = ints_attr(node, "values_int64s") {
            (v.into_iter().map(Scalar::I).collect(), Scalar::I(int_attr(node, "default_int64").unwrap_or(-1)))
        } else if let Some(v) = floats_attr(node, "values_floats") {
            (
                v.into_iter().map(Scalar::F).collect(),
                Scalar::F(float_attr(node, "default_float").unwrap_or(-0.0)),
            )
        } else {
            return None;
        };
        Some(Self { keys, values, default: Some(default) })
    }

    fn lookup(&self, s: &Scalar) -> Option<Scalar> {
        let at = match (&self.keys, s) {
            (Keys::Strings(k), Scalar::S(s)) => k.iter().position(|x| x == s),
            (Keys::Ints(k), Scalar::I(i)) => k.iter().position(|x| x == i),
            (Keys::Ints(k), Scalar::F(x)) => k.iter().position(|k| *k as f64 == *x),
            (Keys::Floats(k), Scalar::F(x)) => k.iter().position(|k| k == x || (k.is_nan() && x.is_nan())),
            (Keys::Floats(k), Scalar::I(i)) => k.iter().position(|k| *k == *i as f64),
            _ => return None,
        };
        match at {
            Some(i) => self.values.get(i).cloned(),
            None => self.default.clone(),
        }
    }
}

impl Keys {
    fn len(&self) -> usize {
        match self {
            Self::Strings(k) => k.len(),
            Self::Ints(k) => k.len(),
            Self::Floats(k) => k.len(),
        }
    }

    fn contains(&self, s: &Scalar) -> bool {
        match (self, s) {
            (Self::Strings(k), Scalar::S(s)) => k.contains(s),
            (Self::Ints(k), Scalar::I(i)) => k.contains(i),
            (Self::Ints(k), Scalar::F(x)) => k.iter().any(|k| *k as f64 == *x),
            (Self::Floats(k), Scalar::F(x)) => k.contains(x),
            _ => false,
        }
    }

    /// A text imputer's test for the empty string, not a list of categories.
    fn is_imputer_test(&self) -> bool {
        matches!(self, Self::Strings(k) if k.iter().all(String::is_empty))
    }

    fn shown(&self) -> String {
        let items: Vec<String> = match self {
            Self::Strings(k) => k.iter().take(10).map(|s| format!("{s:?}")).collect(),
            Self::Ints(k) => k.iter().take(10).map(ToString::to_string).collect(),
            Self::Floats(k) => k.iter().take(10).map(ToString::to_string).collect(),
        };
        let more = if self.len() > 10 { format!(" and {} more", self.len() - 10) } else { String::new() };
        format!("{}{more}", items.join(", "))
    }
}

fn node_name(node: &NodeProto) -> String {
    if node.name.is_empty() {
        node.op_type.clone()
    } else {
        format!("{} (node {:?})", node.op_type, node.name)
    }
}

fn op_is(node: &NodeProto, op: &str) -> bool {
    node.op_type == op
}

fn attr<'n>(node: &'n NodeProto, name: &str) -> Option<&'n tract_onnx::pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

fn float_attr(node: &NodeProto, name: &str) -> Option<f64> {
    attr(node, name).map(|a| f64::from(a.f))
}

fn string_attr(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

fn ints_attr(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

fn strings_attr(node: &NodeProto, name: &str) -> Option<Vec<String>> {
    attr(node, name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}

/// A float list attribute, or (ai.onnx.ml 3) its `_as_tensor` form.
fn floats_attr(node: &NodeProto, name: &str) -> Option<Vec<f64>> {
    if let Some(a) = attr(node, name) {
        return Some(a.floats.iter().map(|&f| f64::from(f)).collect());
    }
    let t = attr(node, &format!("{name}_as_tensor"))?.t.as_ref()?;
    match constant(t) {
        Val::Const { data, .. } => {
            Some(data.into_iter().filter_map(|s| if let Scalar::F(x) = s { Some(x) } else { None }).collect())
        }
        _ => None,
    }
}

/// An initializer's value, when it is small enough to be worth knowing.
fn constant(t: &TensorProto) -> Val {
    const MAX_CONSTANT: usize = 1 << 16;
    let shape: Vec<usize> = t.dims.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
    let count: usize = shape.iter().product();
    let raw = |size: usize| -> Option<Vec<&[u8]>> {
        (t.raw_data.len() == count * size).then(|| t.raw_data.chunks_exact(size).collect())
    };
    let data: Option<Vec<Scalar>> = if count > MAX_CONSTANT {
        None
    } else {
        match DataType::try_from(t.data_type).ok() {
            Some(DataType::Float) if !t.float_data.is_empty() => {
                Some(t.float_data.iter().map(|&f| Scalar::F(f64::from(f))).collect())
            }
            Some(DataType::Float) => raw(4).map(|c| {
                c.iter().map(|b| Scalar::F(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))).collect()
            }),
            Some(DataType::Double) if !t.double_data.is_empty() => {
                Some(t.double_data.iter().map(|&f| Scalar::F(f)).collect())
            }
            Some(DataType::Double) => raw(8).map(|c| {
                c.iter().map(|b| Scalar::F(f64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))).collect()
            }),
            Some(DataType::Int64) if !t.int64_data.is_empty() => {
                Some(t.int64_data.iter().map(|&i| Scalar::I(i)).collect())
            }
            Some(DataType::Int64) => raw(8).map(|c| {
                c.iter().map(|b| Scalar::I(i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))).collect()
            }),
            Some(DataType::Int32) if !t.int32_data.is_empty() => {
                Some(t.int32_data.iter().map(|&i| Scalar::I(i64::from(i))).collect())
            }
            Some(DataType::String) => Some(
                t.string_data.iter().map(|s| Scalar::S(String::from_utf8_lossy(s).into_owned())).collect(),
            ),
            Some(DataType::Bool) if !t.int32_data.is_empty() => {
                Some(t.int32_data.iter().map(|&i| Scalar::B(i != 0)).collect())
            }
            Some(DataType::Bool) => raw(1).map(|c| c.iter().map(|b| Scalar::B(b[0] != 0)).collect()),
            _ => None,
        }
    };
    match data {
        Some(data) if data.len() == count => Val::Const { shape, data },
        _ => Val::Uniform(El::plain(Abs::Normal)),
    }
}
