//! Every input rule: status, location and type of each problem, all reported at once.

use serde_json::{Value, json};

use crate::helpers::{iris_row, spawn_app};

fn iris_with(key: &str, value: Value) -> Value {
    let mut row = iris_row();
    row[key] = value;
    row
}

#[tokio::test]
async fn a_missing_feature_is_a_422_at_its_location() {
    let app = spawn_app().await;
    let mut row = iris_row();
    row.as_object_mut().expect("object").remove("petal_width");

    let reply = app.post_predict(&row).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "petal_width"]), "missing".to_owned())]);
}

#[tokio::test]
async fn an_unknown_feature_is_a_422_listing_the_real_ones() {
    let app = spawn_app().await;

    let reply = app.post_predict(&iris_with("petal_colour", json!(1))).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "petal_colour"]), "unknown_field".to_owned())]);
    assert_eq!(reply.body["errors"][0]["allowed"]["features"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn strings_booleans_and_arrays_are_not_numbers_and_null_is_missing() {
    let app = spawn_app().await;
    let null = app.post_predict(&iris_with("sepal_length", json!(null))).await;
    null.assert_problem(422);
    assert_eq!(null.error_locs(), vec![(json!(["body", "sepal_length"]), "missing".to_owned())]);
    assert_eq!(
        null.body["errors"][0]["msg"],
        "\"sepal_length\" is missing and this model cannot take missing values"
    );
    for bad in [json!("5.1"), json!(true), json!([5.1])] {
        let reply = app.post_predict(&iris_with("sepal_length", bad.clone())).await;

        reply.assert_problem(422);
        assert_eq!(
            reply.error_locs(),
            vec![(json!(["body", "sepal_length"]), "type".to_owned())],
            "for {bad}"
        );
    }
}

#[tokio::test]
async fn a_value_out_of_range_is_a_422_with_the_allowed_range() {
    let app = spawn_app().await;

    let reply = app.post_predict(&iris_with("petal_width", json!(7.5))).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "petal_width"]), "range".to_owned())]);
    assert_eq!(reply.body["errors"][0]["allowed"], json!({"min": 0.1, "max": 4.0}));
    assert_eq!(reply.body["errors"][0]["msg"], "must be between 0.1 and 4 cm; got 7.5");
}

#[tokio::test]
async fn zero_and_negative_lengths_are_out_of_range() {
    let app = spawn_app().await;
    for bad in [0.0, -1.0] {
        let reply = app.post_predict(&iris_with("petal_length", json!(bad))).await;

        assert_eq!(reply.error_locs(), vec![(json!(["body", "petal_length"]), "range".to_owned())]);
    }
}

#[tokio::test]
async fn a_number_too_large_for_a_float_is_a_422_at_its_field() {
    let app = spawn_app().await;
    let body = r#"{"sepal_length":1e400,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

    let reply = app.post_predict_raw(body, Some("application/json")).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "sepal_length"]), "range".to_owned())]);
}

#[tokio::test]
async fn a_value_that_is_not_one_of_the_choices_is_a_422_listing_them() {
    let app = spawn_app().await;
    let row = json!({"age": 61, "sex": 3, "bmi": 25.8, "bp": 90, "s1": 280, "s2": 195.4, "s3": 55, "s4": 5, "s5": 4.9972, "s6": 90});

    let reply = app.post_model_predict("diabetes", &row).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "sex"]), "choice".to_owned())]);
    assert_eq!(reply.body["errors"][0]["allowed"]["choices"], json!([1.0, 2.0]));
}

