//! The API's integration tests: one binary, the real service on port 0, real HTTP.

mod auth;
mod columns;
mod explain;
mod golden;
mod health;
mod helpers;
mod lifecycle;
mod limits;
mod models;
mod monitoring;
mod openapi;
mod predict;
mod reload;
mod security;
mod serving;
mod spreadsheet;
mod startup;
mod tabular;
mod v2;
mod validation;
mod zoo;
