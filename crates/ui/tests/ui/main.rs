//! The UI's integration tests: the real UI on port 0, against the real API
//! (happy paths) or a stand-in API that is down, slow or failing.

mod errors;
mod explanations;
mod failures;
mod files;
mod helpers;
mod pages;
mod predictions;
