//! Explanations and what-if curves: every golden row's SHAP values against
//! the `shap` package's (computed by the training script), additivity, and
//! the errors of models and rows that cannot be explained.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{iris_row, models_dir, spawn_app};

#[derive(Deserialize)]
struct Golden {
    explainer: GoldenExplainer,
    rows: Vec<GoldenRow>,
}

#[derive(Deserialize)]
struct GoldenExplainer {
    method: String,
    background_rows: usize,
}

#[derive(Deserialize)]
struct GoldenRow {
    features: Value,
    explanation: GoldenExplanation,
}

#[derive(Deserialize)]
struct GoldenExplanation {
    space: String,
    class: Option<String>,
    base_value: f64,
    output: f64,
    contributions: serde_json::Map<String, Value>,
}

fn golden(model: &str) -> Golden {
    let path = models_dir().join(model).join("golden.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden.json has explanations")
}

/// Within 1e-4 of the reference, relative to the output's scale.
fn close(got: f64, want: f64, scale: f64) -> bool {
    (got - want).abs() <= 1e-4 * scale.max(1.0)
}

fn check(model: &str, row: usize, want: &GoldenExplanation, golden: &GoldenExplainer, got: &Value) {
    let at = format!("{model} row {row}: {got}");
    assert_eq!(got["method"], golden.method.as_str(), "{at}");
    assert_eq!(got["space"], want.space.as_str(), "{at}");
    assert_eq!(got["class"].as_str(), want.class.as_deref(), "{at}");
    assert_eq!(got["background_rows"], golden.background_rows, "{at}");
    let scale = want.output.abs().max(want.base_value.abs());
    let base = got["base_value"].as_f64().expect("base_value");
    let output = got["output"].as_f64().expect("output");
    assert!(close(base, want.base_value, scale), "base_value {base} vs {}: {at}", want.base_value);
    assert!(close(output, want.output, scale), "output {output} vs {}: {at}", want.output);
    let contributions = got["contributions"].as_array().expect("contributions");
    assert_eq!(contributions.len(), want.contributions.len(), "{at}");
    let mut sum = base;
    for c in contributions {
        let feature = c["feature"].as_str().expect("feature");
        let value = c["contribution"].as_f64().expect("contribution");
        let reference = want.contributions[feature].as_f64().expect("reference");
        assert!(close(value, reference, scale), "{feature}: {value} vs {reference}: {at}");
        sum += value;
    }
    assert!((sum - output).abs() <= 1e-5 * output.abs().max(1.0), "base + Σ = {sum}, output {output}: {at}");
}

#[tokio::test]
async fn every_golden_explanation_matches_the_shap_package_within_1e_4() {
    let app = spawn_app().await;
    let mut checked = Vec::new();
    for model in ["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"] {
        let golden = golden(model);
        for (i, chunk) in golden.rows.chunks(100).enumerate() {
            let instances: Vec<&Value> = chunk.iter().map(|r| &r.features).collect();
            let reply = app.post_explain_batch(model, &json!({ "instances": instances })).await;
            assert_eq!(reply.status, 200, "{model}: {}", reply.body);
            let explanations = reply.body["explanations"].as_array().expect("explanations");
            assert_eq!(explanations.len(), chunk.len());
            for (j, (row, got)) in chunk.iter().zip(explanations).enumerate() {
                check(model, i * 100 + j, &row.explanation, &golden.explainer, got);
            }
        }
        let first = &golden.rows[0];
        let single = app.post_explain(model, &first.features).await;
        assert_eq!(single.status, 200, "{}", single.body);
        check(model, 0, &first.explanation, &golden.explainer, &single.body["explanation"]);
        assert_eq!(single.body["prediction"]["model"], model);
        checked.push((model, golden.rows.len()));
    }
    assert!(checked.iter().all(|(_, n)| *n >= 20), "{checked:?}");
}

