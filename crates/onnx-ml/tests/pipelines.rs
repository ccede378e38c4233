//! The pipeline zoo: scikit-learn DataFrame pipelines (imputers, scalers,
//! encoders, discretizers; linear, forest and boosting heads) exported with
//! skl2onnx by `models/train/zoo.py`, one input per column (float, int64,
//! text) or one matrix, run through tract with our operators and compared
//! with onnxruntime's answers — labels equal, values within 1e-5 — and
//! failing where onnxruntime fails (an unknown category with `zeros = 0`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use onnx_ml::{ElemType, Signature};
use serde::Deserialize;
use serde_json::Value;
use tract_onnx::prelude::*;

#[derive(Deserialize)]
struct Expected {
    rows: BTreeMap<String, Vec<Value>>,
    outputs: Vec<String>,
    labels: Option<Vec<Value>>,
    probabilities: Option<Vec<Vec<f64>>>,
    values: Option<Vec<f64>>,
    ops: Vec<String>,
    #[serde(default)]
    error_rows: Vec<ErrorRow>,
}

#[derive(Deserialize)]
struct ErrorRow {
    inputs: BTreeMap<String, Value>,
}

fn dir() -> PathBuf {
    set_dir("pipelines")
}

fn set_dir(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join(set)
}

/// One column of values (rows × width), as the input's type wants them;
/// JSON null is a missing value: NaN, or "" for text.
fn tensor(elem: ElemType, width: usize, rows: &[Value]) -> TractResult<Tensor> {
    let n = rows.len();
    let flat: Vec<&Value> = rows
        .iter()
        .flat_map(|r| match r {
            Value::Array(cells) => cells.iter().collect::<Vec<_>>(),
            cell => vec![cell],
        })
        .collect();
    let shape = [n, width];
    Ok(match elem {
        ElemType::F32 => Tensor::from_shape(
            &shape,
            &flat.iter().map(|v| v.as_f64().map_or(f32::NAN, |x| x as f32)).collect::<Vec<_>>(),
        )?,
        ElemType::I64 => Tensor::from_shape(
            &shape,
            &flat.iter().map(|v| v.as_i64().unwrap_or(i64::MIN)).collect::<Vec<_>>(),
        )?,
        ElemType::String => tract_ndarray::ArrayD::from_shape_vec(
            &shape[..],
            flat.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect::<Vec<String>>(),
        )?
        .into(),
        other => anyhow::bail!("input type {other:?}"),
    })
}

