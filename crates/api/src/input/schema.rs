//! [`FeatureSchema`]: every rule a row must satisfy, in one place. Built
//! from a model card, which it checks with the same rules (defaults, coded
//! choices and examples must pass them), then used by every wire format to
//! check cells at the locations the format gives.

use std::collections::{HashMap, HashSet};

use api_types::{Allowed, FeatureValue, FieldErrorKind, ModelCard, Policy};

use super::cell::{Cell, Wording};

/// Items an error message lists at most; the rest are counted.
const MAX_LISTED: usize = 20;
/// Items an error's `allowed` lists at most: a wide model's every problem
/// must not carry every feature or category (the card has them all).
const MAX_ALLOWED: usize = 100;

/// `items` joined for a message: the first [`MAX_LISTED`], then how many more.
fn listed_up_to(items: &[String]) -> String {
    let shown = items.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join(", ");
    match items.len().checked_sub(MAX_LISTED) {
        Some(more) if more > 0 => format!("{shown} and {more} more (the model card lists them all)"),
        _ => shown,
    }
}

/// Up to this many features, a name is looked up by comparing, not hashing.
const LINEAR_LOOKUP_MAX: usize = 32;

/// What a feature takes.
#[derive(Debug, Clone)]
enum Kind {
    /// Numbers, within `min..=max` when given, or one of coded `choices`;
    /// whole numbers only when `integer`.
    Number { min: Option<f64>, max: Option<f64>, choices: Option<Vec<(f64, String)>>, integer: bool },
    /// Text, one of `categories` (others too when `unknown` is allowed).
    Category { categories: Vec<String>, index: HashMap<String, u32>, unknown: bool },
}

/// One feature's rules.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    unit: String,
    kind: Kind,
    missing_allowed: bool,
}

/// A cell that passed its feature's rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Checked<'a> {
    /// A finite number, as the model takes it.
    Number(f32),
    /// A whole number, exactly (an integer feature's).
    Integer(i64),
    /// One of the feature's categories, by position.
    Category(u32),
    /// A category outside the list, accepted because the feature allows unknowns.
    Unknown(&'a str),
    /// No value, accepted because the feature allows missing values.
    Missing,
}

/// Which rule a cell broke, as cheap to return as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No value, and the feature needs one.
    Missing,
    /// Not a finite number.
    NotFinite,
    /// Not a whole number, for an integer feature.
    NotInteger,
    /// Outside the feature's range.
    OutOfRange,
    /// Not one of the feature's coded choices.
    NotAChoice,
    /// Not one of the feature's categories.
    NotACategory,
    /// A type the feature does not take.
    WrongType,
}

/// Why a cell broke its feature's rules, worded.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// What kind of problem, for a program.
    pub kind: FieldErrorKind,
    /// What is wrong, for a person.
    pub msg: String,
    /// What would have been accepted.
    pub allowed: Allowed,
}

/// What a row must look like for one model.
#[derive(Debug, Clone)]
pub struct FeatureSchema {
    rules: Vec<Rule>,
    column_of: HashMap<String, usize>,
    categorical: Vec<usize>,
    integral: Vec<usize>,
}

/// The largest whole number a JSON number (a double) holds exactly.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

