//! The prediction API as a library, so `main`, the integration tests and the
//! end-to-end tests all build the same app.

pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod exchange;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod routes;
pub mod server;
pub mod startup;
pub mod state;
pub mod telemetry;
