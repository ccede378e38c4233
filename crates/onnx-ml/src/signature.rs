//! What an ONNX graph takes and gives, read from its protobuf before tract
//! builds anything: input and output names, element types and shapes, the
//! class labels ONNX-ML classifiers carry, and the operators it uses.
//!
//! Reading is all it does: no dimension read here sizes an allocation, and
//! a graph is only run once the caller has checked it against what it needs.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use tract_onnx::prelude::Framework;

use crate::contract::InputContract;
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
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The inputs a caller feeds (initializers excluded), in graph order.
    pub inputs: Vec<TensorInfo>,
    /// The outputs, in graph order.
    pub outputs: Vec<TensorInfo>,
    /// The class labels of the graph's classifier operator, if it has one.
    pub class_labels: Option<ClassLabels>,
    /// Every operator used, as `domain:Op` (`ai.onnx:` for the default domain), sorted.
    pub operators: Vec<String>,
    /// What each input accepts (in input order), read from the operators on its path.
    pub contracts: Vec<InputContract>,
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
        // Graphs of standard operators (an MLP, an opset-5 TreeEnsemble)
        // pick their label out of a constant list of classes with
        // ArrayFeatureExtractor or Gather.
        if class_labels.is_none() {
            class_labels = graph
                .node
                .iter()
                .filter(|n| matches!(n.op_type.as_str(), "ArrayFeatureExtractor" | "Gather"))
                .filter_map(|n| n.input.first())
                .filter_map(|name| graph.initializer.iter().find(|t| t.name == *name))
                .find_map(constant_labels);
        }
        let contracts = crate::contract::contracts(graph, &inputs);
        Ok(Self { inputs, outputs, class_labels, operators: operators.into_iter().collect(), contracts })
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
