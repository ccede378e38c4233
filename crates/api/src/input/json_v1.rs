//! The JSON v1 adapter: `POST /predict` bodies (an object of feature name →
//! value) and `POST /predict/batch` bodies (`{"instances": [...]}`), read
//! straight from their bytes by serde seeds — no JSON tree is built; each
//! value becomes a [`Cell`] handed to the [`RowsBuilder`] with its JSON path.

use std::borrow::Cow;

use api_types::{FieldErrorKind, LocPart};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::batch::{Rows, RowsBuilder};
use super::cell::{Cell, Wording};
use super::problems::bounded_key;
use super::schema::FeatureSchema;
use super::{BodyError, Problems};

/// Parses a `POST …/predict` body: one row.
pub fn parse_instance(schema: &FeatureSchema, body: &[u8]) -> Result<Rows, BodyError> {
    read(body, |body| {
        let mut sink = Sink::new(schema, usize::MAX);
        sink.rows.begin_row();
        let mut de = serde_json::Deserializer::from_slice(body);
        RowSeed { sink: &mut sink, index: None }.deserialize(&mut de).and_then(|()| de.end())?;
        Ok(sink.rows.finish())
    })
}

/// Parses a `POST …/predict/batch` body: `{"instances": [...]}` of 1 to `max_rows` rows.
pub fn parse_batch(schema: &FeatureSchema, body: &[u8], max_rows: usize) -> Result<Rows, BodyError> {
    read(body, |body| {
        let mut sink = Sink::new(schema, max_rows);
        let mut de = serde_json::Deserializer::from_slice(body);
        EnvelopeSeed { sink: &mut sink }.deserialize(&mut de).and_then(|()| de.end())?;
        Ok(sink.finish_batch())
    })
}

/// Runs `parse` over `body`. serde_json stops at a number too large for a
/// float (`1e400`); then the body is read once more with every such number
/// replaced by [`OVERFLOW`], so that each is reported at its field beside
/// every other problem of the body.
fn read(
    body: &[u8],
    parse: impl Fn(&[u8]) -> Result<Result<Rows, Problems>, serde_json::Error>,
) -> Result<Rows, BodyError> {
    let outcome = match parse(body) {
        Err(err) if err.to_string().starts_with("number out of range") => match without_overflows(body) {
            Some(copy) => parse(&copy),
            None => Err(err),
        },
        outcome => outcome,
    };
    match outcome {
        Ok(rows) => rows.map_err(BodyError::Invalid),
        Err(err) => Err(BodyError::Malformed(format!("Failed to parse the request body as JSON: {err}"))),
    }
}

/// What a number literal too large for a float becomes when the body is
/// read again: a string holding one NUL character, read back as a number
/// too large to represent (a client sending that string gets the same
/// message, which is the only cost of the trick).
const OVERFLOW: &str = "\u{0}";

/// `body` with every number literal outside strings that overflows a float
/// replaced by the JSON string of [`OVERFLOW`]; `None` if there is none.
/// One pass over the bytes; the copy is at most 8/5 of the body.
fn without_overflows(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut copied, mut i, mut in_string, mut found) = (0, 0, false, false);
    while i < body.len() {
        let b = body[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < body.len() && matches!(body[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let overflows = std::str::from_utf8(&body[start..i])
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_infinite);
            if overflows {
                found = true;
                out.extend_from_slice(&body[copied..start]);
                out.extend_from_slice(br#""\u0000""#);
                copied = i;
            }
            continue;
        }
        i += 1;
    }
    found.then(|| {
        out.extend_from_slice(&body[copied..]);
        out
    })
}

/// Where the seeds put what they read.
struct Sink<'s> {
    rows: RowsBuilder<'s>,
    max_rows: usize,
    /// Rows seen past `max_rows`: counted, not stored.
    extra_rows: usize,
    /// False once the batch envelope itself is wrong (then row counts mean nothing).
    envelope_ok: bool,
}

impl<'s> Sink<'s> {
    fn new(schema: &'s FeatureSchema, max_rows: usize) -> Self {
        Self { rows: RowsBuilder::new(schema, &Wording::JSON), max_rows, extra_rows: 0, envelope_ok: true }
    }

