//! Default scikit-learn exports (models/train/zoo.py) through the API's
//! loader, against the answers onnxruntime gave at export time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use api::domain::FeatureSchema;
use api::model::{Graph, ModelOutput};
use api_types::{FeatureSpec, ModelCard, OnnxIo, Provenance, RegressionOutput, Task};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Expected {
    input: String,
    rows: Vec<Vec<f64>>,
    outputs: Vec<String>,
    labels: Option<Vec<i64>>,
    probabilities: Option<Vec<Vec<f64>>>,
    values: Option<Vec<f64>>,
    ops: Vec<String>,
}

fn zoo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/zoo")
}

/// The smallest card that describes a zoo model to the loader.
fn card_for(name: &str, e: &Expected) -> ModelCard {
    let width = e.rows[0].len();
    let classes = e.probabilities.as_ref().map(|p| p[0].len());
    ModelCard {
        name: name.replace('_', "-"),
        title: name.to_owned(),
        description: String::new(),
        version: "1".to_owned(),
        task: if classes.is_some() { Task::Classification } else { Task::Regression },
        classes: (0..classes.unwrap_or(0)).map(|c| format!("class {c}")).collect(),
        onnx: OnnxIo {
            input: e.input.clone(),
            label_output: None,
            probabilities_output: classes.map(|_| e.outputs[1].clone()),
            value_output: classes.is_none().then(|| e.outputs[0].clone()),
        },
        output: classes.is_none().then(|| RegressionOutput {
            name: "y".to_owned(),
            unit: String::new(),
            description: String::new(),
            min: 0.0,
            max: 1.0,
        }),
        features: (0..width)
            .map(|i| FeatureSpec {
                name: format!("f{i}"),
                label: format!("f{i}"),
                unit: String::new(),
                description: String::new(),
                min: -1e30,
                max: 1e30,
                step: 1.0,
                default: 0.0,
                choices: None,
            })
            .collect(),
        examples: vec![],
        provenance: Provenance::default(),
    }
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

#[test]
fn every_zoo_export_loads_and_matches_onnxruntime() {
    let text = std::fs::read_to_string(zoo_dir().join("expected.json")).expect("expected.json");
    let zoo: BTreeMap<String, Expected> = serde_json::from_str(&text).expect("valid expected.json");
    assert!(zoo.len() >= 50, "the zoo has {} models", zoo.len());
    let mut failures = Vec::new();
    let mut families = std::collections::BTreeSet::new();
    for (name, e) in &zoo {
        families.extend(e.ops.iter().cloned());
        let card = card_for(name, e);
        let graph = match Graph::load(&zoo_dir().join(format!("{name}.onnx")), &card) {
            Ok(g) => g,
            Err(err) => {
                failures.push(format!("{name}: {err:#}"));
                continue;
            }
        };
        let rows: Vec<Value> = e
            .rows
            .iter()
            .map(|r| Value::Object(r.iter().enumerate().map(|(i, v)| (format!("f{i}"), json!(v))).collect()))
            .collect();
        let matrix = FeatureSchema::from_card(&card).parse_batch(&rows, rows.len()).expect("rows parse");
        let output = graph.run(matrix).unwrap_or_else(|err| panic!("{name}: {err:#}"));
        match (output, &e.probabilities, &e.values) {
            (ModelOutput::Probabilities { data, classes }, Some(want), _) => {
                for (i, (got, want)) in data.chunks_exact(classes).zip(want).enumerate() {
                    let argmax = got.iter().enumerate().fold(0, |b, (k, v)| if *v > got[b] { k } else { b });
                    let label = e.labels.as_ref().expect("labels")[i];
                    if argmax as i64 != label {
                        failures.push(format!("{name} row {i}: label {argmax}, onnxruntime {label}"));
                    }
                    if got.iter().zip(want).any(|(g, w)| !close(f64::from(*g), *w)) {
                        failures.push(format!("{name} row {i}: {got:?} vs onnxruntime {want:?}"));
                    }
                }
            }
            (ModelOutput::Values(got), _, Some(want)) => {
                for (i, (g, w)) in got.iter().zip(want).enumerate() {
                    if !close(f64::from(*g), *w) {
                        failures.push(format!("{name} row {i}: {g} vs onnxruntime {w}"));
                    }
                }
            }
            _ => failures.push(format!("{name}: output of the wrong kind")),
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    for op in [
        "ai.onnx.ml:Scaler",
        "ai.onnx.ml:ZipMap",
        "ai.onnx.ml:TreeEnsembleClassifier",
        "ai.onnx.ml:TreeEnsembleRegressor",
    ] {
        assert!(families.contains(op), "the zoo never uses {op}");
    }
}

#[test]
fn an_operator_nothing_implements_fails_naming_the_op_the_node_and_the_file() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("weird.onnx");
    // The zoo's linear regressor with its operator renamed to one nobody implements.
    let mut bytes = std::fs::read(zoo_dir().join("diabetes_linear_op17.onnx")).expect("zoo model");
    let mut renamed = 0;
    while let Some(at) = bytes.windows(15).position(|w| w == b"LinearRegressor") {
        bytes[at..at + 15].copy_from_slice(b"FancyRegressorX");
        renamed += 1;
    }
    assert!(renamed >= 1, "the op type was not found");
    std::fs::write(&path, bytes).expect("write");
    let e: Expected = serde_json::from_value(json!({"input": "input", "rows": [vec![0.0; 10]], "outputs": ["variable"], "values": [0.0], "ops": []}))
        .expect("expected");

    let err = format!("{:#}", Graph::load(&path, &card_for("weird", &e)).expect_err("unsupported op"));

    assert!(err.contains("FancyRegressorX"), "{err}");
    assert!(err.contains("node"), "{err}");
}
