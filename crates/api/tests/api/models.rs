//! Model cards: the list, one card with its signature, and unknown names.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn models_lists_every_card_sorted_by_name() {
    let app = spawn_app().await;

    let reply = app.get_models().await;

    assert_eq!(reply.status, 200);
    let names: Vec<&str> = reply.body["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"]);
    assert_eq!(reply.body["default_model"], "iris");
}

#[tokio::test]
async fn a_model_card_carries_features_classes_examples_and_provenance() {
    let app = spawn_app().await;

    let reply = app.get_model("iris").await;

    assert_eq!(reply.status, 200);
    let card = &reply.body;
    let features: Vec<&str> = card["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(features, ["sepal_length", "sepal_width", "petal_length", "petal_width"]);
    assert_eq!(card["classes"], serde_json::json!(["setosa", "versicolor", "virginica"]));
    assert_eq!(card["task"], "classification");
    assert!(card["examples"].as_array().is_some_and(|e| e.len() >= 2));
    assert!(card["provenance"]["metrics"]["accuracy"].as_f64().is_some_and(|a| a > 0.8));
    assert_eq!(card["signature"]["inputs"][0]["shape"], serde_json::json!([Value::Null, 4]));
    assert_eq!(card["signature"]["output"]["shape"], serde_json::json!([Value::Null, 3]));
}

#[tokio::test]
async fn the_regressor_card_names_its_output_and_unit() {
    let app = spawn_app().await;

    let reply = app.get_model("diabetes").await;

    assert_eq!(reply.body["task"], "regression");
    assert_eq!(reply.body["output"]["unit"], "points");
    assert!(reply.body["provenance"]["metrics"]["r2"].is_number());
}

#[tokio::test]
async fn an_unknown_model_is_a_404_naming_the_real_ones() {
    let app = spawn_app().await;

    let reply = app.get_model("nope").await;

    reply.assert_problem(404);
    let detail = reply.body["detail"].as_str().expect("detail");
    assert!(detail.contains("cancer, cars, diabetes, diabetes-trees, iris, penguins, wine"), "{detail}");
}
