//! What an ONNX graph takes and gives, read from its protobuf before tract
//! builds anything: input and output names, element types and shapes, the
//! class labels ONNX-ML classifiers carry, and the operators it uses.
//!
//! Reading is all it does: no dimension read here sizes an allocation, and
//! a graph is only run once the caller has checked it against what it needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use tract_onnx::prelude::Framework;

use crate::labels::ClassLabels;

/// A tensor element type, as ONNX declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemType {
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// Text.
    String,
    /// Boolean.
    Bool,
    /// Another tensor type, by its ONNX code.
    Other(i32),
    /// Not a tensor at all: a sequence or a map (ZipMap's output), or undeclared.
    NotATensor,
}

impl ElemType {
    fn of(info: &ValueInfoProto) -> (Self, Option<Vec<Dim>>) {
        let Some(type_proto::Value::TensorType(tensor)) = info.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return (Self::NotATensor, None);
        };
        let elem = match DataType::try_from(tensor.elem_type) {
            Ok(DataType::Float) => Self::F32,
            Ok(DataType::Double) => Self::F64,
            Ok(DataType::Int32) => Self::I32,
            Ok(DataType::Int64) => Self::I64,
            Ok(DataType::String) => Self::String,
            Ok(DataType::Bool) => Self::Bool,
            _ => Self::Other(tensor.elem_type),
        };
        let shape = tensor.shape.as_ref().map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(dimension::Value::DimValue(v)) => u64::try_from(*v).map_or(Dim::Unknown, Dim::Fixed),
                    Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                    _ => Dim::Unknown,
                })
                .collect()
        });
        (elem, shape)
    }

    /// Its name in the Open Inference Protocol's vocabulary (`FP32`, `BYTES`, …).
    pub fn protocol_name(self) -> &'static str {
        match self {
            Self::F32 => "FP32",
            Self::F64 => "FP64",
            Self::I32 => "INT32",
            Self::I64 => "INT64",
            Self::String => "BYTES",
            Self::Bool => "BOOL",
            Self::Other(_) | Self::NotATensor => "UNKNOWN",
        }
    }

    /// A short lowercase name (`float32`, `string`, …).
    pub fn name(self) -> String {
        match self {
            Self::F32 => "float32".to_owned(),
            Self::F64 => "float64".to_owned(),
            Self::I32 => "int32".to_owned(),
            Self::I64 => "int64".to_owned(),
            Self::String => "string".to_owned(),
            Self::Bool => "bool".to_owned(),
            Self::Other(code) => format!("onnx type {code}"),
            Self::NotATensor => "not a tensor".to_owned(),
        }
    }
}

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A fixed size.
    Fixed(u64),
    /// A named size, such as the batch dimension `N`.
    Symbolic(String),
    /// Not declared.
    Unknown,
}

impl Dim {
    /// The size, when fixed.
    pub fn fixed(&self) -> Option<u64> {
        match self {
            Self::Fixed(n) => Some(*n),
            _ => None,
        }
    }
}

/// One graph input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name in the graph.
    pub name: String,
    /// Its element type.
    pub elem: ElemType,
    /// Its declared shape, when the graph declares one.
    pub shape: Option<Vec<Dim>>,
}

/// What a graph takes and gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The inputs a caller feeds (initializers excluded), in graph order.
    pub inputs: Vec<TensorInfo>,
    /// The outputs, in graph order.
    pub outputs: Vec<TensorInfo>,
    /// The class labels of the graph's classifier operator, if it has one.
    pub class_labels: Option<ClassLabels>,
    /// Every operator used, as `domain:Op` (`ai.onnx:` for the default domain), sorted.
    pub operators: Vec<String>,
    /// What the graph does to each input before its model, by input name:
    /// the categories an encoder declares, whether missing values are filled in.
    pub handling: BTreeMap<String, InputHandling>,
}

/// What a graph does with one of its inputs on the way to the model, as far
/// as its operators declare it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputHandling {
    /// The categories the first encoder reached declares (`cats_strings`,
    /// `keys_strings`), in its order.
    pub categories: Option<Vec<String>>,
    /// Whether that encoder ignores a category it does not know
    /// (a OneHotEncoder with `zeros = 1`).
    pub unknown_ignored: bool,
    /// Whether a missing value is filled in before the model: an `Imputer`
    /// for numbers, the `Where` of a text imputer for text.
    pub imputed: bool,
}

/// Operators that carry a classifier's labels, in the attributes ONNX-ML names.
const LABELLED_OPS: [&str; 4] = ["TreeEnsembleClassifier", "LinearClassifier", "SVMClassifier", "ZipMap"];