#[tokio::test]
async fn a_what_if_curve_sweeps_the_card_range_and_passes_through_the_rows_own_output() {
    let app = spawn_app().await;

    let reply = app.post_what_if("iris", "?features=petal_width", &iris_row()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let curves = reply.body["curves"].as_array().expect("curves");
    assert_eq!(curves.len(), 1);
    assert_eq!(curves[0]["feature"], "petal_width");
    assert_eq!(curves[0]["current"], 0.2);
    let points = curves[0]["points"].as_array().expect("points");
    assert_eq!(points.len(), 25);
    let card = app.get_model("iris").await.body;
    let spec =
        card["features"].as_array().expect("features").iter().find(|f| f["name"] == "petal_width").cloned();
    let spec = spec.expect("petal_width");
    assert_eq!(points[0]["value"], spec["min"]);
    assert_eq!(points[24]["value"], spec["max"]);
    let explained = app.post_explain("iris", &iris_row()).await;
    assert_eq!(reply.body["output"], explained.body["explanation"]["output"]);
    assert_eq!(reply.body["space"], "log_odds");
    assert_eq!(reply.body["class"], "setosa");
    let outputs: Vec<f64> = points.iter().map(|p| p["output"].as_f64().expect("output")).collect();
    assert!(outputs.first() > outputs.last(), "setosa grows less likely as petals widen: {outputs:?}");
}

#[tokio::test]
async fn a_what_if_over_a_text_category_gives_each_category_once() {
    let app = spawn_app().await;
    let row = json!({"island": "Biscoe", "bill_length_mm": 48.8, "bill_depth_mm": 16.2,
                     "flipper_length_mm": 222, "body_mass_g": 6000, "sex": "male"});

    let reply = app.post_what_if("penguins", "", &row).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let curves = reply.body["curves"].as_array().expect("curves");
    assert_eq!(curves.len(), 6, "every feature when none is named");
    let island = curves.iter().find(|c| c["feature"] == "island").expect("island");
    let values: Vec<&str> = island["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_str().expect("text"))
        .collect();
    assert_eq!(values, ["Biscoe", "Dream", "Torgersen"]);
    assert_eq!(island["current"], "Biscoe");
}

#[tokio::test]
async fn an_unknown_feature_to_sweep_is_a_422_naming_the_features() {
    let app = spawn_app().await;

    let reply = app.post_what_if("iris", "?features=petal_width,colour", &iris_row()).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"][0]["loc"], json!(["query", "features"]));
    let msg = reply.body["errors"][0]["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("colour") && msg.contains("sepal_length"), "{msg}");
}

#[tokio::test]
async fn explaining_a_bad_row_is_the_same_422_as_predicting_it() {
    let app = spawn_app().await;
    let mut row = iris_row();
    row["petal_width"] = json!(90);

    let explained = app.post_explain("iris", &row).await;
    let predicted = app.post_model_predict("iris", &row).await;

    explained.assert_problem(422);
    assert_eq!(explained.error_locs(), predicted.error_locs());
}

#[tokio::test]
async fn a_model_without_background_rows_is_a_409_saying_so() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let mut settings = api::config::Settings::for_models_dir(dir);
    settings.default_model = "mixed".to_owned();
    let app = crate::helpers::spawn_app_with(settings).await;

    let reply = app.post_explain("mixed", &json!({"size": 1, "colour": "red"})).await;

    reply.assert_problem(409);
    assert!(reply.body["detail"].as_str().unwrap_or_default().contains("background.csv"), "{}", reply.body);
}

#[test]
fn exact_coalitions_agree_with_treeshap_and_the_linear_closed_form_on_the_same_game() {
    for name in ["cars", "diabetes"] {
        let model = api::serving::ServedModel::load_dir(&models_dir().join(name)).expect("loads");
        let head = model.explainer().expect("explainable");
        let whole = head.over_coalitions(false);
        let golden = golden(name);
        let instances: Vec<&Value> = golden.rows.iter().take(3).map(|r| &r.features).collect();
        let body = serde_json::to_vec(&json!({ "instances": instances })).expect("json");
        let rows = api::input::json_v1::parse_batch(model.schema(), &body, 10).expect("rows");
        let classes = vec![None; rows.len()];

        let by_head = head.explain(model.graph(), model.schema(), &rows, &classes).expect("head");
        let by_coalitions =
            whole.explain(model.graph(), model.schema(), &rows, &classes).expect("coalitions");

        assert_eq!((by_head.len(), by_coalitions.len()), (rows.len(), rows.len()), "{name}");
        for (a, b) in by_head.iter().zip(&by_coalitions) {
            let scale = a.output.abs().max(1.0);
            // The whole graph runs in f32; the head's sums in f64.
            assert!((a.output - b.output).abs() < 1e-5 * scale, "{name}: {a:?} vs {b:?}");
            assert!((a.base_value - b.base_value).abs() < 1e-5 * scale, "{name}: {a:?} vs {b:?}");
            assert_eq!(a.contributions.len(), b.contributions.len(), "{name}: one per feature");
            for (x, y) in a.contributions.iter().zip(&b.contributions) {
                assert!((x - y).abs() < 1e-4 * scale, "{name}: {a:?} vs {b:?}");
            }
        }
    }
}
