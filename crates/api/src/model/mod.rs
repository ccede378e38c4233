//! The loaded models: reading `models/<name>/`, checking each card against
//! its graph, and running inference. Checked rows in, tensors out; nothing
//! here knows about HTTP or JSON, so every protocol serves the same models.

pub mod card;
mod graph;
mod registry;

pub use graph::{Graph, Head, HeadOp, ModelOutput, best_class};
pub use registry::{LoadedModel, Registry};