impl Signature {
    /// Reads the signature of the ONNX file at `path`.
    pub fn inspect(path: &Path) -> Result<Self> {
        let proto = tract_onnx::onnx()
            .proto_model_for_path(path)
            .map_err(|e| anyhow!("{e:#}"))
            .context("not a readable ONNX model")?;
        Self::of(&proto)
    }

    /// The signature of a decoded model.
    pub fn of(proto: &ModelProto) -> Result<Self> {
        let graph = proto.graph.as_ref().context("the file holds no graph")?;
        let initializers: BTreeSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let info = |v: &ValueInfoProto| {
            let (elem, shape) = ElemType::of(v);
            TensorInfo { name: v.name.clone(), elem, shape }
        };
        let inputs: Vec<TensorInfo> =
            graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).map(info).collect();
        let outputs = graph.output.iter().map(info).collect();
        let mut operators = BTreeSet::new();
        let mut class_labels = None;
        for node in &graph.node {
            let domain = if node.domain.is_empty() { "ai.onnx" } else { node.domain.as_str() };
            operators.insert(format!("{domain}:{}", node.op_type));
            if class_labels.is_none() && LABELLED_OPS.contains(&node.op_type.as_str()) {
                class_labels = labels_of(node);
            }
        }
        // Graphs of standard operators (an MLP) pick their label out of a
        // constant list of classes with ArrayFeatureExtractor.
        if class_labels.is_none() {
            class_labels = graph
                .node
                .iter()
                .filter(|n| n.op_type == "ArrayFeatureExtractor")
                .filter_map(|n| n.input.first())
                .filter_map(|name| graph.initializer.iter().find(|t| t.name == *name))
                .find_map(constant_labels);
        }
        let handling = inputs_handling(graph, &inputs);
        Ok(Self { inputs, outputs, class_labels, operators: operators.into_iter().collect(), handling })
    }

    /// The input named `name`.
    pub fn input(&self, name: &str) -> Option<&TensorInfo> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The output named `name`.
    pub fn output(&self, name: &str) -> Option<&TensorInfo> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Operators a value passes through before reaching the model; the walk
/// from an input stops at anything else.
const HEADS: [&str; 6] = [
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "LinearClassifier",
    "LinearRegressor",
    "SVMClassifier",
    "SVMRegressor",
];

/// How far the walk from an input goes: preprocessing chains are short, and
/// the bound keeps a hostile graph from making inspection slow.
const MAX_WALK_NODES: usize = 64;

/// Walks forward from each input through the preprocessing (not past a
/// model operator) and records the first encoder met and any imputer.
///
/// Exporters concatenate text columns and pick each back out (`Gather`,
/// `ArrayFeatureExtractor`) for its own encoder, so the walk follows which
/// column of each value holds the input, and only takes an encoder fed
/// that column.
fn inputs_handling(
    graph: &tract_onnx::pb::GraphProto,
    inputs: &[TensorInfo],
) -> BTreeMap<String, InputHandling> {
    let mut consumers: BTreeMap<&str, Vec<&NodeProto>> = BTreeMap::new();
    for node in &graph.node {
        for input in &node.input {
            consumers.entry(input.as_str()).or_default().push(node);
        }
    }
    // Column counts of values whose declared shape says so.
    let mut widths: BTreeMap<&str, u64> = BTreeMap::new();
    for info in graph.input.iter().chain(&graph.value_info) {
        let (_, shape) = ElemType::of(info);
        if let Some([_, width]) = shape.as_deref()
            && let Some(width) = width.fixed()
        {
            widths.insert(info.name.as_str(), width);
        }
    }
    // Widths of what the preprocessing computes (nodes come in graph order).
    for node in &graph.node {
        let first = node.input.first().and_then(|i| widths.get(i.as_str()).copied());
        let width = match node.op_type.as_str() {
            "Gather" | "ArrayFeatureExtractor" => constant_indices(graph, node).map(|i| i.len() as u64),
            "Concat" => node.input.iter().map(|i| widths.get(i.as_str()).copied()).sum(),
            "Where" => node.input.last().and_then(|i| widths.get(i.as_str()).copied()),
            "Cast" | "Identity" | "LabelEncoder" | "Imputer" | "Scaler" => first,
            _ => None,
        };
        if let (Some(width), [output]) = (width, node.output.as_slice()) {
            widths.insert(output.as_str(), width);
        }
    }
    let mut out = BTreeMap::new();
    for input in inputs {
        let mut handling = InputHandling::default();
        // (value, the column of it that holds the input: None once unknown)
        let mut queue = std::collections::VecDeque::from([(input.name.as_str(), Some(0_u64))]);
        let mut steps = 0;
        while let Some((value, column)) = queue.pop_front() {
            for node in consumers.get(value).into_iter().flatten() {
                steps += 1;
                if steps > MAX_WALK_NODES {
                    break;
                }
                let op = node.op_type.as_str();
                if HEADS.contains(&op) {
                    continue;
                }
                let column = match op {
                    "Concat" => concat_column(node, value, column, &widths),
                    "Gather" | "ArrayFeatureExtractor" => match picked_column(graph, node, column) {
                        Picked::Yes(c) => Some(c),
                        Picked::No => continue,
                        Picked::Unknown => None,
                    },
                    _ => column,
                };
                match op {
                    "Imputer" if input.elem != ElemType::String => handling.imputed = true,
                    "Where" if input.elem == ElemType::String && handling.categories.is_none() => {
                        handling.imputed = true;
                    }
                    "OneHotEncoder" | "LabelEncoder" if handling.categories.is_none() && column.is_some() => {
                        let attr = if op == "OneHotEncoder" { "cats_strings" } else { "keys_strings" };
                        let cats = node.get_attr_opt_vec::<String>(attr).ok().flatten().unwrap_or_default();
                        // A text imputer tests for the empty string with a
                        // one-key LabelEncoder; that key is no category.
                        if cats.iter().all(String::is_empty) {
                            handling.imputed |= !cats.is_empty();
                        } else {
                            handling.unknown_ignored = op == "OneHotEncoder"
                                && node.get_attr_opt::<i64>("zeros").ok().flatten().unwrap_or(1) != 0;
                            handling.categories = Some(cats);
                        }
                    }
                    _ => {}
                }
                // An encoder's output is numbers: what follows says nothing
                // more about the text input.
                if !matches!(op, "OneHotEncoder" | "LabelEncoder") {
                    queue.extend(node.output.iter().map(|o| (o.as_str(), column)));
                }
            }
        }
        out.insert(input.name.clone(), handling);
    }
    out
}

