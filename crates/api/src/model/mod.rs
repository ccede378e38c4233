//! The loaded models: reading `MODELS_DIR`, checking each card against
//! its graph, reloading on change, and running inference. Checked rows in, tensors out; nothing
//! here knows about HTTP or JSON, so every protocol serves the same models.

pub mod card;
mod direct;
mod graph;
mod infer;
mod registry;
mod repository;
mod source;
mod watch;

pub use graph::{Graph, Head, HeadOp, ModelOutput, best_class};
pub use infer::to_toml;
pub use registry::{LoadOptions, LoadedModel, Registry, ScanReport};
pub use repository::Repository;
pub use watch::{Watch, watch};
