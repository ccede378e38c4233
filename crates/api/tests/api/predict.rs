//! Predictions that succeed: single rows, batches, the default and named models.

use serde_json::json;

use crate::helpers::{iris_row, spawn_app};

#[tokio::test]
async fn predict_answers_the_peers_request_with_label_index_and_named_probabilities() {
    let app = spawn_app().await;

    let reply = app.post_predict(&iris_row()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(reply.body["label"], "setosa");
    assert_eq!(reply.body["class_index"], 0);
    assert_eq!(reply.body["model"], "iris");
    assert_eq!(reply.body["model_version"], "1.0.0");
    let probs = reply.body["probabilities"].as_object().expect("probabilities");
    assert_eq!(probs.keys().collect::<Vec<_>>(), ["setosa", "versicolor", "virginica"]);
    let sum: f64 = probs.values().map(|p| p.as_f64().expect("number")).sum();
    assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
}

#[tokio::test]
async fn the_default_model_and_its_named_endpoint_agree() {
    let app = spawn_app().await;

    let default = app.post_predict(&iris_row()).await;
    let named = app.post_model_predict("iris", &iris_row()).await;

    assert_eq!(default.body, named.body);
}

#[tokio::test]
async fn integer_values_are_accepted_as_numbers() {
    let app = spawn_app().await;

    let reply = app
        .post_predict(&json!({"sepal_length": 6, "sepal_width": 3, "petal_length": 5, "petal_width": 2}))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_regressor_answers_a_value_with_its_unit() {
    let app = spawn_app().await;
    let row = json!({"age": 61, "sex": 1, "bmi": 25.8, "bp": 90, "s1": 280, "s2": 195.4, "s3": 55, "s4": 5, "s5": 4.9972, "s6": 90});

    let reply = app.post_model_predict("diabetes", &row).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body["value"].is_number());
    assert_eq!(reply.body["unit"], "points");
    assert!(reply.body.get("label").is_none());
}

#[tokio::test]
async fn a_batch_answers_every_row_in_order() {
    let app = spawn_app().await;
    let setosa = iris_row();
    let virginica = json!({"sepal_length": 7.7, "sepal_width": 3.0, "petal_length": 6.1, "petal_width": 2.3});

    let reply = app.post_predict_batch(&json!({"instances": [setosa, virginica, setosa]})).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let labels: Vec<&str> = reply.body["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["label"].as_str().expect("label"))
        .collect();
    assert_eq!(labels, ["setosa", "virginica", "setosa"]);
}

#[tokio::test]
async fn a_batch_at_max_batch_rows_runs_off_the_async_workers_and_answers_all() {
    let app = spawn_app().await;
    let rows = vec![iris_row(); 10_000];

    let reply = app.post_model_batch("iris", &json!({ "instances": rows })).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["predictions"].as_array().map(Vec::len), Some(10_000));
}

#[tokio::test]
async fn an_unknown_model_is_a_404_even_with_a_bad_body() {
    let app = spawn_app().await;

    let reply = app.post_model_predict("nope", &json!("not an object")).await;

    reply.assert_problem(404);
    assert!(reply.body["detail"].as_str().is_some_and(|d| d.contains("iris")));
}