fn run(
    path: &std::path::Path,
    signature: &Signature,
    rows: &BTreeMap<String, Vec<Value>>,
) -> TractResult<TVec<TValue>> {
    let mut model = onnx_ml::onnx().model_for_path(path)?;
    let n = model.symbols.sym("N");
    let mut inputs = tvec![];
    for (i, input) in signature.inputs.iter().enumerate() {
        let width = input.shape.as_ref().and_then(|s| s.get(1)).and_then(|d| d.fixed()).unwrap_or(1) as usize;
        let dt = match input.elem {
            ElemType::F32 => f32::datum_type(),
            ElemType::I64 => i64::datum_type(),
            ElemType::String => String::datum_type(),
            other => anyhow::bail!("input type {other:?}"),
        };
        model.set_input_fact(
            i,
            InferenceFact::dt_shape(dt, tvec![TDim::from(n.clone()), TDim::from(width)]),
        )?;
        let column = rows.get(&input.name).ok_or_else(|| anyhow::anyhow!("no rows for {}", input.name))?;
        inputs.push(tensor(input.elem, width, column)?.into());
    }
    model.into_optimized()?.into_runnable()?.run(inputs)
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

fn label_text(v: &TValue, i: usize) -> String {
    if let Ok(s) = v.to_plain_array_view::<String>() {
        return s.iter().nth(i).cloned().unwrap_or_default();
    }
    let ints = v.cast_to::<i64>().expect("integer labels");
    ints.to_plain_array_view::<i64>()
        .expect("labels")
        .iter()
        .nth(i)
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn every_pipeline_export_runs_and_matches_onnxruntime_or_fails_where_it_fails() {
    let ops = check_exports("pipelines", 100);
    for op in ["OneHotEncoder", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor", "Scaler"] {
        assert!(ops.contains(&format!("ai.onnx.ml:{op}")), "the pipeline zoo never uses {op}");
    }
}

#[test]
fn every_gradient_boosting_export_runs_and_matches_onnxruntime() {
    let ops = check_exports("gbm", 60);
    for op in ["TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble", "ZipMap"] {
        assert!(ops.contains(&format!("ai.onnx.ml:{op}")), "the gradient-boosting zoo never uses {op}");
    }
}

/// Runs every export of the set `set` on its rows and compares with
/// onnxruntime's answers; a row onnxruntime refuses must be refused. Gives
/// every operator the set uses.
fn check_exports(set: &str, at_least: usize) -> std::collections::BTreeSet<String> {
    let dir = set_dir(set);
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    let zoo: BTreeMap<String, Expected> = serde_json::from_str(&text).expect("valid expected.json");
    assert!(zoo.len() >= at_least, "the {set} zoo has {} models", zoo.len());
    let mut failures = Vec::new();
    let mut ops = std::collections::BTreeSet::new();
    for (name, e) in &zoo {
        let path = dir.join(format!("{name}.onnx"));
        let signature = Signature::inspect(&path).expect("a signature");
        ops.extend(signature.operators.iter().cloned());
        assert_eq!(signature.operators, e.ops, "{name}");
        let outputs = match run(&path, &signature, &e.rows) {
            Ok(outputs) => outputs,
            Err(err) => {
                failures.push(format!("{name}: {err:#}"));
                continue;
            }
        };
        let by_name =
            |wanted: &str| signature.outputs.iter().position(|o| o.name == wanted).map(|i| &outputs[i]);
        if let (Some(labels), Some(probabilities)) = (&e.labels, &e.probabilities) {
            let got_labels = by_name(&e.outputs[0]).expect("a label output");
            let got = by_name(&e.outputs[1])
                .expect("a probability output")
                .cast_to::<f32>()
                .expect("floats")
                .into_owned();
            let got: Vec<f32> = got.to_plain_array_view::<f32>().expect("scores").iter().copied().collect();
            for (i, (want_label, want)) in labels.iter().zip(probabilities).enumerate() {
                let want_label = want_label.as_str().map_or_else(|| want_label.to_string(), str::to_owned);
                if label_text(got_labels, i) != want_label {
                    failures.push(format!(
                        "{name} row {i}: label {} vs onnxruntime {want_label}",
                        label_text(got_labels, i)
                    ));
                }
                let row = &got[i * want.len()..(i + 1) * want.len()];
                if row.iter().zip(want).any(|(g, w)| !close(f64::from(*g), *w)) {
                    failures.push(format!("{name} row {i}: {row:?} vs onnxruntime {want:?}"));
                }
            }
        } else if let Some(values) = &e.values {
            let got = by_name(&e.outputs[0])
                .expect("a value output")
                .cast_to::<f32>()
                .expect("floats")
                .into_owned();
            let got: Vec<f32> = got.to_plain_array_view::<f32>().expect("values").iter().copied().collect();
            for (i, (g, w)) in got.iter().zip(values).enumerate() {
                if !close(f64::from(*g), *w) {
                    failures.push(format!("{name} row {i}: {g} vs onnxruntime {w}"));
                }
            }
        }
        for bad in &e.error_rows {
            let rows: BTreeMap<String, Vec<Value>> =
                bad.inputs.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect();
            if run(&path, &signature, &rows).is_ok() {
                failures.push(format!("{name}: a row onnxruntime refuses ran: {:?}", bad.inputs));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    ops
}

/// What onnxruntime does with a missing or unseen value of each input, as
/// `models/train/zoo.py` measured it.
#[derive(Deserialize)]
struct Measured {
    inputs: Vec<InputDecl>,
    #[serde(default)]
    missing_ok: Option<Vec<String>>,
    #[serde(default)]
    missing_differs: Vec<String>,
    #[serde(default)]
    unknown_ok: Vec<String>,
}

#[derive(Deserialize)]
struct InputDecl {
    name: String,
    #[serde(rename = "type")]
    elem: String,
}

#[test]
fn the_contract_read_from_each_graph_accepts_what_onnxruntime_answers_and_nothing_else() {
    let text = std::fs::read_to_string(dir().join("expected.json")).expect("expected.json");
    let zoo: BTreeMap<String, Measured> = serde_json::from_str(&text).expect("valid expected.json");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, e) in &zoo {
        let Some(missing_ok) = &e.missing_ok else { continue };
        let signature = Signature::inspect(&dir().join(format!("{name}.onnx"))).expect("a signature");
        for (input, contract) in signature.inputs.iter().zip(&signature.contracts) {
            assert_eq!(input.name, contract.name);
            let missing = contract.columns.iter().all(|c| c.missing.accepted());
            let sklearn = missing_ok.contains(&input.name);
            let onnxruntime_only = e.missing_differs.contains(&input.name);
            if sklearn && !missing {
                let why: Vec<String> = contract
                    .columns
                    .iter()
                    .filter_map(|c| match &c.missing {
                        onnx_ml::Verdict::Refused(why) => Some(why.clone()),
                        onnx_ml::Verdict::Accepted => None,
                    })
                    .collect();
                problems
                    .push(format!("{name}: {} takes a missing value but is refused: {why:?}", input.name));
            }
            if missing && !sklearn && !onnxruntime_only {
                problems
                    .push(format!("{name}: {} does not take a missing value but is accepted", input.name));
            }
            let declared = e.inputs.iter().find(|i| i.name == input.name).expect("declared");
            if declared.elem == "string" {
                let unseen = contract.columns.iter().all(|c| c.unseen.accepted());
                if unseen != e.unknown_ok.contains(&input.name) {
                    problems.push(format!("{name}: {} unseen category accepted = {unseen}", input.name));
                }
                if contract.columns.iter().any(|c| !matches!(c.keys, Some(onnx_ml::Keys::Strings(_)))) {
                    problems.push(format!("{name}: {} lists no categories", input.name));
                }
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(checked > 500, "{checked} inputs checked");
}

#[test]
fn inspect_reads_the_shipped_cards_categories_and_missing_values_from_the_graphs() {
    let mut checked = 0;
    for name in ["penguins", "cars"] {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models").join(name).join("model.onnx");
        let signature = Signature::inspect(&path).expect("inspect");
        let card = std::fs::read_to_string(path.with_file_name("card.toml")).expect("card");
        let card: toml::Value = toml::from_str(&card).expect("toml");
        for feature in card["features"].as_array().expect("features") {
            let name_of = feature["name"].as_str().expect("name");
            let at = signature.inputs.iter().position(|i| i.name == name_of).expect("an input per feature");
            let column = &signature.contracts[at].columns[0];
            let categories = feature.get("categories").map(|c| {
                c.as_array()
                    .expect("list")
                    .iter()
                    .map(|v| v.as_str().expect("text").to_owned())
                    .collect::<Vec<_>>()
            });
            let keys = match &column.keys {
                Some(onnx_ml::Keys::Strings(k)) => Some(k.clone()),
                _ => None,
            };
            assert_eq!(keys, categories, "{name}: {feature}");
            let allowed = |key: &str| feature.get(key).and_then(|v| v.as_str()) == Some("allowed");
            assert_eq!(column.missing.accepted(), allowed("missing"), "{name}: {feature}");
            if categories.is_some() {
                assert_eq!(column.unseen.accepted(), allowed("unknown"), "{name}: {feature}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 13, "six penguins and seven cars features");
}