/// The column of a `Concat`'s output that holds `column` of its input
/// `value`: the widths of the inputs before it, when all are known.
fn concat_column(
    node: &NodeProto,
    value: &str,
    column: Option<u64>,
    widths: &BTreeMap<&str, u64>,
) -> Option<u64> {
    let axis = node.get_attr_opt::<i64>("axis").ok().flatten().unwrap_or(0);
    if axis != 1 && axis != -1 {
        return None;
    }
    let position = node.input.iter().position(|i| i == value)?;
    let before: Option<u64> = node.input[..position].iter().map(|i| widths.get(i.as_str()).copied()).sum();
    Some(before? + column?)
}

/// The constant integer indices a column pick takes, when they are an initializer.
fn constant_indices(graph: &tract_onnx::pb::GraphProto, node: &NodeProto) -> Option<Vec<i64>> {
    let name = node.input.get(1)?;
    let t = graph.initializer.iter().find(|t| t.name == *name)?;
    if !t.int64_data.is_empty() {
        Some(t.int64_data.clone())
    } else if DataType::try_from(t.data_type) == Ok(DataType::Int64) {
        Some(t.raw_data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect())
    } else {
        None
    }
}

enum Picked {
    Yes(u64),
    No,
    Unknown,
}

/// Whether a column pick (`Gather` on axis 1, `ArrayFeatureExtractor`)
/// with constant indices keeps `column`, and where it lands.
fn picked_column(graph: &tract_onnx::pb::GraphProto, node: &NodeProto, column: Option<u64>) -> Picked {
    let axis = node.get_attr_opt::<i64>("axis").ok().flatten().unwrap_or(0);
    if node.op_type == "Gather" && axis != 1 {
        return Picked::Unknown;
    }
    let Some(column) = column else { return Picked::Unknown };
    let Some(indices) = constant_indices(graph, node) else { return Picked::Unknown };
    match indices.iter().position(|&i| u64::try_from(i) == Ok(column)) {
        Some(p) => Picked::Yes(p as u64),
        None => Picked::No,
    }
}

/// A constant tensor of class labels: integers or strings.
fn constant_labels(t: &TensorProto) -> Option<ClassLabels> {
    match DataType::try_from(t.data_type).ok()? {
        DataType::Int64 if !t.int64_data.is_empty() => Some(ClassLabels::Ints(t.int64_data.clone())),
        DataType::Int64 if !t.raw_data.is_empty() && t.raw_data.len().is_multiple_of(8) => {
            Some(ClassLabels::Ints(
                t.raw_data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                    .collect(),
            ))
        }
        DataType::Int32 if !t.int32_data.is_empty() => {
            Some(ClassLabels::Ints(t.int32_data.iter().map(|&i| i64::from(i)).collect()))
        }
        DataType::String if !t.string_data.is_empty() => Some(ClassLabels::Strings(
            t.string_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
        )),
        _ => None,
    }
}

fn labels_of(node: &NodeProto) -> Option<ClassLabels> {
    ClassLabels::of_node(node, &["classlabels_int64s", "classlabels_ints"]).ok().flatten()
}
