//! A cell: one feature's value as an adapter read it off the wire, before
//! any rule has looked at it.

/// One value as sent, typed by what the wire format could tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// A number (possibly not finite: the rules say so).
    Number(f64),
    /// Text: a category, or what should have been a number.
    Text(&'a str),
    /// Explicitly no value: JSON `null`.
    Null,
    /// No value because the format has none here: a blank CSV cell, an
    /// empty form field.
    Blank,
    /// A value of a type no feature takes, as the wire names it ("a boolean", "an array").
    Other(&'static str),
}

/// How an adapter's messages name the types its wire carries, so a JSON
/// client reads "must be a JSON number, not a string" and a spreadsheet
/// user "must be a number, not text".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wording {
    /// What a number is called.
    pub number: &'static str,
    /// What a whole number is called.
    pub integer: &'static str,
    /// What text is called.
    pub text: &'static str,
    /// The JSON type names to list as `allowed.json_type`, if the wire is JSON.
    pub json_types: Option<(&'static str, &'static str)>,
}

impl Wording {
    /// JSON bodies.
    pub const JSON: Self = Self {
        number: "a JSON number",
        integer: "a whole JSON number",
        text: "a string",
        json_types: Some(("number", "string")),
    };
    /// Text cells: CSV files, form fields.
    pub const TEXT: Self =
        Self { number: "a number", integer: "a whole number", text: "text", json_types: None };
    /// Typed tensors.
    pub const TENSOR: Self =
        Self { number: "a number", integer: "a whole number", text: "text (BYTES)", json_types: None };
}