#[tokio::test]
async fn every_problem_in_a_body_is_reported_at_once() {
    let app = spawn_app().await;
    let body = json!({"sepal_length": "5.1", "sepal_width": 99, "petal_length": 1.4, "extra": 1});

    let reply = app.post_predict(&body).await;

    reply.assert_problem(422);
    let mut locs = reply.error_locs();
    locs.sort_by_key(|(loc, _)| loc.to_string());
    assert_eq!(
        locs,
        vec![
            (json!(["body", "extra"]), "unknown_field".to_owned()),
            (json!(["body", "petal_width"]), "missing".to_owned()),
            (json!(["body", "sepal_length"]), "type".to_owned()),
            (json!(["body", "sepal_width"]), "range".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_batch_with_several_bad_rows_reports_each_by_index() {
    let app = spawn_app().await;
    let body = json!({"instances": [iris_row(), iris_with("petal_width", json!(9)), iris_row(), iris_with("sepal_width", json!("x"))]});

    let reply = app.post_predict_batch(&body).await;

    reply.assert_problem(422);
    assert_eq!(
        reply.error_locs(),
        vec![
            (json!(["body", "instances", 1, "petal_width"]), "range".to_owned()),
            (json!(["body", "instances", 3, "sepal_width"]), "type".to_owned()),
        ]
    );
}

#[tokio::test]
async fn an_empty_batch_is_a_422() {
    let app = spawn_app().await;

    let reply = app.post_predict_batch(&json!({"instances": []})).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "instances"]), "batch_size".to_owned())]);
}

#[tokio::test]
async fn a_batch_over_max_batch_is_a_422_naming_the_limit() {
    let app = spawn_app().await;
    let rows = vec![iris_row(); 10_001];

    let reply = app.post_predict_batch(&json!({ "instances": rows })).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"][0]["allowed"]["max_items"], 10_000);
}

#[tokio::test]
async fn a_batch_of_bad_rows_gets_a_short_bounded_answer() {
    let app = spawn_app().await;
    let rows = vec![iris_with("petal_width", json!("bad")); 5_000];

    let reply = app.post_predict_batch(&json!({ "instances": rows })).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"].as_array().map(Vec::len), Some(api::input::MAX_REPORTED_PROBLEMS));
    assert!(reply.body["detail"].as_str().is_some_and(|d| d.starts_with("5000 problem(s)")));
    assert!(reply.body.to_string().len() < 20_000);
}

#[tokio::test]
async fn a_batch_envelope_with_a_wrong_key_is_a_422_naming_both_problems() {
    let app = spawn_app().await;

    let reply = app.post_predict_batch(&json!({"rows": [iris_row()]})).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body"]), "shape".to_owned()); 2]);
    let messages: Vec<&str> =
        reply.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["msg"].as_str()).collect();
    assert!(messages[0].starts_with("unknown field `rows`"), "{messages:?}");
    assert!(messages[1].starts_with("missing field `instances`"), "{messages:?}");
}

#[tokio::test]
async fn instances_that_are_not_an_array_are_a_422_at_instances() {
    let app = spawn_app().await;

    let reply = app.post_predict_batch(&json!({"instances": {"sepal_length": 5.1}})).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "instances"]), "shape".to_owned())]);
}

#[tokio::test]
async fn a_number_too_large_for_a_float_in_a_batch_is_located_by_row() {
    let app = spawn_app().await;
    let body = r#"{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2},
        {"sepal_length":5.1,"sepal_width":1e999,"petal_length":1.4,"petal_width":0.2}]}"#;

    let reply = app.post_batch_raw(body).await;

    reply.assert_problem(422);
    assert_eq!(
        reply.error_locs(),
        vec![(json!(["body", "instances", 1, "sepal_width"]), "range".to_owned())]
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_that_says_where() {
    let app = spawn_app().await;

    let reply = app.post_predict_raw(r#"{"sepal_length": 5.1,"#, Some("application/json")).await;

    reply.assert_problem(400);
    assert!(reply.body["detail"].as_str().is_some_and(|d| d.contains("line 1 column")), "{}", reply.body);
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_a_415() {
    let app = spawn_app().await;
    let body = iris_row().to_string();
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let reply = app.post_predict_raw(body.clone(), content_type).await;

        reply.assert_problem(415);
    }
}

#[tokio::test]
async fn a_long_unknown_key_is_not_echoed_in_full() {
    let app = spawn_app().await;
    let key = "k".repeat(100_000);

    let reply = app.post_predict(&iris_with(&key, json!(1))).await;

    reply.assert_problem(422);
    assert!(reply.body.to_string().len() < 2_000);
}
