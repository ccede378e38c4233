//! The prediction API as a library, so `main`, the integration tests and the
//! end-to-end tests all build the same app.

pub mod around;
pub mod config;
pub mod cors;
pub mod error;
pub mod exchange;
pub mod explain;
pub mod extract;
pub mod gate;
pub mod input;
pub mod metrics;
pub mod model;
pub mod monitor;
pub mod repository;
pub mod request_scope;
pub mod routes;
pub mod serving;
pub mod startup;
pub mod state;
