//! A model's input rules and the checked rows they produce.

use std::collections::HashMap;

use std::borrow::Cow;

use api_types::{Allowed, FieldErrorKind, LocPart, ModelCard};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::problems::{Problems, bounded_key};

/// One feature's acceptance rule.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    unit: String,
    min: f64,
    max: f64,
    /// Accepted values with their labels, for coded categories.
    choices: Option<Vec<(f64, String)>>,
}

/// What a row must look like for one model, built from its card.
#[derive(Debug, Clone)]
pub struct FeatureSchema {
    rules: Vec<Rule>,
    column_of: HashMap<String, usize>,
}

/// Rows that passed every rule, as `f32` in the graph's column order.
///
/// The fields are private: the only way to get one is to parse input
/// against a [`FeatureSchema`], so the model layer never sees unchecked data.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl FeatureMatrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row-major values, `rows × cols`.
    pub fn values(&self) -> &[f32] {
        &self.data
    }

    /// Gives the buffer back, for building a tensor without a copy.
    pub fn into_values(self) -> Vec<f32> {
        self.data
    }
}

impl FeatureSchema {
    /// The rules a card declares.
    pub fn from_card(card: &ModelCard) -> Self {
        let rules: Vec<Rule> = card
            .features
            .iter()
            .map(|f| Rule {
                name: f.name.clone(),
                unit: f.unit.clone(),
                min: f.min,
                max: f.max,
                choices: f.choices.as_ref().map(|cs| cs.iter().map(|c| (c.value, c.label.clone())).collect()),
            })
            .collect();
        let column_of = rules.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();
        Self { rules, column_of }
    }

    /// Number of features per row.
    pub fn width(&self) -> usize {
        self.rules.len()
    }

    /// Feature names in column order.
    pub fn names(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.name.clone()).collect()
    }

    /// Parses one instance: a JSON object of feature name → number, located at `body`.
    pub fn parse_instance(&self, body: &Value) -> Result<FeatureMatrix, Problems> {
        let mut rows = RowSink::new(self, usize::MAX);
        // Reading a `Value` cannot fail: every problem lands in `rows.problems`.
        let _ = RowSeed { sink: &mut rows, index: None }.deserialize(body);
        rows.finish_single()
    }

    /// Parses the rows of a batch (`body.instances`), 1 to `max_rows` of them.
    pub fn parse_batch(&self, instances: &[Value], max_rows: usize) -> Result<FeatureMatrix, Problems> {
        let mut rows = RowSink::new(self, max_rows);
        for (i, instance) in instances.iter().enumerate() {
            if i >= max_rows {
                rows.rows = instances.len();
                break;
            }
            rows.begin_row();
            let _ = RowSeed { sink: &mut rows, index: Some(i) }.deserialize(instance);
        }
        rows.finish_batch()
    }

    /// Parses a `POST …/predict` body straight from its bytes, without
    /// building a JSON tree: the row buffer is filled as the bytes are read.
    pub fn parse_instance_json(&self, body: &[u8]) -> Result<FeatureMatrix, BodyError> {
        let mut rows = RowSink::new(self, usize::MAX);
        let mut de = serde_json::Deserializer::from_slice(body);
        let read = RowSeed { sink: &mut rows, index: None }.deserialize(&mut de).and_then(|()| de.end());
        if let Err(err) = read {
            return Err(rows.syntax_error(&err));
        }
        rows.finish_single().map_err(BodyError::Invalid)
    }

    /// Parses a `POST …/predict/batch` body (`{"instances": [...]}`) straight from its bytes.
    pub fn parse_batch_json(&self, body: &[u8], max_rows: usize) -> Result<FeatureMatrix, BodyError> {
        let mut rows = RowSink::new(self, max_rows);
        let mut de = serde_json::Deserializer::from_slice(body);
        let read = EnvelopeSeed { sink: &mut rows }.deserialize(&mut de).and_then(|()| de.end());
        if let Err(err) = read {
            return Err(rows.syntax_error(&err));
        }
        rows.finish_batch().map_err(BodyError::Invalid)
    }
}

/// Why a body could not become rows.
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON: what serde_json said, with line and column.
    Malformed(String),
    /// JSON, but breaking the rules; every problem found.
    Invalid(Problems),
}

