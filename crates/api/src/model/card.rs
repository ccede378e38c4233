//! Reading and checking a model card: the TOML file (an unknown key is
//! refused with its path, so a typo never silently drops a setting), then
//! the card's own consistency — its name, task, classes and outputs here,
//! its features and examples through the input rules ([`FeatureSchema`]).

use std::path::Path;

use anyhow::{Context, Result, bail};
use api_types::{ModelCard, Task};

use crate::input::FeatureSchema;

/// Reads the card at `path`.
pub fn read(path: &Path) -> Result<ModelCard> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a valid model card", path.display()))
}

/// Parses a card's TOML, refusing keys the card does not have.
///
/// Errors say where and what, never quote the file: a failure is shown
/// without a key, and the file may not be a card at all (a link to
/// `/etc/passwd`).
pub fn parse(text: &str) -> Result<ModelCard> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e))?;
    let mut unknown = Vec::new();
    let card: ModelCard = serde_ignored::deserialize(de, |path| {
        let shown: String = path.to_string().chars().take(64).collect();
        unknown.push(format!("unknown field `{shown}`"));
    })
    .map_err(|e| toml_error(text, &e))?;
    if !unknown.is_empty() {
        bail!("{}", unknown.join(", "));
    }
    let mut card = card;
    for feature in card.features.iter_mut().filter(|f| f.label.is_empty()) {
        feature.label.clone_from(&feature.name);
    }
    Ok(card)
}

/// A TOML error as a line and column and what is wrong there, without the
/// snippet of the file the library would quote.
pub(crate) fn toml_error(text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message: String = error.message().chars().take(200).collect();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            anyhow::anyhow!("not valid TOML at line {line}, column {column}: {message}")
        }
        None => anyhow::anyhow!("not valid TOML: {message}"),
    }
}

/// Bounds on what a card (or a graph read as one) may hold.
const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 10_000;
const MAX_CLASSES: usize = 10_000;
const MAX_FEATURES: usize = 10_000;
const MAX_CATEGORIES: usize = 100_000;
const MAX_LABEL_CHARS: usize = 256;