impl FeatureSchema {
    /// The rules a card declares, after checking the card against them: each
    /// feature's own declaration (ranges, step, choices, categories) and its
    /// default, then every example as a row. Every problem is listed.
    pub fn from_card(card: &ModelCard) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut rules = Vec::with_capacity(card.features.len());
        let mut seen = HashSet::new();
        for f in &card.features {
            let name = &f.name;
            if name.is_empty() || name.chars().count() > 64 {
                problems.push(format!("feature {name:?}: a name must have 1 to 64 characters"));
            }
            if !seen.insert(name.as_str()) {
                problems.push(format!("feature {name:?} is listed twice"));
            }
            let kind = match &f.categories {
                Some(categories) => {
                    if f.min.is_some()
                        || f.max.is_some()
                        || f.step.is_some()
                        || f.choices.is_some()
                        || f.integer
                    {
                        problems.push(format!(
                            "feature {name:?}: a categorical feature takes no min, max, step, choices or integer"
                        ));
                    }
                    if categories.is_empty() {
                        problems.push(format!("feature {name:?}: categories must not be empty"));
                    }
                    let index: HashMap<String, u32> =
                        categories.iter().enumerate().map(|(i, c)| (c.clone(), i as u32)).collect();
                    if index.len() != categories.len() {
                        problems.push(format!("feature {name:?}: a category is listed twice"));
                    }
                    let unknown = f.unknown == Policy::Allowed;
                    Kind::Category { categories: categories.clone(), index, unknown }
                }
                None => {
                    let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
                    if !finite(f.min) || !finite(f.max) || f.min.zip(f.max).is_some_and(|(lo, hi)| lo > hi) {
                        problems.push(format!(
                            "feature {name:?}: min {} must be ≤ max {}, both finite",
                            show(f.min),
                            show(f.max)
                        ));
                    }
                    if let Some(step) = f.step.filter(|s| !(s.is_finite() && *s > 0.0)) {
                        problems.push(format!("feature {name:?}: step {step} must be a positive number"));
                    }
                    if f.unknown == Policy::Allowed {
                        problems.push(format!(
                            "feature {name:?}: `unknown` applies to categorical features only"
                        ));
                    }
                    let choices =
                        f.choices.as_ref().map(|cs| cs.iter().map(|c| (c.value, c.label.clone())).collect());
                    if f.choices.as_ref().is_some_and(Vec::is_empty) {
                        problems.push(format!("feature {name:?}: choices must not be empty"));
                    }
                    if f.integer
                        && let Some(c) = f.choices.iter().flatten().find(|c| c.value.fract() != 0.0)
                    {
                        problems.push(format!(
                            "feature {name:?}: an integer feature's choices are whole numbers, not {}",
                            c.value
                        ));
                    }
                    Kind::Number { min: f.min, max: f.max, choices, integer: f.integer }
                }
            };
            rules.push(Rule {
                name: name.clone(),
                unit: f.unit.clone(),
                kind,
                missing_allowed: f.missing == Policy::Allowed,
            });
        }
        if rules.is_empty() {
            problems.push("a model takes at least one feature".to_owned());
        }
        let column_of = rules.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();
        let categorical = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.kind, Kind::Category { .. }))
            .map(|(i, _)| i)
            .collect();
        let integral = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.kind, Kind::Number { integer: true, .. }))
            .map(|(i, _)| i)
            .collect();
        let schema = Self { rules, column_of, categorical, integral };
        if problems.is_empty() {
            schema.check_declared_values(card, &mut problems);
        }
        if problems.is_empty() { Ok(schema) } else { Err(problems) }
    }

    /// Coded choices must lie in their feature's range, defaults and example
    /// rows must pass the rules: the card is held to what requests are.
    fn check_declared_values(&self, card: &ModelCard, problems: &mut Vec<String>) {
        for (col, rule) in self.rules.iter().enumerate() {
            if let Kind::Number { min, max, choices: Some(choices), .. } = &rule.kind {
                for (value, _) in choices {
                    if !within(*value, *min, *max) {
                        problems.push(format!(
                            "feature {:?}: choice {value} lies outside {}..={}",
                            rule.name,
                            show(*min),
                            show(*max)
                        ));
                    }
                }
            }
            if let Some(default) = &card.features[col].default
                && let Err(why) = self.explained_check(col, cell_of(default))
            {
                problems.push(format!(
                    "feature {:?}: default {default} is not an accepted value: {why}",
                    rule.name
                ));
            }
        }
        for example in &card.examples {
            for (key, value) in &example.values {
                match self.column(key) {
                    None => {
                        problems.push(format!("example {:?} names unknown feature {key:?}", example.label))
                    }
                    Some(col) => {
                        if let Err(why) = self.explained_check(col, cell_of(value)) {
                            problems.push(format!(
                                "example {:?}: {key} = {value} is not accepted: {why}",
                                example.label
                            ));
                        }
                    }
                }
            }
            for rule in self.rules.iter().filter(|r| !r.missing_allowed) {
                if !example.values.contains_key(&rule.name) {
                    problems.push(format!("example {:?} has no value for {:?}", example.label, rule.name));
                }
            }
        }
    }

    /// [`FeatureSchema::check`], with the fault worded.
    fn explained_check(&self, col: usize, cell: Cell<'_>) -> Result<(), String> {
        self.check(col, cell).map(drop).map_err(|fault| self.violation(col, cell, fault, &Wording::JSON).msg)
    }

    /// Number of features per row.
    pub fn width(&self) -> usize {
        self.rules.len()
    }

    /// Feature names in column order.
    pub fn names(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.name.clone()).collect()
    }

    /// Feature names in column order, for a message: the first few, then how many more.
    pub fn names_listed(&self) -> String {
        listed_up_to(&self.names())
    }

    /// The name of the feature in column `col`.
    pub fn name(&self, col: usize) -> &str {
        &self.rules[col].name
    }

    /// The column of the feature named `name`.
    #[inline]
    pub fn column(&self, name: &str) -> Option<usize> {
        // A short list is searched faster than a key is hashed: this runs
        // for every value of every row.
        if self.rules.len() <= LINEAR_LOOKUP_MAX {
            return self.rules.iter().position(|r| r.name.len() == name.len() && r.name == name);
        }
        self.column_of.get(name).copied()
    }

    /// The columns holding categories, in column order.
    pub fn categorical_columns(&self) -> &[usize] {
        &self.categorical
    }

    /// The columns holding whole numbers, in column order.
    pub fn integer_columns(&self) -> &[usize] {
        &self.integral
    }

    /// Whether column `col` takes whole numbers only.
    pub fn is_integer(&self, col: usize) -> bool {
        matches!(self.rules[col].kind, Kind::Number { integer: true, .. })
    }

    /// Whether column `col` takes text categories.
    pub fn is_categorical(&self, col: usize) -> bool {
        matches!(self.rules[col].kind, Kind::Category { .. })
    }

    /// Whether column `col` may be missing.
    pub fn missing_allowed(&self, col: usize) -> bool {
        self.rules[col].missing_allowed
    }

    /// The categories of column `col` (empty for a numeric feature).
    pub fn categories(&self, col: usize) -> &[String] {
        match &self.rules[col].kind {
            Kind::Category { categories, .. } => categories,
            Kind::Number { .. } => &[],
        }
    }

    /// Checks `cell` against column `col`'s rules. A failure is a small
    /// [`Fault`]; [`FeatureSchema::violation`] words it, only when it is reported.
    #[inline]
    pub fn check<'c>(&self, col: usize, cell: Cell<'c>) -> Result<Checked<'c>, Fault> {
        let rule = &self.rules[col];
        // Every wire's "no value" (JSON null, a blank cell, a NaN tensor
        // element) is one missing value.
        let missing =
            matches!(cell, Cell::Null | Cell::Blank) || matches!(cell, Cell::Number(x) if x.is_nan());
        if missing {
            return if rule.missing_allowed { Ok(Checked::Missing) } else { Err(Fault::Missing) };
        }
        match (&rule.kind, cell) {
            (Kind::Number { min, max, choices, integer }, Cell::Number(x)) => {
                let accepted = if !x.is_finite() {
                    Err(Fault::NotFinite)
                } else if *integer && (x.fract() != 0.0 || x.abs() > MAX_EXACT_INTEGER) {
                    Err(Fault::NotInteger)
                } else if let Some(choices) = choices {
                    if choices.iter().any(|(v, _)| *v == x) { Ok(()) } else { Err(Fault::NotAChoice) }
                } else if within(x, *min, *max) {
                    Ok(())
                } else {
                    Err(Fault::OutOfRange)
                };
                accepted
                    .map(|()| if *integer { Checked::Integer(x as i64) } else { Checked::Number(x as f32) })
            }
            (Kind::Category { index, unknown, .. }, Cell::Text(text)) => match index.get(text) {
                Some(&i) => Ok(Checked::Category(i)),
                None if *unknown => Ok(Checked::Unknown(text)),
                None => Err(Fault::NotACategory),
            },
            _ => Err(Fault::WrongType),
        }
    }

    /// `fault` of `cell` in column `col`, worded for a person and a program;
    /// `wording` names the wire's types.
    pub fn violation(&self, col: usize, cell: Cell<'_>, fault: Fault, wording: &Wording) -> Violation {
        let rule = &self.rules[col];
        let (kind, msg) = match (fault, cell) {
            (Fault::Missing, _) => return rule.missing(),
            (Fault::NotInteger, Cell::Number(x)) if x.fract() == 0.0 => (
                FieldErrorKind::Range,
                format!("must be a whole number between -2^53 and 2^53 (9007199254740992); got {x}"),
            ),
            (Fault::NotInteger, Cell::Number(x)) => {
                let allowed = Allowed { json_type: Some("integer".to_owned()), ..rule.allowed() };
                return Violation {
                    kind: FieldErrorKind::Type,
                    msg: format!("must be a whole number (the model takes integers); got {x}"),
                    allowed,
                };
            }
            (Fault::NotFinite, _) => (
                FieldErrorKind::Range,
                "must be a finite number; this one is too large to represent".to_owned(),
            ),
            (Fault::NotAChoice, Cell::Number(x)) => {
                let listed: Vec<String> = match &rule.kind {
                    Kind::Number { choices: Some(choices), .. } => {
                        choices.iter().map(|(v, label)| format!("{v} ({label})")).collect()
                    }
                    _ => Vec::new(),
                };
                (FieldErrorKind::Choice, format!("must be one of {}; got {x}", listed_up_to(&listed)))
            }
            (Fault::OutOfRange, Cell::Number(x)) => (FieldErrorKind::Range, rule.range_message(x)),
            (Fault::NotACategory, Cell::Text(text)) => {
                let shown: String = text.chars().take(64).collect();
                let quoted: Vec<String> = self.categories(col).iter().map(|c| format!("{c:?}")).collect();
                (FieldErrorKind::Category, format!("must be one of {}; got {shown:?}", listed_up_to(&quoted)))
            }
            (_, cell) => return rule.wrong_type(wording, describe(cell, wording)),
        };
        Violation { kind, msg, allowed: rule.allowed() }
    }

    /// The problem with a row that lacks column `col` altogether (no key,
    /// no column), if the feature must be given.
    pub fn absent(&self, col: usize) -> Option<Violation> {
        let rule = &self.rules[col];
        (!rule.missing_allowed).then(|| rule.missing())
    }

    /// The problem with a key that names no feature.
    pub fn unknown_feature(&self) -> Violation {
        let names = self.names();
        Violation {
            kind: FieldErrorKind::UnknownField,
            msg: format!("is not a feature of this model; it takes: {}", listed_up_to(&names)),
            allowed: Allowed {
                features: Some(names.into_iter().take(MAX_ALLOWED).collect()),
                ..Allowed::default()
            },
        }
    }

    /// The problem with a batch of `rows` rows, if it is not 1 to `max`;
    /// `noun` names a row as the wire does ("instances", "rows").
    pub fn batch_size(rows: usize, max: usize, noun: &str) -> Option<Violation> {
        (rows == 0 || rows > max).then(|| Violation {
            kind: FieldErrorKind::BatchSize,
            msg: format!("must hold 1 to {max} {noun}; got {rows}"),
            allowed: Allowed { min_items: Some(1), max_items: Some(max), ..Allowed::default() },
        })
    }
}

