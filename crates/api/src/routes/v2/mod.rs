//! The Open Inference Protocol (KServe V2) over HTTP: server and model
//! metadata, health, and inference with JSON or binary tensors, compressed
//! or not — so `tritonclient`, the `kserve` SDK and KServe itself work
//! unchanged. Rows go through the same input core and rules as `/predict`;
//! errors are the protocol's `{"error": "…"}`.

mod framing;
mod repository;
mod wire;

use std::borrow::Cow;

use anyhow::Context;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::wire::{
    BinarySize, ErrorBody, InferRequest, InferResponse, Live, ModelMetadata, ModelReady, OutputData, Ready,
    ResponseOutput, ServerMetadata, TensorMetadata,
};
use super::models::NamedModel;
use crate::error::ApiError;
use crate::extract::{ApiJson, RawBody};
use crate::gate::GateLayer;
use crate::input::v2 as input_v2;
use crate::input::v2::{InputTensor, TensorData};
use crate::model::ModelOutput;
use crate::serving::{Explained, ServedModel};
use crate::state::AppState;

/// The longest request `id` taken (the answer echoes it).
const MAX_ID_CHARS: usize = 256;

/// What `GET /v2` says the server implements.
const EXTENSIONS: [&str; 2] = ["binary_tensor_data", "model_repository"];

pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let open = OpenApiRouter::new()
        .routes(routes!(server_metadata))
        .routes(routes!(server_live))
        .routes(routes!(server_ready))
        .routes(routes!(model_metadata))
        .routes(routes!(model_version_metadata))
        .routes(routes!(model_ready))
        .routes(routes!(model_version_ready));
    let guarded = OpenApiRouter::new()
        .routes(routes!(infer))
        .routes(routes!(infer_version))
        .route_layer(GateLayer::predictions(state));
    let read =
        OpenApiRouter::new().routes(routes!(repository::index)).route_layer(GateLayer::operator_reads(state));
    let controlled = OpenApiRouter::new()
        .routes(routes!(repository::load))
        .routes(routes!(repository::unload))
        .route_layer(GateLayer::model_control(state));
    open.merge(guarded).merge(read).merge(controlled)
}

/// The protocol's error answers, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes responses for the OpenAPI document; never built")]
enum InferProblems {
    /// Bad framing or input.
    #[response(
        status = 400,
        description = "The request breaks the protocol or the model's rules; `error` says where"
    )]
    Invalid(ErrorBody),
    /// No or a wrong API key.
    #[response(status = 401, description = "API_KEY is set and the request lacks it")]
    Unauthorized(ErrorBody),
    /// Unknown model or version.
    #[response(status = 404, description = "No such model or version; `error` lists the real ones")]
    NotFound(ErrorBody),
    /// The explanation output asked of a model that cannot be explained.
    #[response(
        status = 409,
        description = "The `explanation` output was asked of a model that cannot be explained"
    )]
    NotExplainable(ErrorBody),
    /// Too large.
    #[response(status = 413, description = "The body (once decompressed) is too large")]
    TooLarge(ErrorBody),
    /// An unknown compression.
    #[response(status = 415, description = "Content-Encoding is not gzip or deflate")]
    Encoding(ErrorBody),
    /// Shed or past the deadline.
    #[response(status = 503, description = "Busy (see Retry-After) or too slow")]
    Unavailable(ErrorBody),
}

/// The server's name, version and protocol extensions.
#[utoipa::path(get, path = "/v2", tag = "open inference protocol", responses((status = 200, description = "Server metadata", body = ServerMetadata)))]
async fn server_metadata() -> ApiJson<ServerMetadata> {
    ApiJson(ServerMetadata {
        name: "modelserve",
        version: env!("CARGO_PKG_VERSION"),
        extensions: EXTENSIONS.to_vec(),
    })
}

/// The server answers.
#[utoipa::path(get, path = "/v2/health/live", tag = "open inference protocol", responses((status = 200, description = "Live", body = Live)))]
async fn server_live() -> ApiJson<Live> {
    ApiJson(Live { live: true })
}

/// Every model is loaded (models load before the server listens).
#[utoipa::path(get, path = "/v2/health/ready", tag = "open inference protocol", responses((status = 200, description = "Ready", body = Ready)))]
async fn server_ready() -> ApiJson<Ready> {
    ApiJson(Ready { ready: true })
}

/// A model's inputs and outputs, with `-1` for the batch dimension.
#[utoipa::path(
    get,
    path = "/v2/models/{name}",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadata),
        (status = 404, description = "No such model", body = ErrorBody),
    )
)]
async fn model_metadata(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
) -> ApiJson<ModelMetadata> {
    let mut answer = metadata(&model);
    answer.versions = state.models.current().versions(&model.card().name);
    ApiJson(answer)
}

