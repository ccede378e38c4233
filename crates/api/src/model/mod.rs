//! The loaded models: reading `models/<name>/`, checking each card against its
//! graph, and running inference. Tensors in, tensors out; nothing here knows
//! about HTTP or JSON, so other protocols can serve the same models.

mod graph;
pub mod onnx_ml;
mod registry;

pub use graph::{Graph, ModelOutput};
pub use registry::{LoadedModel, Registry};
