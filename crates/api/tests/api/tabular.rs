//! Real tabular pipelines (the shipped `penguins` and `cars`: imputers,
//! scalers, one-hot encoders over text columns, one graph input per column)
//! through each wire format: a row with a text category and a missing value
//! predicts; an unknown category is refused with the allowed ones listed, or
//! accepted where the encoder ignores unknowns.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn penguin() -> Value {
    json!({"island": "Biscoe", "bill_length_mm": 48.8, "bill_depth_mm": 16.2, "flipper_length_mm": 222,
           "body_mass_g": 6000, "sex": null})
}

async fn probabilities(app: &TestApp, row: &Value) -> Vec<f64> {
    let reply = app.post_model_predict("penguins", row).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    ["Adelie", "Chinstrap", "Gentoo"]
        .iter()
        .map(|c| reply.body["probabilities"][c].as_f64().expect("p"))
        .collect()
}

#[tokio::test]
async fn a_text_category_and_a_missing_value_predict_over_json() {
    let app = spawn_app().await;

    let reply = app.post_model_predict("penguins", &penguin()).await;
    let mut absent = penguin();
    absent.as_object_mut().expect("object").remove("sex");

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["label"], "Gentoo");
    assert_eq!(probabilities(&app, &absent).await, probabilities(&app, &penguin()).await, "no key is null");
}

#[tokio::test]
async fn an_unknown_island_is_accepted_where_the_encoder_ignores_unknowns() {
    let app = spawn_app().await;
    let mut row = penguin();
    row["island"] = json!("Atlantis");

    let reply = app.post_model_predict("penguins", &row).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_number_where_a_category_belongs_is_refused_naming_the_categories() {
    let app = spawn_app().await;
    let mut row = penguin();
    row["sex"] = json!(1);

    let reply = app.post_model_predict("penguins", &row).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"][0]["loc"], json!(["body", "sex"]));
    assert_eq!(reply.body["errors"][0]["allowed"]["categories"], json!(["female", "male"]));
}

#[tokio::test]
async fn a_row_with_a_text_category_and_missing_values_predicts_over_v2_as_over_json() {
    let app = spawn_app().await;
    let body = json!({"inputs": [
        {"name": "island", "shape": [1, 1], "datatype": "BYTES", "data": ["Biscoe"]},
        {"name": "bill_length_mm", "shape": [1], "datatype": "FP32", "data": [48.8]},
        {"name": "bill_depth_mm", "shape": [1, 1], "datatype": "FP64", "data": [16.2]},
        {"name": "flipper_length_mm", "shape": [1], "datatype": "INT32", "data": [222]},
        {"name": "body_mass_g", "shape": [1], "datatype": "INT64", "data": [6000]},
        {"name": "sex", "shape": [1], "datatype": "BYTES", "data": [""]}
    ]});

    let reply = app.post_v2_infer("penguins", body.to_string().into_bytes(), &[]).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["outputs"][0],
        json!({"name": "label", "datatype": "BYTES", "shape": [1], "data": ["Gentoo"]})
    );
    let v2: Vec<f64> = reply.body["outputs"][1]["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p.as_f64().expect("p"))
        .collect();
    assert_eq!(v2, probabilities(&app, &penguin()).await);
}

#[tokio::test]
async fn a_feature_left_out_of_a_v2_request_is_missing_where_allowed() {
    let app = spawn_app().await;
    let body = json!({"inputs": [
        {"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Biscoe"]},
        {"name": "bill_length_mm", "shape": [1], "datatype": "FP32", "data": [48.8]},
        {"name": "bill_depth_mm", "shape": [1], "datatype": "FP32", "data": [16.2]},
        {"name": "flipper_length_mm", "shape": [1], "datatype": "FP32", "data": [222]},
        {"name": "body_mass_g", "shape": [1], "datatype": "FP32", "data": ["heavy"]}
    ]});

    let reply = app.post_v2_infer("penguins", body.to_string().into_bytes(), &[]).await;

    assert_eq!(reply.status, 400, "a string in a float tensor: {}", reply.body);
    let body = json!({"inputs": [
        {"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Biscoe"]},
        {"name": "bill_length_mm", "shape": [1], "datatype": "FP32", "data": [48.8]}
    ]});
    let sparse = app.post_v2_infer("penguins", body.to_string().into_bytes(), &[]).await;
    assert_eq!(sparse.status, 200, "{}", sparse.body);
}

