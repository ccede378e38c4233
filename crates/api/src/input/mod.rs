//! The input core: parse, don't validate.
//!
//! A row is a list of cells — a number, a category, or missing. One
//! [`FeatureSchema`], built from a model's card, owns every rule a cell must
//! satisfy (finite, in range, one of the choices or categories, missing
//! allowed or not) and checks the card itself with the same rules. Each wire
//! format is an adapter that turns bytes into [`Cell`]s and hands them to a
//! [`RowsBuilder`] with a location in its own terms (a JSON path, a tensor
//! index, a CSV line and column); what comes out is [`Rows`], the only input
//! the model layer takes, or every problem found. Nothing here knows HTTP or tract.

mod batch;
mod cell;
pub mod csv;
pub mod json_v1;
mod problems;
mod schema;
pub mod v2;

pub use batch::{Category, MISSING_INTEGER, Rows, RowsBuilder};
pub use cell::{Cell, Wording};
pub use problems::{MAX_REPORTED_PROBLEMS, Problems, bounded_key};
pub use schema::{Checked, Fault, FeatureSchema, Violation};

/// Why a body could not become rows.
#[derive(Debug)]
pub enum BodyError {
    /// Not well-formed in its format (not JSON, not CSV): what is wrong and where.
    Malformed(String),
    /// Well-formed, but breaking the rules; every problem found.
    Invalid(Problems),
    /// Larger than the body limit (a body read as it streams in).
    TooLarge,
}

/// Cases per property test (`FUZZ_CASES`, default 256).
#[cfg(test)]
pub(crate) fn fuzz_cases() -> u32 {
    service::fuzz::cases()
}