/// Checks a card's consistency; answers the input rules it declares.
pub fn check(card: &ModelCard) -> Result<FeatureSchema> {
    let mut problems = Vec::new();
    if !api_types::valid_model_name(&card.name) {
        problems.push(format!(
            "model name {:?} must be 1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit",
            card.name
        ));
    }
    if card.title.is_empty() {
        problems.push("title must not be empty".to_owned());
    }
    // What every listing and form carries is bounded: a 10 MB class label
    // would make every answer naming it 10 MB.
    let too_long = |s: &str, most: usize| s.chars().count() > most;
    if too_long(&card.title, MAX_TITLE_CHARS) || too_long(&card.description, MAX_DESCRIPTION_CHARS) {
        problems.push(format!(
            "title and description are at most {MAX_TITLE_CHARS} and {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    if card.classes.len() > MAX_CLASSES
        || card.classes.iter().any(|c| c.is_empty() || too_long(c, MAX_LABEL_CHARS))
    {
        problems.push(format!(
            "a classifier has at most {MAX_CLASSES} classes, each named by 1 to {MAX_LABEL_CHARS} characters"
        ));
    }
    if card.features.len() > MAX_FEATURES {
        problems
            .push(format!("a model takes at most {MAX_FEATURES} features; this one {}", card.features.len()));
    }
    for f in &card.features {
        let categories = f.categories.as_deref().unwrap_or_default();
        if categories.len() > MAX_CATEGORIES || categories.iter().any(|c| too_long(c, MAX_LABEL_CHARS)) {
            problems.push(format!(
                "feature {:?}: at most {MAX_CATEGORIES} categories, each at most {MAX_LABEL_CHARS} characters",
                f.name.chars().take(64).collect::<String>()
            ));
        }
    }
    if card.version.is_empty() {
        problems.push("version must not be empty".to_owned());
    }
    match card.task {
        Task::Classification => {
            if card.classes.len() < 2 {
                problems.push("a classifier needs at least two classes".to_owned());
            }
            if card.onnx.probabilities_output.is_none() {
                problems.push("a classifier needs onnx.probabilities_output".to_owned());
            }
        }
        Task::Regression => {
            if card.output.is_none() {
                problems.push("a regressor needs an [output] table".to_owned());
            }
            if card.onnx.value_output.is_none() {
                problems.push("a regressor needs onnx.value_output".to_owned());
            }
        }
    }
    let schema = FeatureSchema::from_card(card);
    if let Err(feature_problems) = &schema {
        problems.extend(feature_problems.iter().cloned());
    }
    match schema {
        Ok(schema) if problems.is_empty() => Ok(schema),
        _ => bail!("{}", problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use api_types::{Example, FeatureSpec, FeatureValue, OnnxIo, Policy, Provenance};

    use super::*;

    fn feature(name: &str) -> FeatureSpec {
        FeatureSpec {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min: Some(0.0),
            max: Some(10.0),
            step: Some(0.1),
            default: Some(FeatureValue::Number(1.0)),
            choices: None,
            categories: None,
            missing: Policy::Rejected,
            unknown: Policy::Rejected,
            integer: false,
        }
    }

    fn card() -> ModelCard {
        ModelCard {
            name: "m".to_owned(),
            title: "M".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Classification,
            classes: vec!["a".to_owned(), "b".to_owned()],
            onnx: OnnxIo {
                input: Some("input".to_owned()),
                label_output: None,
                probabilities_output: Some("probabilities".to_owned()),
                value_output: None,
            },
            output: None,
            features: vec![feature("x"), feature("y")],
            examples: vec![],
            provenance: Provenance::default(),
        }
    }

    fn error(card: &ModelCard) -> String {
        format!("{:#}", check(card).expect_err("an inconsistent card"))
    }

    #[test]
    fn a_consistent_card_is_valid() {
        assert!(check(&card()).is_ok());
    }

    #[test]
    fn a_default_outside_the_range_is_refused_by_the_request_rules() {
        let mut c = card();
        c.features[0].default = Some(FeatureValue::Number(11.0));
        let err = error(&c);
        assert!(
            err.contains("default 11 is not an accepted value: must be between 0 and 10 cm; got 11"),
            "{err}"
        );
    }

    #[test]
    fn a_choice_outside_the_range_and_a_default_outside_the_choices_are_refused() {
        let mut c = card();
        c.features[0].choices = Some(vec![
            api_types::Choice { value: 1.0, label: "one".to_owned() },
            api_types::Choice { value: 12.0, label: "twelve".to_owned() },
        ]);
        c.features[0].default = Some(FeatureValue::Number(2.0));
        let err = error(&c);
        assert!(err.contains("choice 12 lies outside 0..=10"), "{err}");
        c.features[0].choices.as_mut().expect("choices").pop();
        let err = error(&c);
        assert!(err.contains("default 2 is not an accepted value: must be one of 1 (one)"), "{err}");
    }

    #[test]
    fn min_above_max_and_a_bad_step_are_refused() {
        let mut c = card();
        c.features[0].min = Some(5.0);
        c.features[0].max = Some(1.0);
        c.features[1].step = Some(0.0);
        let err = error(&c);
        assert!(err.contains("min 5 must be ≤ max 1"), "{err}");
        assert!(err.contains("step 0 must be a positive number"), "{err}");
    }

    #[test]
    fn a_feature_listed_twice_is_refused() {
        let mut c = card();
        c.features[1].name = "x".to_owned();
        assert!(error(&c).contains("listed twice"));
    }

    #[test]
    fn a_classifier_with_one_class_and_a_regressor_without_output_are_refused() {
        let mut c = card();
        c.classes.pop();
        assert!(error(&c).contains("at least two classes"));
        let mut c = card();
        c.task = Task::Regression;
        c.onnx.value_output = Some("variable".to_owned());
        assert!(error(&c).contains("[output] table"));
    }

    #[test]
    fn an_example_is_checked_as_a_request_row() {
        let mut c = card();
        c.examples.push(Example {
            label: "e".to_owned(),
            values: [
                ("x".to_owned(), FeatureValue::Number(1.0)),
                ("z".to_owned(), FeatureValue::Number(1.0)),
            ]
            .into_iter()
            .collect(),
        });
        let err = error(&c);
        assert!(err.contains("example \"e\" names unknown feature \"z\""), "{err}");
        assert!(err.contains("example \"e\" has no value for \"y\""), "{err}");
    }

    #[test]
    fn a_categorical_feature_needs_categories_and_takes_no_range() {
        let mut c = card();
        c.features[1].categories = Some(vec!["Biscoe".to_owned(), "Dream".to_owned()]);
        c.features[1].default = Some(FeatureValue::Text("Dream".to_owned()));
        let err = error(&c);
        assert!(err.contains("a categorical feature takes no min, max, step, choices or integer"), "{err}");
        c.features[1].min = None;
        c.features[1].max = None;
        c.features[1].step = None;
        assert!(check(&c).is_ok());
        c.features[1].default = Some(FeatureValue::Text("Mars".to_owned()));
        let err = error(&c);
        assert!(
            err.contains(
                r#"default Mars is not an accepted value: must be one of "Biscoe", "Dream"; got "Mars""#
            ),
            "{err}"
        );
    }

    #[test]
    fn a_feature_stated_by_name_alone_is_labelled_by_its_name() {
        let text = toml::to_string(&card()).expect("serializable").replace("label = \"x\"\n", "");

        let parsed = parse(&text).expect("a feature needs no label");

        assert_eq!(parsed.features[0].label, "x");
        assert_eq!(parsed.features[1].label, "y");
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_without_quoting_it() {
        let err = format!("{:#}", parse("root:x:0:0:root:/root:/bin/bash\n").expect_err("not a card"));

        assert!(err.starts_with("not valid TOML at line 1, column"), "{err}");
        assert!(!err.contains("root:x"), "the file is quoted: {err}");
    }

    #[test]
    fn a_name_with_a_slash_is_refused() {
        let mut c = card();
        c.name = "../etc".to_owned();
        assert!(error(&c).contains("must be 1 to 64 lowercase letters"));
    }

    #[test]
    fn an_unknown_key_in_the_toml_is_named_with_its_path() {
        let text = toml::to_string(&card()).expect("serializable");
        let text = text.replace("[onnx]", "[onnx]\nlabel_outptu = \"label\"");

        let err = format!("{:#}", parse(&text).expect_err("unknown key"));

        assert!(err.contains("unknown field `onnx.label_outptu`"), "{err}");
        assert!(parse(&toml::to_string(&card()).expect("serializable")).is_ok());
    }
}