    fn loc(index: Option<usize>) -> Vec<LocPart> {
        match index {
            None => vec!["body".into()],
            Some(i) => vec!["body".into(), "instances".into(), LocPart::Index(i)],
        }
    }

    fn loc_of(index: Option<usize>, key: LocPart) -> Vec<LocPart> {
        let mut loc = Self::loc(index);
        loc.push(key);
        loc
    }

    fn finish_batch(mut self) -> Result<Rows, Problems> {
        let total = self.rows.rows() + self.extra_rows;
        if self.envelope_ok
            && let Some(violation) = FeatureSchema::batch_size(total, self.max_rows, "instances")
        {
            self.rows.replace_problems(vec!["body".into(), "instances".into()], violation);
        }
        self.rows.finish()
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

/// One row: a JSON object of feature name → value.
struct RowSeed<'a, 's> {
    sink: &'a mut Sink<'s>,
    /// The row's index in a batch; `None` for a single instance.
    index: Option<usize>,
}

impl RowSeed<'_, '_> {
    fn not_an_object(self, what: &str) {
        self.sink.rows.report_shape(
            Sink::loc(self.index),
            FieldErrorKind::Type,
            format!("must be a JSON object of feature values, not {what}"),
        );
    }
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of feature values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let index = self.index;
        let rows = &mut self.sink.rows;
        let schema = rows.schema();
        let row = index.unwrap_or(0);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(col) = schema.column(&key) else {
                map.next_value::<IgnoredAny>()?;
                rows.report(Sink::loc_of(index, bounded_key(&key)), schema.unknown_feature());
                continue;
            };
            let value = map.next_value_seed(ScalarSeed)?;
            rows.set(row, col, value.cell(), || Sink::loc_of(index, schema.name(col).into()));
        }
        rows.end_row(|name| Sink::loc_of(index, name.into()));
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

/// A feature's value as JSON gave it; strings borrow from the body when they can.
enum Scalar<'de> {
    Number(f64),
    Text(Cow<'de, str>),
    Null,
    Other(&'static str),
}

impl Scalar<'_> {
    fn cell(&self) -> Cell<'_> {
        match self {
            Self::Number(x) => Cell::Number(*x),
            Self::Text(t) if t == OVERFLOW => Cell::Number(f64::INFINITY),
            Self::Text(t) => Cell::Text(t),
            Self::Null => Cell::Null,
            Self::Other(what) => Cell::Other(what),
        }
    }
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number or a string")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

/// `{"instances": [...]}`, and nothing else.
struct EnvelopeSeed<'a, 's> {
    sink: &'a mut Sink<'s>,
}

impl EnvelopeSeed<'_, '_> {
    fn shape(&mut self, msg: String) {
        self.sink.envelope_ok = false;
        self.sink.rows.report_shape(vec!["body".into()], FieldErrorKind::Shape, msg);
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
    sink: &'a mut Sink<'s>,
}

impl InstancesSeed<'_, '_> {
    fn not_an_array(self, what: &str) {
        self.sink.envelope_ok = false;
        self.sink.rows.report_shape(
            vec!["body".into(), "instances".into()],
            FieldErrorKind::Shape,
            format!("must be an array of instances, not {what}"),
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
            if self.sink.rows.rows() >= self.sink.max_rows {
                // Past the limit: count the rest, store nothing.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    self.sink.extra_rows += 1;
                }
                return Ok(());
            }
            let index = self.sink.rows.begin_row();
            if seq.next_element_seed(RowSeed { sink: &mut *self.sink, index: Some(index) })?.is_none() {
                self.sink.rows.cancel_last_row();
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

#[cfg(test)]
mod tests {
    use api_types::{
        Choice, FeatureSpec, FeatureValue, FieldError, ModelCard, OnnxIo, Policy, Provenance, Task,
    };
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::input::MAX_REPORTED_PROBLEMS;

    fn spec(name: &str, min: f64, max: f64) -> FeatureSpec {
        FeatureSpec {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min: Some(min),
            max: Some(max),
            step: Some(0.1),
            default: Some(FeatureValue::Number(min)),
            choices: None,
            categories: None,
            missing: Policy::Rejected,
            unknown: Policy::Rejected,
            integer: false,
        }
    }

    /// `a` in 0..=10 cm, `sex` coded 1 or 2, `island` one of two categories or missing.
    fn schema() -> FeatureSchema {
        let mut sex = spec("sex", 1.0, 2.0);
        sex.choices = Some(vec![
            Choice { value: 1.0, label: "one".to_owned() },
            Choice { value: 2.0, label: "two".to_owned() },
        ]);
        sex.unit = String::new();
        let island = FeatureSpec {
            min: None,
            max: None,
            step: None,
            default: None,
            categories: Some(vec!["Biscoe".to_owned(), "Dream".to_owned()]),
            missing: Policy::Allowed,
            ..spec("island", 0.0, 0.0)
        };
        FeatureSchema::from_card(&ModelCard {
            name: "t".to_owned(),
            title: "T".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Regression,
            classes: vec![],
            onnx: OnnxIo { input: None, label_output: None, probabilities_output: None, value_output: None },
            output: None,
            features: vec![spec("a", 0.0, 10.0), sex, island],
            examples: vec![],
            provenance: Provenance::default(),
        })
        .expect("a valid card")
    }

    fn one(body: &Value) -> Result<Rows, BodyError> {
        parse_instance(&schema(), &serde_json::to_vec(body).expect("json"))
    }

    fn errors(body: &Value) -> Vec<FieldError> {
        match one(body) {
            Err(BodyError::Invalid(problems)) => problems.into_errors(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    fn only_error(body: &Value) -> FieldError {
        let errors = errors(body);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().expect("one error")
    }

    #[test]
    fn a_complete_row_parses_in_column_order_with_categories_beside_the_numbers() {
        let rows = one(&json!({"island": "Dream", "sex": 2, "a": 1.5})).expect("valid");

        assert_eq!((rows.len(), rows.width()), (1, 3));
        assert_eq!(&rows.numbers()[..2], &[1.5, 2.0]);
        assert_eq!(rows.category(0, 2), Some(&crate::input::Category::Known(1)));
        assert_eq!(rows.category(0, 0), None, "a numeric column has no category");
    }

    #[test]
    fn a_missing_feature_is_reported_at_its_location_unless_it_may_be_missing() {
        let e = only_error(&json!({"a": 1}));
        assert_eq!(e.kind, FieldErrorKind::Missing);
        assert_eq!(e.loc, vec![LocPart::from("body"), LocPart::from("sex")]);

        let rows = one(&json!({"a": 1, "sex": 1, "island": null})).expect("island may be missing");
        assert_eq!(rows.category(0, 2), Some(&crate::input::Category::Missing));
    }

    #[test]
    fn an_unknown_feature_lists_the_real_ones() {
        let e = only_error(&json!({"a": 1, "sex": 1, "b": 2}));
        assert_eq!(e.kind, FieldErrorKind::UnknownField);
        assert_eq!(
            e.allowed.and_then(|a| a.features),
            Some(vec!["a".to_owned(), "sex".to_owned(), "island".to_owned()])
        );
    }

    #[test]
    fn a_number_too_large_for_a_float_is_reported_beside_every_other_problem() {
        let raw = |body: &str| match parse_instance(&schema(), body.as_bytes()) {
            Err(BodyError::Invalid(problems)) => problems.into_errors(),
            other => panic!("expected problems, got {other:?}"),
        };

        let errors = raw(r#"{"a": 1e400, "sex": true, "island": "Mars", "x": "1e400 in a string"}"#);
        let found: Vec<(String, FieldErrorKind)> =
            errors.iter().map(|e| (format!("{:?}", e.loc.last().expect("loc")), e.kind)).collect();
        assert_eq!(
            found,
            vec![
                ("Key(\"a\")".to_owned(), FieldErrorKind::Range),
                ("Key(\"sex\")".to_owned(), FieldErrorKind::Type),
                ("Key(\"island\")".to_owned(), FieldErrorKind::Category),
                ("Key(\"x\")".to_owned(), FieldErrorKind::UnknownField),
            ]
        );
        assert_eq!(errors[0].msg, "must be a finite number; this one is too large to represent");

        let batch = parse_batch(
            &schema(),
            br#"{"instances": [{"a": -2e308, "sex": 1}, {"a": 1, "sex": 9e999}]}"#,
            10,
        );
        let Err(BodyError::Invalid(problems)) = batch else { panic!("expected problems, got {batch:?}") };
        assert_eq!(problems.total(), 2);
    }

    #[test]
    fn strings_booleans_null_arrays_and_objects_are_not_numbers() {
        for (bad, what) in [
            (json!("5.1"), "a string"),
            (json!(true), "a boolean"),
            (json!([1]), "an array"),
            (json!({"x": 1}), "an object"),
        ] {
            let e = only_error(&json!({"a": bad, "sex": 1}));
            assert_eq!(e.kind, FieldErrorKind::Type);
            assert_eq!(e.msg, format!("must be a JSON number, not {what}"));
        }
        let null = only_error(&json!({"a": null, "sex": 1}));
        assert_eq!(null.kind, FieldErrorKind::Missing, "null is a missing value");
        assert_eq!(null.msg, "\"a\" is missing and this model cannot take missing values");
    }

    #[test]
    fn a_value_outside_the_range_names_the_range_and_bounds_are_inclusive() {
        let e = only_error(&json!({"a": 10.5, "sex": 1}));
        assert_eq!(e.kind, FieldErrorKind::Range);
        assert_eq!(e.msg, "must be between 0 and 10 cm; got 10.5");
        let allowed = e.allowed.expect("allowed range");
        assert_eq!((allowed.min, allowed.max), (Some(0.0), Some(10.0)));
        assert!(one(&json!({"a": 0, "sex": 1})).is_ok());
        assert!(one(&json!({"a": 10, "sex": 2})).is_ok());
    }

    #[test]
    fn a_value_that_is_not_a_choice_or_a_category_lists_them() {
        let e = only_error(&json!({"a": 1, "sex": 1.5}));
        assert_eq!(
            (e.kind, e.msg.as_str()),
            (FieldErrorKind::Choice, "must be one of 1 (one), 2 (two); got 1.5")
        );
        let e = only_error(&json!({"a": 1, "sex": 1, "island": "Torgersen"}));
        assert_eq!(e.kind, FieldErrorKind::Category);
        assert_eq!(e.msg, r#"must be one of "Biscoe", "Dream"; got "Torgersen""#);
    }

    #[test]
    fn a_number_too_large_for_a_float_is_a_range_problem_at_its_field() {
        let body = br#"{"a": 1e400, "sex": 1}"#;
        let Err(BodyError::Invalid(problems)) = parse_instance(&schema(), body) else { panic!("a 422") };
        let e = &problems.into_errors()[0];
        assert_eq!(
            (e.kind, e.loc.clone()),
            (FieldErrorKind::Range, vec![LocPart::from("body"), LocPart::from("a")])
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_type_error_at_body() {
        let e = only_error(&json!([1, 2]));
        assert_eq!(e.loc, vec![LocPart::from("body")]);
        assert_eq!(e.kind, FieldErrorKind::Type);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let kinds: Vec<_> = errors(&json!({"a": "x", "zz": 1})).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [FieldErrorKind::Type, FieldErrorKind::UnknownField, FieldErrorKind::Missing]);
    }

    fn batch(rows: &Value, max: usize) -> Result<Rows, BodyError> {
        parse_batch(&schema(), &serde_json::to_vec(&json!({ "instances": rows })).expect("json"), max)
    }

    #[test]
    fn a_batch_reports_each_bad_row_by_index() {
        let rows = json!([{"a": 1, "sex": 1}, {"a": 11, "sex": 1}, {"a": 1}]);
        let Err(BodyError::Invalid(problems)) = batch(&rows, 10) else { panic!("a 422") };
        let locs: Vec<_> = problems.into_errors().into_iter().map(|e| e.loc).collect();
        assert_eq!(
            locs,
            vec![
                vec!["body".into(), "instances".into(), 1.into(), "a".into()],
                vec!["body".into(), "instances".into(), 2.into(), "sex".into()],
            ]
        );
    }

    #[test]
    fn an_empty_or_oversized_batch_is_one_batch_size_problem() {
        for (rows, max) in [(json!([]), 10), (json!([{"a": 1, "sex": 1}, {"a": 1, "sex": 1}, {"a": 99}]), 2)]
        {
            let Err(BodyError::Invalid(problems)) = batch(&rows, max) else { panic!("a 422") };
            let errors = problems.into_errors();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].kind, FieldErrorKind::BatchSize);
            assert_eq!(errors[0].allowed.as_ref().and_then(|a| a.max_items), Some(max));
        }
    }

    #[test]
    fn a_valid_batch_keeps_row_order() {
        let rows = batch(&json!([{"a": 1, "sex": 1}, {"a": 2, "sex": 2}]), 10).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows.number(0, 0), rows.number(1, 0), rows.number(1, 1)), (1.0, 2.0, 2.0));
    }

    /// The reference the streaming parser is held to: build the JSON tree,
    /// then walk it naively, cell by cell, through the same builder.
    fn reference(body: &Value) -> Result<Vec<f32>, Vec<(Vec<LocPart>, FieldErrorKind)>> {
        let schema = schema();
        let mut rows = RowsBuilder::new(&schema, &Wording::JSON);
        let row = rows.begin_row();
        let loc = |key: &str| vec![LocPart::from("body"), bounded_key(key)];
        match body {
            Value::Object(map) => {
                for (key, value) in map {
                    let Some(col) = schema.column(key) else {
                        rows.report(loc(key), schema.unknown_feature());
                        continue;
                    };
                    let cell = match value {
                        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN)),
                        Value::String(s) => Cell::Text(s),
                        Value::Null => Cell::Null,
                        Value::Bool(_) => Cell::Other("a boolean"),
                        Value::Array(_) => Cell::Other("an array"),
                        Value::Object(_) => Cell::Other("an object"),
                    };
                    rows.set(row, col, cell, || loc(key));
                }
                rows.end_row(|name| loc(name));
            }
            _ => rows.report_shape(vec!["body".into()], FieldErrorKind::Type, String::new()),
        }
        rows.finish()
            .map(|r| r.numbers().to_vec())
            .map_err(|p| p.into_errors().into_iter().map(|e| (e.loc, e.kind)).collect())
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| json!(f)),
            (-20i64..20).prop_map(|i| json!(i)),
            prop_oneof![Just("Biscoe".to_owned()), Just("Dream".to_owned()), "[a-z]{0,6}"]
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("a".to_owned()),
                        Just("sex".to_owned()),
                        Just("island".to_owned()),
                        "[a-z]{1,3}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::input::fuzz_cases()))]

        #[test]
        fn any_bytes_give_checked_rows_a_located_syntax_error_or_bounded_problems(
            body in prop::collection::vec(any::<u8>(), 0..80)
        ) {
            let s = schema();
            for result in [parse_instance(&s, &body), parse_batch(&s, &body, 3)] {
                match result {
                    Ok(rows) => {
                        prop_assert!((1..=3).contains(&rows.len()));
                        prop_assert!(rows.numbers().chunks(3).all(|r| (0.0..=10.0).contains(&r[0])));
                    }
                    Err(BodyError::Malformed(msg)) => {
                        prop_assert!(msg.starts_with("Failed to parse the request body as JSON"), "{}", msg);
                        prop_assert!(msg.contains("line") && msg.contains("column"), "{}", msg);
                    }
                    Err(BodyError::TooLarge) => prop_assert!(false, "a JSON body has no size here"),
                    Err(BodyError::Invalid(problems)) => {
                        prop_assert!(problems.total() >= 1);
                        let kept = problems.into_errors();
                        prop_assert!(!kept.is_empty() && kept.len() <= MAX_REPORTED_PROBLEMS);
                        prop_assert!(kept.iter().all(|e| e.msg.len() < 400));
                    }
                }
            }
        }

        #[test]
        fn the_streaming_parser_agrees_with_the_naive_reference_on_values_and_error_locations(body in any_json()) {
            let text = serde_json::to_vec(&body).expect("serializable");
            let streamed = match parse_instance(&schema(), &text) {
                Ok(rows) => Ok(rows.numbers().to_vec()),
                Err(BodyError::Invalid(p)) => Err(p.into_errors().into_iter().map(|e| (e.loc, e.kind)).collect()),
                Err(BodyError::Malformed(msg)) => panic!("serde_json's own output is JSON: {msg}"),
                Err(BodyError::TooLarge) => panic!("a JSON body has no size here"),
            };
            let expected = reference(&body);
            match (&streamed, &expected) {
                (Ok(a), Ok(b)) => prop_assert!(a.iter().zip(b).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))),
                _ => prop_assert_eq!(streamed, expected),
            }
        }
    }
}