/// A model's metadata, in one version.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/versions/{version}",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "One of the versions its metadata lists")),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadata),
        (status = 404, description = "No such model or version", body = ErrorBody),
    )
)]
async fn model_version_metadata(NamedModel(model): NamedModel) -> ApiJson<ModelMetadata> {
    ApiJson(metadata(&model))
}

/// Whether a model serves.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/ready",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "Ready", body = ModelReady),
        (status = 404, description = "No such model", body = ErrorBody),
    )
)]
async fn model_ready(NamedModel(model): NamedModel) -> ApiJson<ModelReady> {
    ApiJson(ModelReady { name: model.card().name.clone(), ready: true })
}

/// Whether a model serves, in one version.
#[utoipa::path(
    get,
    path = "/v2/models/{name}/versions/{version}/ready",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "One of the versions its metadata lists")),
    responses(
        (status = 200, description = "Ready", body = ModelReady),
        (status = 404, description = "No such model or version", body = ErrorBody),
    )
)]
async fn model_version_ready(NamedModel(model): NamedModel) -> ApiJson<ModelReady> {
    ApiJson(ModelReady { name: model.card().name.clone(), ready: true })
}

/// Inference: input tensors in JSON or binary (`Inference-Header-Content-Length`),
/// optionally gzip/deflate; every output (or those asked for), in JSON or binary.
#[utoipa::path(
    post,
    path = "/v2/models/{name}/infer",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = InferRequest, description = "Inputs: the graph's matrix input, or one per feature"),
    responses(
        (status = 200, description = "The outputs (binary ones after the JSON header, as Inference-Header-Content-Length says)", content((InferResponse<'static> = "application/json"), (InferResponse<'static> = "application/octet-stream"))),
        InferProblems,
    )
)]
async fn infer(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    infer_with(&state, model, &headers, body).await
}

/// Inference, in one version of the model (the card's).
#[utoipa::path(
    post,
    path = "/v2/models/{name}/versions/{version}/infer",
    tag = "open inference protocol",
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "One of the versions its metadata lists")),
    request_body(content = InferRequest, description = "Inputs: the graph's matrix input, or one per feature"),
    responses(
        (status = 200, description = "The outputs", content((InferResponse<'static> = "application/json"), (InferResponse<'static> = "application/octet-stream"))),
        InferProblems,
    )
)]
async fn infer_version(
    State(state): State<AppState>,
    NamedModel(model): NamedModel,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    infer_with(&state, model, &headers, body).await
}

#[tracing::instrument(level = "debug", skip_all, fields(model = %model.card().name, rows = tracing::field::Empty))]
async fn infer_with(
    state: &AppState,
    model: std::sync::Arc<ServedModel>,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let framed = framing::read(headers, body, state.body_limit)?;
    let request: InferRequest = serde_json::from_slice(framed.json())
        .or_else(|e| {
            // Python clients write NaN as a bare `NaN`; only then is the
            // header copied, and the first error is the one reported.
            input_v2::quote_non_finite(framed.json())
                .and_then(|quoted| serde_json::from_slice(&quoted).ok())
                .ok_or(e)
        })
        .map_err(|e| ApiError::MalformedBody(format!("the inference request is not valid JSON: {e}")))?;
    if let Some(id) = request.id.as_deref().filter(|id| id.chars().count() > MAX_ID_CHARS) {
        return Err(ApiError::MalformedBody(format!(
            "id has {} characters; it is echoed in the answer, so at most {MAX_ID_CHARS} are taken",
            id.chars().count()
        )));
    }
    let tensors = tensors(&request, framed.binary())?;
    let wanted = wanted_outputs(&model, &request)?;
    let rows = input_v2::rows(model.schema(), &model.graph().groups(), &tensors, state.max_batch)?;
    let count = rows.len();
    tracing::Span::current().record("rows", count);
    let explaining = wanted.iter().any(|(o, _)| *o == Output::Explanation);
    let (output, explained) = if explaining {
        model.explainer_or_conflict()?;
        let Explained { output, explanations } = model.explain(rows).await?;
        // Row-major [N, features + 1]: the contributions, then the base value.
        let flat: Vec<f32> = explanations
            .iter()
            .flat_map(|e| e.contributions.iter().chain([&e.base_value]).map(|&v| v as f32))
            .collect();
        (output, Some(flat))
    } else {
        (model.predict(rows).await?, None)
    };

    let mut binary: Option<Vec<u8>> = None;
    let mut outputs = Vec::with_capacity(wanted.len());
    for (which, in_binary) in &wanted {
        let (datatype, shape, data) = which.tensor(&model, &output, explained.as_deref())?;
        if *in_binary {
            let blob = binary.get_or_insert_with(Vec::new);
            let start = blob.len();
            data.write_binary(blob);
            outputs.push(ResponseOutput {
                name: which.name(&model),
                datatype,
                shape,
                parameters: Some(BinarySize { binary_data_size: blob.len() - start }),
                data: None,
            });
        } else {
            outputs.push(ResponseOutput {
                name: which.name(&model),
                datatype,
                shape,
                parameters: None,
                data: Some(data),
            });
        }
    }
    let card = model.card();
    let response = InferResponse {
        model_name: &card.name,
        model_version: &card.version,
        id: request.id.as_deref(),
        outputs,
    };
    let json = serde_json::to_vec(&response).context("Failed to write the answer")?;
    framing::response(headers, json, binary.as_deref())
}

