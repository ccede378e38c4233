//! The compatibility zoo: 60 default scikit-learn exports (made by
//! `models/train/zoo.py`) read with [`Signature::inspect`] alone — no card —
//! run through tract with our operators, and compared with the answers
//! onnxruntime gave at export time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use onnx_ml::{ElemType, Signature};
use serde::Deserialize;
use tract_onnx::prelude::*;

#[derive(Deserialize)]
struct Expected {
    rows: Vec<Vec<f64>>,
    labels: Option<Vec<i64>>,
    probabilities: Option<Vec<Vec<f64>>>,
    values: Option<Vec<f64>>,
    ops: Vec<String>,
}

fn zoo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/zoo")
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

/// Runs `path` on `rows` as the signature says: one float input of
/// `[N, features]`; answers every output, in graph order.
fn run(path: &std::path::Path, signature: &Signature, rows: &[Vec<f64>]) -> TractResult<TVec<TValue>> {
    let input = &signature.inputs[0];
    let width = input.shape.as_ref().and_then(|s| s.get(1)).and_then(|d| d.fixed()).unwrap_or(0) as usize;
    if width != rows[0].len() {
        anyhow::bail!("the graph takes {width} features; the rows have {}", rows[0].len());
    }
    let mut model = onnx_ml::onnx().model_for_path(path)?;
    let n = model.symbols.sym("N");
    model.set_input_fact(0, f32::fact(tvec![TDim::from(n), TDim::from(width)]).into())?;
    let plan = model.into_optimized()?.into_runnable()?;
    let data: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    plan.run(tvec!(Tensor::from_shape(&[rows.len(), width], &data)?.into()))
}

#[test]
fn every_zoo_export_is_inspected_loaded_and_matches_onnxruntime() {
    let text = std::fs::read_to_string(zoo_dir().join("expected.json")).expect("expected.json");
    let zoo: BTreeMap<String, Expected> = serde_json::from_str(&text).expect("valid expected.json");
    assert!(zoo.len() >= 50, "the zoo has {} models", zoo.len());
    let mut failures = Vec::new();
    let mut families = std::collections::BTreeSet::new();
    for (name, e) in &zoo {
        let path = zoo_dir().join(format!("{name}.onnx"));
        let signature = Signature::inspect(&path).expect("every zoo file has a signature");
        families.extend(signature.operators.iter().cloned());
        assert_eq!(signature.operators, e.ops, "{name}: the operators inspect reads");
        assert_eq!(signature.inputs.len(), 1, "{name}: one float matrix input");
        assert_eq!(signature.inputs[0].elem, ElemType::F32, "{name}");
        let outputs = match run(&path, &signature, &e.rows) {
            Ok(outputs) => outputs,
            Err(err) => {
                failures.push(format!("{name}: {err:#}"));
                continue;
            }
        };
        match (&e.probabilities, &e.values) {
            (Some(want), _) => {
                let classes = signature.class_labels.as_ref().map(|l| l.len());
                assert_eq!(classes, Some(want[0].len()), "{name}: inspect reads one label per class");
                let labels = outputs[0].cast_to::<i64>().expect("integer labels");
                let labels: Vec<i64> =
                    labels.to_plain_array_view::<i64>().expect("labels").iter().copied().collect();
                let probabilities = outputs[1].cast_to::<f32>().expect("float scores");
                let probabilities: Vec<f32> =
                    probabilities.to_plain_array_view::<f32>().expect("scores").iter().copied().collect();
                for (i, (got, want)) in probabilities.chunks_exact(want[0].len()).zip(want).enumerate() {
                    let label = e.labels.as_ref().expect("labels")[i];
                    if labels[i] != label {
                        failures.push(format!("{name} row {i}: label {}, onnxruntime {label}", labels[i]));
                    }
                    if got.iter().zip(want).any(|(g, w)| !close(f64::from(*g), *w)) {
                        failures.push(format!("{name} row {i}: {got:?} vs onnxruntime {want:?}"));
                    }
                }
            }
            (None, Some(want)) => {
                let values = outputs[0].cast_to::<f32>().expect("float values");
                let values: Vec<f32> =
                    values.to_plain_array_view::<f32>().expect("values").iter().copied().collect();
                for (i, (g, w)) in values.iter().zip(want).enumerate() {
                    if !close(f64::from(*g), *w) {
                        failures.push(format!("{name} row {i}: {g} vs onnxruntime {w}"));
                    }
                }
            }
            (None, None) => failures.push(format!("{name}: expected.json has no answers")),
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
fn inspect_reads_a_classifiers_labels_and_the_declared_shapes() {
    let signature = Signature::inspect(&zoo_dir().join("iris_forest_default_op17.onnx")).expect("inspect");

    assert_eq!(signature.inputs[0].name, "input");
    let shape = signature.inputs[0].shape.clone().expect("a declared shape");
    assert_eq!(shape.len(), 2);
    assert_eq!(shape[1].fixed(), Some(4));
    assert_eq!(signature.class_labels.map(|l| l.names()), Some(vec!["0".into(), "1".into(), "2".into()]));
    let names: Vec<&str> = signature.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["output_label", "output_probability"]);
    assert_eq!(signature.outputs[1].elem, ElemType::NotATensor, "ZipMap gives a sequence of maps");
}

#[test]
fn an_operator_nothing_implements_is_named_with_its_node() {
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

    let model = onnx_ml::onnx().model_for_path(&path).expect("parses: unknown ops are placeholders");
    let missing = onnx_ml::unsupported_operators(&model);

    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].starts_with("FancyRegressorX (node "), "{missing:?}");
    let signature = Signature::inspect(&path).expect("inspect");
    assert!(
        signature.operators.contains(&"ai.onnx.ml:FancyRegressorX".to_owned()),
        "{:?}",
        signature.operators
    );
}
