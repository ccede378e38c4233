//! A graph with one input per column, of two types (a number and a text
//! category), served end to end: the fixture in `tests/fixtures/models/mixed`
//! answers `2 * size + 10 * code(colour) + 1` (red 0, green 1, blue 2, missing -1).

use api::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

async fn spawn_mixed() -> TestApp {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let mut settings = Settings::for_models_dir(dir);
    settings.default_model = "mixed".to_owned();
    spawn_app_with(settings).await
}

fn value(reply: &crate::helpers::Reply) -> f64 {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["value"].as_f64().expect("a value")
}

#[tokio::test]
async fn a_number_and_a_category_feed_their_own_graph_inputs() {
    let app = spawn_mixed().await;

    let green = app.post_model_predict("mixed", &json!({"size": 2, "colour": "green"})).await;
    let blue = app.post_predict(&json!({"colour": "blue", "size": 0.5})).await;

    assert_eq!(value(&green), 2.0 * 2.0 + 10.0 + 1.0);
    assert_eq!(value(&blue), 2.0 * 0.5 + 20.0 + 1.0);
}

#[tokio::test]
async fn a_missing_category_is_fed_as_missing_where_the_card_allows_it() {
    let app = spawn_mixed().await;

    let absent = app.post_predict(&json!({"size": 0.5})).await;
    let null = app.post_predict(&json!({"size": 0.5, "colour": null})).await;

    assert_eq!(value(&absent), 2.0 * 0.5 - 10.0 + 1.0);
    assert_eq!(value(&null), value(&absent));
}

#[tokio::test]
async fn an_unknown_category_is_a_422_listing_the_allowed_ones() {
    let app = spawn_mixed().await;

    let reply = app.post_predict(&json!({"size": 1, "colour": "purple"})).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "colour"]), "category".to_owned())]);
    assert_eq!(reply.body["errors"][0]["msg"], r#"must be one of "red", "green", "blue"; got "purple""#);
    assert_eq!(reply.body["errors"][0]["allowed"]["categories"], json!(["red", "green", "blue"]));
}

#[tokio::test]
async fn a_number_for_a_category_and_text_for_a_number_are_type_errors() {
    let app = spawn_mixed().await;

    let reply = app.post_predict(&json!({"size": "big", "colour": 3})).await;

    reply.assert_problem(422);
    let mut errors: Vec<(Value, Value, Value)> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["loc"].clone(), e["msg"].clone(), e["allowed"]["json_type"].clone()))
        .collect();
    errors.sort_by_key(|e| e.0.to_string());
    assert_eq!(
        errors,
        vec![
            (json!(["body", "colour"]), json!("must be a string, not a number"), json!("string")),
            (json!(["body", "size"]), json!("must be a JSON number, not a string"), json!("number")),
        ]
    );
}

#[tokio::test]
async fn a_batch_of_mixed_rows_answers_each_in_order() {
    let app = spawn_mixed().await;
    let rows =
        json!({"instances": [{"size": 1, "colour": "red"}, {"size": 1}, {"size": 3, "colour": "blue"}]});

    let reply = app.post_model_batch("mixed", &rows).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let values: Vec<f64> = reply.body["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, [3.0, -7.0, 27.0]);
}

#[tokio::test]
async fn the_signature_lists_each_input_with_its_type() {
    let app = spawn_mixed().await;

    let reply = app.get_model("mixed").await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["signature"]["inputs"],
        json!([
            {"name": "size", "dtype": "float32", "shape": [null, 1]},
            {"name": "colour", "dtype": "string", "shape": [null, 1]},
        ])
    );
    assert_eq!(reply.body["features"][1]["categories"], json!(["red", "green", "blue"]));
    assert_eq!(reply.body["features"][1]["missing"], "allowed");
}
