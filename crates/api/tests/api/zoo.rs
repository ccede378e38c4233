//! Any model a user brings, with no card: every export of the three zoos
//! (scikit-learn models, DataFrame pipelines, the gradient-boosting
//! libraries) dropped into one models directory, served from what its graph
//! says, answering each row as onnxruntime did over JSON batches and the
//! Open Inference Protocol, and refusing with a 422 each row onnxruntime
//! refuses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use api::config::Settings;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, spawn_app_with};

const SETS: [&str; 3] = ["zoo", "pipelines", "gbm"];

fn set_dir(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../onnx-ml/tests").join(set)
}

fn expected(set: &str) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(set_dir(set).join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

/// The model name a zoo export is served under.
fn served_name(set: &str, name: &str) -> String {
    format!("{set}-{name}").replace('_', "-")
}

/// One graph input as the zoo declares it: name, element type, columns.
struct Input {
    name: String,
    elem: String,
    width: usize,
}

fn inputs(e: &Value) -> Vec<Input> {
    match e.get("inputs").and_then(Value::as_array) {
        Some(inputs) => inputs
            .iter()
            .map(|i| Input {
                name: i["name"].as_str().expect("name").to_owned(),
                elem: i["type"].as_str().expect("type").to_owned(),
                width: i["shape"].get(1).and_then(Value::as_u64).unwrap_or(1) as usize,
            })
            .collect(),
        // The model zoo: one float matrix.
        None => {
            let width = e["rows"][0].as_array().map_or(1, Vec::len);
            vec![Input {
                name: e["input"].as_str().expect("input").to_owned(),
                elem: "float".to_owned(),
                width,
            }]
        }
    }
}

/// Each row's value of `input`: one cell per column.
fn cells(e: &Value, input: &Input) -> Vec<Vec<Value>> {
    let column = match &e["rows"] {
        Value::Array(rows) => rows.clone(),
        Value::Object(columns) => columns[&input.name].as_array().expect("a column").clone(),
        other => panic!("rows: {other}"),
    };
    column
        .into_iter()
        .map(|v| match v {
            Value::Array(cells) => cells,
            cell => vec![cell],
        })
        .collect()
}

/// The rows as JSON instances: the columns of a lone matrix input are
/// `f0…`, any other input is named as the graph names it; null is missing.
fn instances(e: &Value) -> Vec<Value> {
    let inputs = inputs(e);
    let matrix = inputs.len() == 1 && inputs[0].width > 1;
    let columns: Vec<Vec<Vec<Value>>> = inputs.iter().map(|i| cells(e, i)).collect();
    let n = columns.first().map_or(0, Vec::len);
    (0..n)
        .map(|r| {
            let mut row = serde_json::Map::new();
            for (input, column) in inputs.iter().zip(&columns) {
                if matrix {
                    for (c, cell) in column[r].iter().enumerate() {
                        row.insert(format!("f{c}"), cell.clone());
                    }
                } else {
                    row.insert(input.name.clone(), column[r][0].clone());
                }
            }
            Value::Object(row)
        })
        .collect()
}

/// The rows as an Open Inference Protocol request: one tensor per graph
/// input, JSON null where a value is missing.
fn v2_request(e: &Value) -> Value {
    let tensors: Vec<Value> = inputs(e)
        .iter()
        .map(|input| {
            let rows = cells(e, input);
            let datatype = match input.elem.as_str() {
                "string" => "BYTES",
                "int64" => "INT64",
                "double" => "FP64",
                _ => "FP32",
            };
            let data: Vec<Value> = rows.into_iter().flatten().collect();
            json!({"name": input.name, "datatype": datatype, "shape": [data.len() / input.width, input.width], "data": data})
        })
        .collect();
    json!({ "inputs": tensors })
}

/// Within 1e-5, relative above 1.
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

/// What one export's answers came to.
#[derive(Default)]
struct Tally {
    rows: usize,
    worst: f64,
    problems: Vec<String>,
}

impl Tally {
    fn compare(&mut self, what: &str, i: usize, got: f64, want: f64) {
        self.worst = self.worst.max((got - want).abs() / want.abs().max(1.0));
        if !close(got, want) {
            self.problems.push(format!("{what} row {i}: {got} vs onnxruntime {want}"));
        }
    }
}

/// Checks a JSON batch answer against onnxruntime's answers.
fn check_batch(tally: &mut Tally, e: &Value, classes: &[String], answer: &Value) {
    let predictions = answer["predictions"].as_array().cloned().unwrap_or_default();
    tally.rows += predictions.len();
    if let Some(values) = e.get("values").and_then(Value::as_array) {
        if predictions.len() != values.len() {
            tally.problems.push(format!("{} values for {} rows", predictions.len(), values.len()));
        }
        for (i, (p, want)) in predictions.iter().zip(values).enumerate() {
            tally.compare(
                "json value",
                i,
                p["value"].as_f64().unwrap_or(f64::NAN),
                want.as_f64().unwrap_or(f64::NAN),
            );
        }
        return;
    }
    let labels = e["labels"].as_array().cloned().unwrap_or_default();
    let probabilities = e["probabilities"].as_array().cloned().unwrap_or_default();
    if predictions.len() != labels.len() {
        tally.problems.push(format!("{} predictions for {} rows", predictions.len(), labels.len()));
    }
    for (i, ((p, label), want)) in predictions.iter().zip(&labels).zip(&probabilities).enumerate() {
        let label = label.as_str().map_or_else(|| label.to_string(), str::to_owned);
        let want = want.as_array().expect("probabilities");
        // A label decided by a tie within float noise may go either way.
        let tied = {
            let mut sorted: Vec<f64> = want.iter().filter_map(Value::as_f64).collect();
            sorted.sort_by(|a, b| b.total_cmp(a));
            sorted.len() > 1 && sorted[0] - sorted[1] < 1e-6
        };
        if p["label"] != json!(label) && !tied {
            tally.problems.push(format!("row {i}: label {} vs onnxruntime {label}", p["label"]));
        }
        if classes.len() != want.len() {
            tally.problems.push(format!(
                "row {i}: {} classes vs onnxruntime's {}",
                classes.len(),
                want.len()
            ));
            continue;
        }
        for (class, w) in classes.iter().zip(want) {
            let g = p["probabilities"][class].as_f64().unwrap_or(f64::NAN);
            tally.compare("json probability", i, g, w.as_f64().unwrap_or(f64::NAN));
        }
    }
}

/// Checks a V2 answer's float output against onnxruntime's answers.
fn check_v2(tally: &mut Tally, e: &Value, answer: &Value) {
    let want: Vec<f64> = match (e.get("values"), e.get("probabilities")) {
        (Some(Value::Array(v)), _) => v.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect(),
        (_, Some(Value::Array(p))) => p
            .iter()
            .flat_map(|r| r.as_array().cloned().unwrap_or_default())
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect(),
        _ => Vec::new(),
    };
    let outputs = answer["outputs"].as_array().cloned().unwrap_or_default();
    let Some(floats) = outputs.iter().find(|o| o["datatype"] == "FP32") else {
        return tally.problems.push(format!("v2: no float output in {answer}"));
    };
    let got: Vec<f64> = floats["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect();
    if got.len() != want.len() {
        return tally.problems.push(format!("v2: {} values for onnxruntime's {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        tally.compare("v2", i, *g, *w);
    }
}

#[tokio::test]
async fn every_zoo_export_is_served_with_no_card_and_answers_as_onnxruntime() {
    let dir = TempDir::new().expect("temp dir");
    let mut all = Vec::new();
    for set in SETS {
        for (name, e) in expected(set) {
            std::fs::copy(
                set_dir(set).join(format!("{name}.onnx")),
                dir.path().join(format!("{}.onnx", served_name(set, &name))),
            )
            .expect("copy");
            all.push((set, name, e));
        }
    }
    let settings = Settings::from_args([
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.path().display()),
        "--models-watch=off".to_owned(),
        format!("--default-model={}", served_name(all[0].0, &all[0].1)),
    ])
    .expect("settings");
    let app = spawn_app_with(settings).await;

    let ready = app.get_ready().await;
    assert_eq!(ready.body["failures"], json!([]), "every export loads");
    let mut report = String::new();
    let mut problems = Vec::new();
    let mut refused_rows = 0;
    for (set, name, e) in &all {
        let model = served_name(set, name);
        let card = app.get_model(&model).await.body;
        let classes: Vec<String> = card["classes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let mut tally = Tally::default();

        let batch = app.post_model_batch(&model, &json!({ "instances": instances(e) })).await;
        if batch.status == 200 {
            check_batch(&mut tally, e, &classes, &batch.body);
        } else {
            tally.problems.push(format!("batch: {} {}", batch.status, batch.body));
        }
        let v2 = app.post_v2_infer(&model, serde_json::to_vec(&v2_request(e)).expect("json"), &[]).await;
        if v2.status == 200 {
            check_v2(&mut tally, e, &v2.body);
        } else {
            tally.problems.push(format!("v2: {} {}", v2.status, v2.body));
        }
        for bad in e.get("error_rows").and_then(Value::as_array).into_iter().flatten() {
            let reply = app.post_model_predict(&model, &bad["inputs"]).await;
            if reply.status == 422 {
                refused_rows += 1;
            } else {
                tally
                    .problems
                    .push(format!("a row onnxruntime refuses gave {}: {}", reply.status, bad["inputs"]));
            }
        }
        let library = e.get("library").and_then(Value::as_str).unwrap_or(match *set {
            "pipelines" => "sklearn-pipeline",
            _ => "sklearn",
        });
        let task = if e.get("values").is_some() { "regression" } else { "classification" };
        let _ = writeln!(
            report,
            "| {set} | `{name}` | {library} | {task} | {} | {:.1e} |",
            tally.rows, tally.worst
        );
        problems.extend(tally.problems.into_iter().map(|p| format!("{set}/{name}: {p}")));
    }
    // The table docs/zoo.md shows, kept with the build's other outputs.
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/zoo-report.md");
    let _ = std::fs::write(
        &out,
        format!(
            "| set | export | library | task | rows | worst relative error |\n|---|---|---|---|---:|---:|\n{report}"
        ),
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(all.len() >= 230, "{} exports", all.len());
    assert!(refused_rows >= 10, "{refused_rows} rows onnxruntime refuses were refused");
}

/// What a user sees when an export's graph takes an integer: integers, by the features' names.
#[tokio::test]
async fn an_integer_column_is_served_with_no_card_taking_whole_numbers_only() {
    let dir = TempDir::new().expect("temp dir");
    let name = "penguins_icols_std_ohe_hgb_op15";
    std::fs::copy(set_dir("pipelines").join(format!("{name}.onnx")), dir.path().join("penguins.onnx"))
        .expect("copy");
    let app = serve(&dir).await;

    let card = app.get_model("penguins").await.body;
    let year = card["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["name"] == "year")
        .expect("year")
        .clone();
    let row = |year: Value| json!({"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181, "body_mass_g": 3750, "year": year, "island": "Torgersen", "sex": "male"});
    let whole = app.post_model_predict("penguins", &row(json!(2007))).await;
    let half = app.post_model_predict("penguins", &row(json!(2007.5))).await;

    assert_eq!(year["integer"], true, "{year}");
    assert_eq!(whole.status, 200, "{}", whole.body);
    half.assert_problem(422);
    assert_eq!(
        half.body["errors"][0]["msg"],
        "must be a whole number (the model takes integers); got 2007.5"
    );
}

async fn serve(dir: &TempDir) -> TestApp {
    let settings = Settings::from_args([
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.path().display()),
        "--models-watch=off".to_owned(),
        "--default-model=penguins".to_owned(),
    ])
    .expect("settings");
    spawn_app_with(settings).await
}
