//! Golden parity: every shipped model's held-out rows through the API, against onnxruntime.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{models_dir, spawn_app};

#[derive(Deserialize)]
struct Golden {
    rows: Vec<GoldenRow>,
}

#[derive(Deserialize)]
struct GoldenRow {
    features: Value,
    label: Option<String>,
    probabilities: Option<Vec<f64>>,
    value: Option<f64>,
}

fn golden(model: &str) -> Golden {
    let path = models_dir().join(model).join("golden.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("Failed to read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden.json is valid")
}

/// `classes` in the card's order: a JSON object read back loses its key order.
fn check(model: &str, classes: &[String], expected: &GoldenRow, got: &Value) {
    if let Some(label) = &expected.label {
        assert_eq!(got["label"], json!(label), "{model}: label for {}", expected.features);
        let probs: Vec<f64> = classes
            .iter()
            .map(|c| got["probabilities"][c].as_f64().expect("a probability per class"))
            .collect();
        let want = expected.probabilities.as_ref().expect("golden probabilities");
        assert_eq!(probs.len(), want.len(), "{model}: one probability per class of the card");
        for (g, w) in probs.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-4,
                "{model}: probability {g} vs onnxruntime's {w} for {}",
                expected.features
            );
        }
    } else {
        let (g, w) = (got["value"].as_f64().expect("value"), expected.value.expect("golden value"));
        assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{model}: value {g} vs onnxruntime's {w}");
    }
}

async fn golden_parity(model: &str) {
    let app = spawn_app().await;
    let card = app.get_model(model).await.body;
    let golden = golden(model);
    let classifier = golden.rows.iter().any(|r| r.label.is_some());
    let classes: Vec<String> = match card["classes"].as_array() {
        Some(c) => c.iter().map(|v| v.as_str().expect("a class name").to_owned()).collect(),
        None => Vec::new(),
    };
    assert_eq!(classifier, !classes.is_empty(), "{model}: golden rows and card agree on the task");
    assert!(golden.rows.len() >= 30, "{model}: only {} golden rows", golden.rows.len());

    let instances: Vec<&Value> = golden.rows.iter().map(|r| &r.features).collect();
    let batch = app.post_model_batch(model, &json!({ "instances": instances })).await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    let predictions = batch.body["predictions"].as_array().expect("predictions");
    assert_eq!(predictions.len(), golden.rows.len());
    for (expected, got) in golden.rows.iter().zip(predictions) {
        check(model, &classes, expected, got);
    }
    for expected in golden.rows.iter().take(5) {
        let single = app.post_model_predict(model, &expected.features).await;
        assert_eq!(single.status, 200, "{}", single.body);
        check(model, &classes, expected, &single.body);
    }
}

#[tokio::test]
async fn every_shipped_model_matches_onnxruntime_on_every_golden_row() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(models_dir()).expect("models dir") {
        let path = entry.expect("entry").path();
        if path.join("golden.json").is_file() {
            let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
            golden_parity(&name).await;
            checked.push(name);
        }
    }
    checked.sort();
    assert_eq!(checked, ["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"]);
}

#[test]
fn every_shipped_model_has_a_golden_file() {
    let dirs = std::fs::read_dir(models_dir()).expect("models dir");
    for entry in dirs {
        let path = entry.expect("entry").path();
        if path.join("card.toml").is_file() {
            assert!(path.join("golden.json").is_file(), "{} has no golden.json", path.display());
        }
    }
}

#[test]
fn models_fed_one_float_matrix_skip_tracts_plan_and_the_rest_run_on_it() {
    let direct = |name: &str| {
        api::serving::ServedModel::load_dir(&models_dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"))
            .graph()
            .runs_direct()
    };

    // Scaler + normalizer + linear model, a linear regressor, tree ensembles:
    // the golden tests above then check these answers against onnxruntime.
    for name in ["iris", "diabetes", "wine", "cancer", "diabetes-trees"] {
        assert!(direct(name), "{name} should run on the direct evaluator");
    }
    // Text columns through encoders: tract's plan.
    for name in ["penguins", "cars"] {
        assert!(!direct(name), "{name} has text inputs");
    }
}