impl Rule {
    fn allowed(&self) -> Allowed {
        match &self.kind {
            Kind::Number { min, max, choices, .. } => Allowed {
                min: *min,
                max: *max,
                choices: choices.as_ref().map(|cs| cs.iter().take(MAX_ALLOWED).map(|(v, _)| *v).collect()),
                ..Allowed::default()
            },
            Kind::Category { categories, .. } => Allowed {
                categories: Some(categories.iter().take(MAX_ALLOWED).cloned().collect()),
                ..Allowed::default()
            },
        }
    }

    fn range_message(&self, x: f64) -> String {
        let Kind::Number { min, max, .. } = &self.kind else { return format!("is out of range; got {x}") };
        let unit = if self.unit.is_empty() { String::new() } else { format!(" {}", self.unit) };
        match (min, max) {
            (Some(lo), Some(hi)) => format!("must be between {lo} and {hi}{unit}; got {x}"),
            (Some(lo), None) => format!("must be at least {lo}{unit}; got {x}"),
            (None, Some(hi)) => format!("must be at most {hi}{unit}; got {x}"),
            (None, None) => format!("is out of range; got {x}"),
        }
    }

    fn missing(&self) -> Violation {
        Violation {
            kind: FieldErrorKind::Missing,
            msg: format!("{:?} is missing and this model cannot take missing values", self.name),
            allowed: self.allowed(),
        }
    }

