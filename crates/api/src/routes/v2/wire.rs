//! The Open Inference Protocol's JSON shapes, as this server reads and
//! writes them (and the OpenAPI document describes them).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// `GET /v2`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServerMetadata {
    /// The server's name.
    pub(crate) name: &'static str,
    /// Its version.
    pub(crate) version: &'static str,
    /// The protocol extensions it implements.
    pub(crate) extensions: Vec<&'static str>,
}

/// `GET /v2/health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Live {
    /// Always true when answered.
    pub(crate) live: bool,
}

/// `GET /v2/health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ready {
    /// Whether every model is loaded.
    pub(crate) ready: bool,
}

/// `GET /v2/models/{name}/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModelReady {
    /// The model.
    pub(crate) name: String,
    /// Whether it serves.
    pub(crate) ready: bool,
}

/// `GET /v2/models/{name}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModelMetadata {
    /// The model's name.
    pub(crate) name: String,
    /// The versions served (the card's).
    pub(crate) versions: Vec<String>,
    /// Always `onnx`.
    pub(crate) platform: &'static str,
    /// The tensors a request may send.
    pub(crate) inputs: Vec<TensorMetadata>,
    /// The tensors an answer may hold.
    pub(crate) outputs: Vec<TensorMetadata>,
}

/// A tensor's name, datatype and shape (`-1` for the batch dimension).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct TensorMetadata {
    /// Its name.
    pub(crate) name: String,
    /// `FP32`, `INT64`, `BYTES`, …
    pub(crate) datatype: &'static str,
    /// Its shape, `-1` where the size is the batch size.
    pub(crate) shape: Vec<i64>,
}

/// `POST /v2/models/{name}/infer`. Unknown fields (such as the `model_name`
/// the kserve client adds) are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct InferRequest {
    /// Echoed in the answer.
    #[serde(default)]
    pub(crate) id: Option<String>,
    /// Request parameters; `binary_data_output` asks for every output in binary.
    #[serde(default)]
    pub(crate) parameters: Option<RequestParameters>,
    /// The input tensors.
    pub(crate) inputs: Vec<RequestInput>,
    /// The outputs wanted (all when absent).
    #[serde(default)]
    pub(crate) outputs: Option<Vec<RequestOutput>>,
}

/// Request-wide parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct RequestParameters {
    /// Every output in binary, unless an output says otherwise.
    #[serde(default)]
    pub(crate) binary_data_output: Option<bool>,
}

/// One input tensor.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RequestInput {
    /// The graph's matrix input, or a feature.
    pub(crate) name: String,
    /// Its shape.
    pub(crate) shape: Vec<i64>,
    /// FP32, FP64, INT32, INT64 or BYTES.
    pub(crate) datatype: String,
    /// `binary_data_size`: the tensor's bytes follow the JSON header.
    #[serde(default)]
    pub(crate) parameters: Option<InputParameters>,
    /// The elements, row-major, flat or nested (absent when sent in binary).
    #[serde(default)]
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    pub(crate) data: Option<Box<RawValue>>,
}

/// An input's parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct InputParameters {
    /// Bytes of this input after the JSON header.
    #[serde(default)]
    pub(crate) binary_data_size: Option<u64>,
}

/// One output wanted.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RequestOutput {
    /// Its name, as the model metadata lists it.
    pub(crate) name: String,
    /// `binary_data`: this output in binary.
    #[serde(default)]
    pub(crate) parameters: Option<OutputParameters>,
}

/// A wanted output's parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct OutputParameters {
    /// This output in binary.
    #[serde(default)]
    pub(crate) binary_data: Option<bool>,
}

/// The answer to an inference request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InferResponse<'a> {
    /// The model that answered.
    pub(crate) model_name: &'a str,
    /// Its version.
    pub(crate) model_version: &'a str,
    /// The request's id, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<&'a str>,
    /// The outputs, in the order asked for.
    pub(crate) outputs: Vec<ResponseOutput<'a>>,
}

/// One output tensor of an answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResponseOutput<'a> {
    /// Its name.
    pub(crate) name: &'a str,
    /// FP32, INT64 or BYTES.
    pub(crate) datatype: &'static str,
    /// Its shape.
    pub(crate) shape: Vec<usize>,
    /// `binary_data_size` when the output follows the JSON header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parameters: Option<BinarySize>,
    /// The elements, flat and row-major (absent when in binary).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    pub(crate) data: Option<OutputData<'a>>,
}

/// The size of an output sent in binary.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BinarySize {
    /// Bytes of this output after the JSON header.
    pub(crate) binary_data_size: usize,
}

/// An output's elements.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum OutputData<'a> {
    /// FP32 values.
    Floats(&'a [f32]),
    /// INT64 values.
    Ints(Vec<i64>),
    /// BYTES values, as text.
    Texts(Vec<&'a str>),
}

/// Every error of the protocol's routes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, and where (`input 'x' row 3 feature 'f': …`).
    pub(crate) error: String,
}
