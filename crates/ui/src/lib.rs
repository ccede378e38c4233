//! The web UI as a library, so `main`, the tests and the stack launcher all
//! build the same app. It talks to the API over HTTP only.

pub mod api_client;
pub mod assets;
pub mod config;
pub mod error;
pub mod page;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod state;
pub mod uploads;
