//! Loading models: finding them in `MODELS_DIR`, reading each card (or one
//! from its graph alone), checking it against its graph, and running the
//! graph on checked rows. Checked rows in, outputs out; nothing here knows
//! about HTTP, explanations or monitoring, so every protocol serves the
//! same models.

pub mod card;
mod card_from_graph;
mod graph;
mod loaded;
mod source;

pub use card_from_graph::to_toml;
pub use graph::{Graph, Head, HeadOp, ModelOutput, best_class};
pub use loaded::LoadedModel;
pub(crate) use loaded::{describe, relative, rfc3339};
pub use source::REFERENCE_FILE;
pub(crate) use source::{BACKGROUND_FILE, Fingerprint, Source, Version, discover, source_in};