/// Where parsed rows go, with what is needed to report problems.
struct RowSink<'s> {
    schema: &'s FeatureSchema,
    data: Vec<f32>,
    /// Rows seen so far (past `max_rows` they are counted, not stored).
    rows: usize,
    max_rows: usize,
    problems: Problems,
    /// Which columns the current row has set.
    seen: Vec<bool>,
    /// The value being read, so a number serde_json cannot read (1e400) is reported at its field.
    reading: Option<(Option<usize>, String)>,
    /// False once the batch envelope itself is wrong (then row counts mean nothing).
    envelope_ok: bool,
}

impl<'s> RowSink<'s> {
    fn new(schema: &'s FeatureSchema, max_rows: usize) -> Self {
        Self {
            schema,
            data: Vec::new(),
            rows: 0,
            max_rows,
            problems: Problems::default(),
            seen: vec![false; schema.width()],
            reading: None,
            envelope_ok: true,
        }
    }

    fn loc(index: Option<usize>) -> Vec<LocPart> {
        match index {
            None => vec!["body".into()],
            Some(i) => vec!["body".into(), "instances".into(), LocPart::Index(i)],
        }
    }

    fn begin_row(&mut self) {
        self.rows += 1;
        self.data.resize(self.rows * self.schema.width(), 0.0);
    }

    fn row_mut(&mut self) -> &mut [f32] {
        let w = self.schema.width();
        let start = self.data.len() - w;
        &mut self.data[start..]
    }

    fn finish_single(self) -> Result<FeatureMatrix, Problems> {
        if self.problems.is_empty() {
            let cols = self.schema.width();
            Ok(FeatureMatrix { data: self.data, rows: 1, cols })
        } else {
            Err(self.problems)
        }
    }

    fn finish_batch(mut self) -> Result<FeatureMatrix, Problems> {
        if self.envelope_ok && (self.rows == 0 || self.rows > self.max_rows) {
            let max = self.max_rows;
            self.problems = Problems::default();
            self.problems.push(
                vec!["body".into(), "instances".into()],
                FieldErrorKind::BatchSize,
                format!("must hold 1 to {max} instances; got {}", self.rows),
                Some(Allowed { min_items: Some(1), max_items: Some(max), ..Allowed::default() }),
            );
        }
        if self.problems.is_empty() {
            let cols = self.schema.width();
            Ok(FeatureMatrix { data: self.data, rows: self.rows, cols })
        } else {
            Err(self.problems)
        }
    }

    /// A serde_json error: a number too large for a float is a 422 at its
    /// field; anything else means the body is not JSON.
    fn syntax_error(mut self, err: &serde_json::Error) -> BodyError {
        let message = err.to_string();
        if message.starts_with("number out of range")
            && let Some((index, key)) = self.reading.take()
        {
            let mut loc = Self::loc(index);
            loc.push(bounded_key(&key));
            let mut problems = Problems::default();
            problems.push(
                loc,
                FieldErrorKind::Range,
                "must be a finite number; this one is too large to represent".to_owned(),
                None,
            );
            return BodyError::Invalid(problems);
        }
        BodyError::Malformed(format!("Failed to parse the request body as JSON: {message}"))
    }
}

/// Implements the visitor methods for JSON types a seed does not accept,
/// reporting `$report(self, "a string")` and the like after consuming the value.
macro_rules! reject_other_types {
    ($report:ident) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.$report("a string");
            Ok(())
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.$report("a boolean");
            Ok(())
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.$report("null");
            Ok(())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.$report("a number");
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.$report("a number");
            Ok(())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.$report("a number");
            Ok(())
        }
    };
}

/// One row: a JSON object of feature name → number.
struct RowSeed<'a, 's> {
    sink: &'a mut RowSink<'s>,
    /// The row's index in a batch; `None` for a single instance.
    index: Option<usize>,
}