    fn wrong_type(&self, wording: &Wording, got: &str) -> Violation {
        let number = matches!(self.kind, Kind::Number { .. });
        let integer = matches!(self.kind, Kind::Number { integer: true, .. });
        let expected = match (number, integer) {
            (true, true) => wording.integer,
            (true, false) => wording.number,
            (false, _) => wording.text,
        };
        let json_type = wording.json_types.map(|(n, t)| match (number, integer) {
            (true, true) => "integer".to_owned(),
            (true, false) => n.to_owned(),
            (false, _) => t.to_owned(),
        });
        Violation {
            kind: FieldErrorKind::Type,
            msg: format!("must be {expected}, not {got}"),
            allowed: Allowed { json_type, ..self.allowed() },
        }
    }
}

/// How `wording` names the type of `cell`.
fn describe(cell: Cell<'_>, wording: &Wording) -> &'static str {
    match cell {
        Cell::Number(_) => "a number",
        Cell::Text(_) => wording.text,
        Cell::Null => "null",
        Cell::Blank => "blank",
        Cell::Other(what) => what,
    }
}

fn within(x: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|lo| lo <= x) && max.is_none_or(|hi| x <= hi)
}

fn show(bound: Option<f64>) -> String {
    bound.map_or_else(|| "none".to_owned(), |b| b.to_string())
}

