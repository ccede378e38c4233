//! A model's input rules and the checked rows they produce.

use std::collections::HashMap;

use api_types::{Allowed, FieldErrorKind, LocPart, ModelCard};
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
        let mut problems = Problems::default();
        let mut data = vec![0.0; self.width()];
        self.parse_row(body, &[LocPart::from("body")], &mut data, &mut problems);
        if problems.is_empty() {
            Ok(FeatureMatrix { data, rows: 1, cols: self.width() })
        } else {
            Err(problems)
        }
    }

    /// Parses the rows of a batch (`body.instances`), 1 to `max_rows` of them.
    pub fn parse_batch(&self, instances: &[Value], max_rows: usize) -> Result<FeatureMatrix, Problems> {
        let mut problems = Problems::default();
        if instances.is_empty() || instances.len() > max_rows {
            problems.push(
                vec!["body".into(), "instances".into()],
                FieldErrorKind::BatchSize,
                format!("must hold 1 to {max_rows} instances; got {}", instances.len()),
                Some(Allowed { min_items: Some(1), max_items: Some(max_rows), ..Allowed::default() }),
            );
            return Err(problems);
        }
        let width = self.width();
        let mut data = vec![0.0; instances.len() * width];
        for (i, (instance, row)) in instances.iter().zip(data.chunks_exact_mut(width)).enumerate() {
            let loc = [LocPart::from("body"), LocPart::from("instances"), LocPart::Index(i)];
            self.parse_row(instance, &loc, row, &mut problems);
        }
        if problems.is_empty() {
            Ok(FeatureMatrix { data, rows: instances.len(), cols: width })
        } else {
            Err(problems)
        }
    }

    fn parse_row(&self, value: &Value, loc: &[LocPart], row: &mut [f32], problems: &mut Problems) {
        let at = |key: LocPart| {
            let mut l = loc.to_vec();
            l.push(key);
            l
        };
        let Value::Object(fields) = value else {
            problems.push(
                loc.to_vec(),
                FieldErrorKind::Type,
                format!("must be a JSON object of feature values, not {}", json_type(value)),
                Some(Allowed { json_type: Some("object".to_owned()), ..Allowed::default() }),
            );
            return;
        };
        let mut seen = 0usize;
        for (key, v) in fields {
            let Some(&col) = self.column_of.get(key.as_str()) else {
                problems.push(
                    at(bounded_key(key)),
                    FieldErrorKind::UnknownField,
                    format!("is not a feature of this model; it takes: {}", self.names().join(", ")),
                    Some(Allowed { features: Some(self.names()), ..Allowed::default() }),
                );
                continue;
            };
            seen += 1;
            let rule = &self.rules[col];
            match v.as_f64() {
                Some(x) => match rule.check(x) {
                    None => row[col] = x as f32,
                    Some((kind, msg)) => {
                        problems.push(at(key.as_str().into()), kind, msg, Some(rule.allowed()))
                    }
                },
                None => problems.push(
                    at(key.as_str().into()),
                    FieldErrorKind::Type,
                    format!("must be a JSON number, not {}", json_type(v)),
                    Some(Allowed { json_type: Some("number".to_owned()), ..rule.allowed() }),
                ),
            }
        }
        if seen < self.width() {
            for rule in self.rules.iter().filter(|r| !fields.contains_key(&r.name)) {
                problems.push(
                    at(rule.name.as_str().into()),
                    FieldErrorKind::Missing,
                    "is required: every feature of the model must be given".to_owned(),
                    Some(rule.allowed()),
                );
            }
        }
    }
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

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
