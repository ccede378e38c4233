//! The API's integration tests: one binary, the real service on port 0, real HTTP.

mod golden;
mod health;
mod helpers;
mod models;
mod predict;
mod startup;
mod validation;