/// A card's value as a cell, so defaults and examples meet the request rules.
fn cell_of(value: &FeatureValue) -> Cell<'_> {
    match value {
        FeatureValue::Number(x) => Cell::Number(*x),
        FeatureValue::Text(t) => Cell::Text(t),
    }
}

#[cfg(test)]
mod tests {
    use api_types::{FeatureSpec, OnnxIo, Provenance, Task};

    use super::*;

    fn schema(missing: Policy, unknown: Policy) -> FeatureSchema {
        let feature = |name: &str| FeatureSpec { missing, ..FeatureSpec::number(name) };
        let colour = FeatureSpec { categories: Some(vec!["red".to_owned()]), unknown, ..feature("colour") };
        FeatureSchema::from_card(&ModelCard {
            name: "m".to_owned(),
            title: "M".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Regression,
            classes: vec![],
            onnx: OnnxIo { input: None, label_output: None, probabilities_output: None, value_output: None },
            output: None,
            features: vec![feature("x"), colour],
            examples: vec![],
            provenance: Provenance::default(),
        })
        .expect("valid")
    }

    #[test]
    fn a_feature_without_bounds_takes_any_finite_number_only() {
        let s = schema(Policy::Rejected, Policy::Rejected);

        assert_eq!(s.check(0, Cell::Number(-1e30)), Ok(Checked::Number(-1e30)));
        assert_eq!(s.check(0, Cell::Number(f64::INFINITY)), Err(Fault::NotFinite));
        assert_eq!(s.check(0, Cell::Number(f64::NAN)), Err(Fault::Missing), "NaN is a missing value");
        let v = s.violation(0, Cell::Number(f64::NAN), Fault::Missing, &Wording::TENSOR);
        assert_eq!(
            (v.kind, v.msg.as_str()),
            (FieldErrorKind::Missing, "\"x\" is missing and this model cannot take missing values")
        );
    }