/// The request's input tensors, each with its JSON data or its slice of the
/// binary section; the binary sizes must add up to exactly what follows the header.
fn tensors<'r>(request: &'r InferRequest, binary: &'r [u8]) -> Result<Vec<InputTensor<'r>>, ApiError> {
    let mut offset = 0usize;
    let mut tensors = Vec::with_capacity(request.inputs.len());
    for input in &request.inputs {
        let size = input.parameters.as_ref().and_then(|p| p.binary_data_size);
        let shown: String = input.name.chars().take(64).collect();
        let data = match (size, &input.data) {
            (Some(size), None) => {
                let end = usize::try_from(size)
                    .ok()
                    .and_then(|s| offset.checked_add(s))
                    .filter(|end| *end <= binary.len());
                let Some(end) = end else {
                    return Err(ApiError::MalformedBody(format!(
                        "input '{shown}' has binary_data_size {size}, past the {} bytes that follow the JSON header",
                        binary.len()
                    )));
                };
                let slice = &binary[offset..end];
                offset = end;
                TensorData::Binary(slice)
            }
            (None, Some(raw)) => TensorData::Json(raw),
            (Some(_), Some(_)) => {
                return Err(ApiError::MalformedBody(format!(
                    "input '{shown}' has both data and binary_data_size"
                )));
            }
            (None, None) => {
                return Err(ApiError::MalformedBody(format!(
                    "input '{shown}' has neither data nor parameters.binary_data_size"
                )));
            }
        };
        tensors.push(InputTensor { name: &input.name, shape: &input.shape, datatype: &input.datatype, data });
    }
    if offset != binary.len() {
        return Err(ApiError::MalformedBody(format!(
            "the inputs' binary_data_size values add up to {offset} bytes, but {} bytes follow the JSON header",
            binary.len()
        )));
    }
    Ok(tensors)
}

/// One output a model can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Label,
    Probabilities,
    Value,
    /// SHAP values, `[N, features + 1]`, the last column the base value:
    /// only when asked for by name.
    Explanation,
}

/// The name of the explanation output.
const EXPLANATION: &str = "explanation";