#[tokio::test]
async fn a_bare_nan_as_python_clients_write_it_is_a_missing_value_and_infinity_is_refused() {
    let app = spawn_app().await;
    // Python's json writes these bare tokens; a string holding one stays text.
    let body = |island: &str, mass: &str| {
        format!(
            r#"{{"inputs": [
            {{"name": "island", "shape": [1], "datatype": "BYTES", "data": [{island}]}},
            {{"name": "bill_length_mm", "shape": [1], "datatype": "FP32", "data": [48.8]}},
            {{"name": "body_mass_g", "shape": [1], "datatype": "FP32", "data": [{mass}]}}]}}"#
        )
        .into_bytes()
    };
    let sparse = json!({"inputs": [
        {"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Biscoe"]},
        {"name": "bill_length_mm", "shape": [1], "datatype": "FP32", "data": [48.8]}
    ]});

    let nan = app.post_v2_infer("penguins", body(r#""Biscoe""#, "NaN"), &[]).await;
    let quoted = app.post_v2_infer("penguins", body(r#""Biscoe""#, r#""a \"NaN\" b""#), &[]).await;
    let infinity = app.post_v2_infer("penguins", body(r#""Biscoe""#, "-Infinity"), &[]).await;
    let sparse = app.post_v2_infer("penguins", sparse.to_string().into_bytes(), &[]).await;

    assert_eq!(nan.status, 200, "{}", nan.body);
    assert_eq!(nan.body["outputs"], sparse.body["outputs"]);
    assert_eq!(quoted.status, 400, "{}", quoted.body);
    let says = quoted.body["error"].as_str().unwrap_or_default();
    assert!(says.contains("body_mass_g") && !says.contains("not valid JSON"), "{}", quoted.body);
    assert_eq!(infinity.status, 400, "{}", infinity.body);
    assert!(infinity.body["error"].as_str().unwrap_or_default().contains("body_mass_g"), "{}", infinity.body);
}

#[tokio::test]
async fn an_unknown_category_over_v2_is_refused_listing_the_allowed_ones() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let mut settings = api::config::Settings::for_models_dir(dir);
    settings.default_model = "mixed".to_owned();
    let app = crate::helpers::spawn_app_with(settings).await;
    let body = json!({"inputs": [
        {"name": "size", "shape": [2], "datatype": "FP32", "data": [1, 2]},
        {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "purple"]}
    ]});

    let reply = app.post_v2_infer("mixed", body.to_string().into_bytes(), &[]).await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.body["error"],
        r#"input 'colour' row 1: must be one of "red", "green", "blue"; got "purple""#
    );
}

#[tokio::test]
async fn a_row_with_a_text_category_and_a_blank_cell_predicts_over_csv_as_over_json() {
    let app = spawn_app().await;
    let file =
        "island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\nBiscoe,,48.8,16.2,222,6000\n";

    let reply = app.post_csv("/models/penguins/predict/batch", file, Some("application/json")).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let csv: Vec<f64> = ["Adelie", "Chinstrap", "Gentoo"]
        .iter()
        .map(|c| reply.body["predictions"][0]["probabilities"][c].as_f64().expect("p"))
        .collect();
    assert_eq!(csv, probabilities(&app, &penguin()).await);
}

#[tokio::test]
async fn an_unknown_category_in_a_csv_cell_is_refused_listing_the_allowed_ones() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let mut settings = api::config::Settings::for_models_dir(dir);
    settings.default_model = "mixed".to_owned();
    let app = crate::helpers::spawn_app_with(settings).await;

    let reply = app.post_csv("/predict/batch", "size,colour\n1,red\n2,purple\n", None).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"][0]["loc"], json!(["body", "line", 3, "colour"]));
    assert_eq!(reply.body["errors"][0]["allowed"]["categories"], json!(["red", "green", "blue"]));
}