    #[test]
    fn blank_and_null_are_missing_where_allowed_and_worded_per_wire_where_not() {
        let strict = schema(Policy::Rejected, Policy::Rejected);
        let lenient = schema(Policy::Allowed, Policy::Rejected);

        assert_eq!(lenient.check(0, Cell::Blank), Ok(Checked::Missing));
        assert_eq!(lenient.check(1, Cell::Null), Ok(Checked::Missing));
        assert_eq!(lenient.check(0, Cell::Number(f64::NAN)), Ok(Checked::Missing));
        assert_eq!(strict.check(0, Cell::Blank), Err(Fault::Missing));
        let null =
            strict.violation(0, Cell::Null, strict.check(0, Cell::Null).expect_err("null"), &Wording::JSON);
        assert_eq!(null.msg, "\"x\" is missing and this model cannot take missing values");
        assert_eq!(null.kind, FieldErrorKind::Missing);
        let text = strict.violation(0, Cell::Text("x"), Fault::WrongType, &Wording::TEXT);
        assert_eq!(text.msg, "must be a number, not text");
        assert_eq!(text.allowed.json_type, None, "only JSON names a JSON type");
    }

    #[test]
    fn an_integer_feature_takes_whole_numbers_exactly_and_refuses_fractions() {
        let card = ModelCard {
            name: "m".to_owned(),
            title: "M".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Regression,
            classes: vec![],
            onnx: OnnxIo { input: None, label_output: None, probabilities_output: None, value_output: None },
            output: None,
            features: vec![FeatureSpec { integer: true, ..FeatureSpec::number("year") }],
            examples: vec![],
            provenance: Provenance::default(),
        };
        let s = FeatureSchema::from_card(&card).expect("valid");

        assert_eq!(s.check(0, Cell::Number(1976.0)), Ok(Checked::Integer(1976)));
        assert_eq!(s.check(0, Cell::Number(123_456_789_012.0)), Ok(Checked::Integer(123_456_789_012)));
        assert_eq!(s.check(0, Cell::Number(1976.5)), Err(Fault::NotInteger));
        assert_eq!(s.check(0, Cell::Number(1e300)), Err(Fault::NotInteger));
        let v = s.violation(0, Cell::Number(1976.5), Fault::NotInteger, &Wording::JSON);
        assert_eq!(v.kind, FieldErrorKind::Type);
        assert_eq!(v.allowed.json_type.as_deref(), Some("integer"));
        let text = s.violation(0, Cell::Text("x"), Fault::WrongType, &Wording::JSON);
        assert_eq!(text.msg, "must be a whole JSON number, not a string");
    }

    #[test]
    fn an_unknown_category_passes_only_where_the_encoder_ignores_unknowns() {
        let strict = schema(Policy::Rejected, Policy::Rejected);
        let open = schema(Policy::Rejected, Policy::Allowed);

        assert_eq!(strict.check(1, Cell::Text("red")), Ok(Checked::Category(0)));
        assert_eq!(strict.check(1, Cell::Text("teal")), Err(Fault::NotACategory));
        assert_eq!(open.check(1, Cell::Text("teal")), Ok(Checked::Unknown("teal")));
    }
}
