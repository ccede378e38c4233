//! Process plumbing the API and the UI share, so neither writes it twice:
//! the command line's shared parts, logging, the shutdown signal, the serve
//! loop with its drain, secrets, the request-id header, the container
//! health probe, and the case count of the property tests.
//!
//! Nothing here knows a route, a page, a model or a request body: handlers
//! and their errors stay in each service.

pub mod cli;
pub mod fuzz;
pub mod linger;
pub mod log;
pub mod probe;
pub mod request_id;
pub mod serve;
pub mod shutdown;