impl RowSeed<'_, '_> {
    fn not_an_object(self, what: &str) {
        self.sink.problems.push(
            RowSink::loc(self.index),
            FieldErrorKind::Type,
            format!("must be a JSON object of feature values, not {what}"),
            Some(Allowed { json_type: Some("object".to_owned()), ..Allowed::default() }),
        );
    }
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.index.is_none() {
            self.sink.begin_row();
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of feature values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let schema = self.sink.schema;
        self.sink.seen.fill(false);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let at = |key: LocPart| {
                let mut loc = RowSink::loc(self.index);
                loc.push(key);
                loc
            };
            let Some(&col) = schema.column_of.get(key.as_ref()) else {
                map.next_value::<IgnoredAny>()?;
                self.sink.problems.push(
                    at(bounded_key(&key)),
                    FieldErrorKind::UnknownField,
                    format!("is not a feature of this model; it takes: {}", schema.names().join(", ")),
                    Some(Allowed { features: Some(schema.names()), ..Allowed::default() }),
                );
                continue;
            };
            // The key is kept only when the value cannot be read: copying it
            // for every value would allocate on every feature of every row.
            let value = match map.next_value_seed(ScalarSeed) {
                Ok(value) => value,
                Err(err) => {
                    self.sink.reading = Some((self.index, key.into_owned()));
                    return Err(err);
                }
            };
            self.sink.seen[col] = true;
            let rule = &schema.rules[col];
            match value {
                Scalar::Number(x) => match rule.check(x) {
                    None => self.sink.row_mut()[col] = x as f32,
                    Some((kind, msg)) => {
                        self.sink.problems.push(
                            at(rule.name.as_str().into()),
                            kind,
                            msg,
                            Some(rule.allowed()),
                        );
                    }
                },
                Scalar::Other(what) => self.sink.problems.push(
                    at(rule.name.as_str().into()),
                    FieldErrorKind::Type,
                    format!("must be a JSON number, not {what}"),
                    Some(Allowed { json_type: Some("number".to_owned()), ..rule.allowed() }),
                ),
            }
        }
        for (col, rule) in schema.rules.iter().enumerate() {
            if !self.sink.seen[col] {
                let mut loc = RowSink::loc(self.index);
                loc.push(rule.name.as_str().into());
                self.sink.problems.push(
                    loc,
                    FieldErrorKind::Missing,
                    "is required: every feature of the model must be given".to_owned(),
                    Some(rule.allowed()),
                );
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array");
        Ok(())
    }

    reject_other_types!(not_an_object);
}

/// An object key, borrowed from the body when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a feature name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A feature's value: a number, or which JSON type it was instead.
enum Scalar {
    Number(f64),
    Other(&'static str),
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Scalar, E> {
        Ok(Scalar::Other("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

/// `{"instances": [...]}`, and nothing else.
struct EnvelopeSeed<'a, 's> {
    sink: &'a mut RowSink<'s>,
}

impl EnvelopeSeed<'_, '_> {
    fn shape(&mut self, msg: String) {
        self.sink.envelope_ok = false;
        self.sink.problems.push(vec!["body".into()], FieldErrorKind::Shape, msg, None);
    }

    fn not_an_object(mut self, what: &str) {
        self.shape(format!(r#"the body must be {{"instances": [...]}}, not {what}"#));
    }
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(r#"{"instances": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == "instances" && !found {
                found = true;
                map.next_value_seed(InstancesSeed { sink: &mut *self.sink })?;
            } else {
                map.next_value::<IgnoredAny>()?;
                let shown: String = key.chars().take(64).collect();
                self.shape(format!(r#"unknown field `{shown}`: the body must be {{"instances": [...]}}"#));
            }
        }
        if !found {
            self.shape(r#"missing field `instances`: the body must be {"instances": [...]}"#.to_owned());
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array");
        Ok(())
    }

    reject_other_types!(not_an_object);
}

/// The `instances` array: each element a row.
struct InstancesSeed<'a, 's> {
    sink: &'a mut RowSink<'s>,
}

impl InstancesSeed<'_, '_> {
    fn not_an_array(self, what: &str) {
        self.sink.envelope_ok = false;
        self.sink.problems.push(
            vec!["body".into(), "instances".into()],
            FieldErrorKind::Shape,
            format!("must be an array of instances, not {what}"),
            None,
        );
    }
}

impl<'de> DeserializeSeed<'de> for InstancesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InstancesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of instances")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let index = self.sink.rows;
            if index >= self.sink.max_rows {
                // Past the limit: count the rest, store nothing.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    self.sink.rows += 1;
                }
                return Ok(());
            }
            self.sink.begin_row();
            if seq.next_element_seed(RowSeed { sink: &mut *self.sink, index: Some(index) })?.is_none() {
                self.sink.rows -= 1;
                self.sink.data.truncate(self.sink.rows * self.sink.schema.width());
                return Ok(());
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_an_array("an object");
        Ok(())
    }

    reject_other_types!(not_an_array);
}

impl Rule {
    fn allowed(&self) -> Allowed {
        Allowed {
            min: Some(self.min),
            max: Some(self.max),
            choices: self.choices.as_ref().map(|cs| cs.iter().map(|(v, _)| *v).collect()),
            ..Allowed::default()
        }
    }

    /// The problem with `x`, if any.
    fn check(&self, x: f64) -> Option<(FieldErrorKind, String)> {
        if let Some(choices) = &self.choices {
            if choices.iter().any(|(v, _)| *v == x) {
                return None;
            }
            let listed: Vec<String> = choices.iter().map(|(v, label)| format!("{v} ({label})")).collect();
            return Some((FieldErrorKind::Choice, format!("must be one of {}; got {x}", listed.join(", "))));
        }
        if self.min <= x && x <= self.max {
            return None;
        }
        let unit = if self.unit.is_empty() { String::new() } else { format!(" {}", self.unit) };
        Some((FieldErrorKind::Range, format!("must be between {} and {}{unit}; got {x}", self.min, self.max)))
    }
}

#[cfg(test)]
mod tests {
    use api_types::{Choice, FeatureSpec, FieldError, OnnxIo, Provenance, Task};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn spec(name: &str, min: f64, max: f64) -> FeatureSpec {
        FeatureSpec {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min,
            max,
            step: 0.1,
            default: min,
            choices: None,
        }
    }

    fn schema() -> FeatureSchema {
        let mut sex = spec("sex", 1.0, 2.0);
        sex.choices = Some(vec![
            Choice { value: 1.0, label: "one".to_owned() },
            Choice { value: 2.0, label: "two".to_owned() },
        ]);
        sex.unit = String::new();
        FeatureSchema::from_card(&ModelCard {
            name: "t".to_owned(),
            title: "T".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Regression,
            classes: vec![],
            onnx: OnnxIo {
                input: "input".to_owned(),
                label_output: None,
                probabilities_output: None,
                value_output: None,
            },
            output: None,
            features: vec![spec("a", 0.0, 10.0), sex],
            examples: vec![],
            provenance: Provenance::default(),
        })
    }

    fn only_error(body: &Value) -> FieldError {
        let errors = schema().parse_instance(body).expect_err("invalid").into_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().expect("one error")
    }

    #[test]
    fn a_complete_row_parses_in_column_order() {
        let m = schema().parse_instance(&json!({"sex": 2, "a": 1.5})).expect("valid");
        assert_eq!((m.rows(), m.cols()), (1, 2));
        assert_eq!(m.values(), &[1.5, 2.0]);
    }

    #[test]
    fn a_missing_feature_is_reported_at_its_location() {
        let e = only_error(&json!({"a": 1}));
        assert_eq!(e.kind, FieldErrorKind::Missing);
        assert_eq!(e.loc, vec![LocPart::from("body"), LocPart::from("sex")]);
    }

    #[test]
    fn an_unknown_feature_lists_the_real_ones() {
        let e = only_error(&json!({"a": 1, "sex": 1, "b": 2}));
        assert_eq!(e.kind, FieldErrorKind::UnknownField);
        assert_eq!(e.allowed.and_then(|a| a.features), Some(vec!["a".to_owned(), "sex".to_owned()]));
    }

    #[test]
    fn a_string_number_is_a_type_error() {
        let e = only_error(&json!({"a": "5.1", "sex": 1}));
        assert_eq!(e.kind, FieldErrorKind::Type);
        assert!(e.msg.contains("not a string"), "{}", e.msg);
    }

    #[test]
    fn booleans_and_null_are_type_errors() {
        for bad in [json!(true), json!(null), json!([1]), json!({"x": 1})] {
            assert_eq!(only_error(&json!({"a": bad, "sex": 1})).kind, FieldErrorKind::Type);
        }
    }

    #[test]
    fn a_value_outside_the_range_names_the_range() {
        let e = only_error(&json!({"a": 10.5, "sex": 1}));
        assert_eq!(e.kind, FieldErrorKind::Range);
        assert_eq!(e.msg, "must be between 0 and 10 cm; got 10.5");
        let allowed = e.allowed.expect("allowed range");
        assert_eq!((allowed.min, allowed.max), (Some(0.0), Some(10.0)));
    }

    #[test]
    fn range_bounds_are_inclusive() {
        assert!(schema().parse_instance(&json!({"a": 0, "sex": 1})).is_ok());
        assert!(schema().parse_instance(&json!({"a": 10, "sex": 2})).is_ok());
    }

    #[test]
    fn a_value_that_is_not_a_choice_lists_the_choices() {
        let e = only_error(&json!({"a": 1, "sex": 1.5}));
        assert_eq!(e.kind, FieldErrorKind::Choice);
        assert_eq!(e.msg, "must be one of 1 (one), 2 (two); got 1.5");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_type_error() {
        let e = only_error(&json!([1, 2]));
        assert_eq!(e.loc, vec![LocPart::from("body")]);
        assert_eq!(e.kind, FieldErrorKind::Type);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = schema().parse_instance(&json!({"a": "x", "zz": 1})).expect_err("invalid").into_errors();
        let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
        assert_eq!(kinds.len(), 3, "{errors:?}");
        assert!(kinds.contains(&FieldErrorKind::Type));
        assert!(kinds.contains(&FieldErrorKind::UnknownField));
        assert!(kinds.contains(&FieldErrorKind::Missing));
    }

    #[test]
    fn a_batch_reports_each_bad_row_by_index() {
        let rows = vec![json!({"a": 1, "sex": 1}), json!({"a": 11, "sex": 1}), json!({"a": 1})];
        let errors = schema().parse_batch(&rows, 10).expect_err("invalid").into_errors();
        let locs: Vec<_> = errors.iter().map(|e| e.loc.clone()).collect();
        assert_eq!(
            locs,
            vec![
                vec!["body".into(), "instances".into(), 1.into(), "a".into()],
                vec!["body".into(), "instances".into(), 2.into(), "sex".into()],
            ]
        );
    }

    #[test]
    fn an_empty_or_oversized_batch_is_rejected() {
        let s = schema();
        assert_eq!(
            s.parse_batch(&[], 10).expect_err("empty").into_errors()[0].kind,
            FieldErrorKind::BatchSize
        );
        let rows = vec![json!({"a": 1, "sex": 1}); 3];
        let e = s.parse_batch(&rows, 2).expect_err("too many").into_errors();
        assert_eq!(e[0].allowed.as_ref().and_then(|a| a.max_items), Some(2));
    }

    #[test]
    fn a_valid_batch_keeps_row_order() {
        let rows = vec![json!({"a": 1, "sex": 1}), json!({"a": 2, "sex": 2})];
        assert_eq!(schema().parse_batch(&rows, 10).expect("valid").values(), &[1.0, 1.0, 2.0, 2.0]);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            "[a-z]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![Just("a".to_owned()), Just("sex".to_owned()), "[a-z]{1,3}"],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_bytes_either_parse_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..80)) {
            let s = schema();
            let _ = s.parse_instance_json(&body);
            let _ = s.parse_batch_json(&body, 3);
        }

        #[test]
        fn parsing_json_text_agrees_with_parsing_its_value(body in any_json()) {
            let s = schema();
            let text = serde_json::to_vec(&body).expect("serializable");
            let from_value = s.parse_instance(&body).map(|m| m.values().to_vec()).map_err(|p| p.total());
            let from_text = s.parse_instance_json(&text).map(|m| m.values().to_vec()).map_err(|e| match e {
                BodyError::Invalid(p) => p.total(),
                BodyError::Malformed(_) => usize::MAX,
            });
            prop_assert_eq!(from_value, from_text);
        }
        #[test]
        fn any_json_either_parses_to_accepted_values_or_names_a_problem(body in any_json()) {
            let s = schema();
            match s.parse_instance(&body) {
                Ok(m) => {
                    prop_assert_eq!(m.values().len(), 2);
                    prop_assert!((0.0..=10.0).contains(&m.values()[0]));
                }
                Err(p) => prop_assert!(!p.is_empty() && !p.into_errors().is_empty()),
            }
        }
    }
}