impl Output {
    fn all(model: &ServedModel) -> &'static [Output] {
        match model.card().task {
            api_types::Task::Classification => &[Self::Label, Self::Probabilities],
            api_types::Task::Regression => &[Self::Value],
        }
    }

    fn name<'m>(&self, model: &'m ServedModel) -> &'m str {
        let onnx = &model.card().onnx;
        match self {
            Self::Label => onnx.label_output.as_deref().unwrap_or("label"),
            Self::Probabilities => onnx.probabilities_output.as_deref().unwrap_or("probabilities"),
            Self::Value => onnx.value_output.as_deref().unwrap_or("value"),
            Self::Explanation => EXPLANATION,
        }
    }

    /// The datatype and shape (`-1` for the batch) the metadata announces.
    fn metadata(&self, model: &ServedModel) -> TensorMetadata {
        let (datatype, shape) = match self {
            Self::Label => (label_datatype(model), vec![-1]),
            Self::Probabilities => ("FP32", vec![-1, model.card().classes.len() as i64]),
            Self::Value => ("FP32", value_shape(model).iter().map(|d| d.map_or(-1, |d| d as i64)).collect()),
            Self::Explanation => ("FP32", vec![-1, model.schema().width() as i64 + 1]),
        };
        TensorMetadata { name: self.name(model).to_owned(), datatype, shape }
    }

    /// This output of `output`: datatype, shape and elements.
    fn tensor<'o>(
        &self,
        model: &'o ServedModel,
        output: &'o ModelOutput,
        explained: Option<&'o [f32]>,
    ) -> Result<(&'static str, Vec<usize>, OutputData<'o>), ApiError> {
        if *self == Self::Explanation {
            let data = explained.context("the explanation was not computed")?;
            let width = model.schema().width() + 1;
            return Ok(("FP32", vec![data.len() / width, width], OutputData::Floats(data)));
        }
        Ok(match (self, output) {
            (Self::Probabilities, ModelOutput::Probabilities { data, classes }) => {
                ("FP32", vec![data.len() / classes, *classes], OutputData::Floats(data))
            }
            (Self::Label, ModelOutput::Probabilities { data, classes }) => {
                let best = data
                    .chunks_exact(*classes)
                    .map(|row| api_types::Prediction::of_class(&model.card().classes, row));
                let indices = best.map(|p| match p {
                    api_types::Prediction::Classification(c) => c.class_index,
                    api_types::Prediction::Regression(_) => 0,
                });
                let n = data.len() / classes;
                let data = match model.graph().class_labels() {
                    Some(onnx_ml::ClassLabels::Ints(ints)) => {
                        OutputData::Ints(indices.map(|i| ints[i]).collect())
                    }
                    Some(onnx_ml::ClassLabels::Strings(names)) => {
                        OutputData::Texts(indices.map(|i| names[i].as_str()).collect())
                    }
                    None => OutputData::Texts(indices.map(|i| model.card().classes[i].as_str()).collect()),
                };
                (label_datatype(model), vec![n], data)
            }
            (Self::Value, ModelOutput::Values(values)) => {
                let shape =
                    if value_shape(model).len() == 1 { vec![values.len()] } else { vec![values.len(), 1] };
                ("FP32", shape, OutputData::Floats(values))
            }
            _ => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "the model answered with another kind of output"
                )));
            }
        })
    }
}

fn label_datatype(model: &ServedModel) -> &'static str {
    match model.graph().class_labels() {
        Some(onnx_ml::ClassLabels::Ints(_)) => "INT64",
        _ => "BYTES",
    }
}

fn value_shape(model: &ServedModel) -> &[Option<usize>] {
    &model.graph().output().shape
}

impl OutputData<'_> {
    /// Appends the elements in the binary tensor encoding: little-endian,
    /// row-major; BYTES as a 4-byte little-endian length and the bytes.
    fn write_binary(&self, out: &mut Vec<u8>) {
        match self {
            Self::Floats(values) => values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Self::Ints(values) => values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Self::Texts(values) => values.iter().for_each(|t| {
                out.extend_from_slice(&(t.len() as u32).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }),
        }
    }
}

/// The outputs asked for, each with whether it goes in binary: those named
/// in `outputs` (all when absent), binary as each says or as
/// `binary_data_output` says for all.
fn wanted_outputs(model: &ServedModel, request: &InferRequest) -> Result<Vec<(Output, bool)>, ApiError> {
    let all_binary = request.parameters.as_ref().and_then(|p| p.binary_data_output).unwrap_or(false);
    let available = Output::all(model);
    let Some(asked) = &request.outputs else {
        return Ok(available.iter().map(|o| (*o, all_binary)).collect());
    };
    asked
        .iter()
        .map(|wanted| {
            let binary = wanted.parameters.as_ref().and_then(|p| p.binary_data).unwrap_or(all_binary);
            if wanted.name == EXPLANATION {
                return Ok((Output::Explanation, binary));
            }
            available.iter().find(|o| o.name(model) == wanted.name).map(|o| (*o, binary)).ok_or_else(|| {
                let names: Vec<Cow<'_, str>> =
                    available.iter().map(|o| Cow::Borrowed(o.name(model))).collect();
                let shown: String = wanted.name.chars().take(64).collect();
                ApiError::MalformedBody(format!(
                    "output '{shown}' is not an output of this model; it gives: {}",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

/// The model's metadata: the graph's inputs as loaded, and the outputs served.
fn metadata(model: &ServedModel) -> ModelMetadata {
    let inputs = model
        .graph()
        .inputs()
        .iter()
        .map(|input| TensorMetadata {
            name: input.name.clone(),
            datatype: match input.dtype.as_str() {
                "float64" => "FP64",
                "int64" => "INT64",
                "string" => "BYTES",
                _ => "FP32",
            },
            shape: input.shape.iter().map(|d| d.map_or(-1, |d| d as i64)).collect(),
        })
        .collect();
    let mut outputs: Vec<TensorMetadata> = Output::all(model).iter().map(|o| o.metadata(model)).collect();
    if model.explainer().is_ok() {
        outputs.push(Output::Explanation.metadata(model));
    }
    ModelMetadata {
        name: model.card().name.clone(),
        versions: vec![model.card().version.clone()],
        platform: "onnx",
        inputs,
        outputs,
    }
}
