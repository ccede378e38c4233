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
    assert_eq!((reply.body["total"].as_u64(), reply.body["offset"].as_u64()), (Some(7), Some(0)));
    let iris = &reply.body["models"][4];
    assert_eq!(iris["features"], 4, "a summary counts the features: {iris}");
    assert_eq!(iris["classes"], 3);
    assert_eq!(iris["card_source"], "file");
    assert!(iris.get("examples").is_none(), "a summary is not the whole card");
}

#[tokio::test]
async fn a_query_parameter_of_the_wrong_type_or_given_twice_is_a_422_naming_it() {
    let app = spawn_app().await;

    let not_a_number = app.get("/models?offset=null").await;
    let twice = app.get("/models/iris/monitoring?window=last_hour&window=since_start").await;
    let features_twice = app
        .post_json(
            "/models/iris/what-if?features=petal_length&features=petal_width",
            &serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}),
        )
        .await;

    not_a_number.assert_problem(422);
    assert_eq!(not_a_number.body["errors"][0]["loc"], serde_json::json!(["query", "offset"]));
    assert!(
        not_a_number.body["errors"][0]["msg"].as_str().is_some_and(|m| m.contains("invalid digit")),
        "{}",
        not_a_number.body
    );
    for reply in [&twice, &features_twice] {
        reply.assert_problem(422);
        assert!(
            reply.body["errors"][0]["msg"].as_str().is_some_and(|m| m.contains("duplicate")),
            "{}",
            reply.body
        );
    }
}

/// A repository of many models: the list pages through them, small and
/// quick whatever is served; `/readyz` counts them and names the first few.
#[tokio::test]
async fn many_models_are_listed_a_page_at_a_time_and_readiness_stays_small() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let iris = std::fs::read(crate::helpers::models_dir().join("iris/model.onnx")).expect("iris");
    for i in 0..230 {
        std::fs::write(dir.path().join(format!("m{i:03}.onnx")), &iris).expect("write");
    }
    for i in 0..12 {
        std::fs::write(dir.path().join(format!("broken{i:02}.onnx")), b"not a graph").expect("write");
    }
    let settings = api::config::Settings::from_args([
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.path().display()),
        "--models-watch=off".to_owned(),
        "--default-model=m000".to_owned(),
    ])
    .expect("settings");
    let app = crate::helpers::spawn_app_with(settings).await;

    let first = app.get("/models").await;
    let third = app.get("/models?offset=200&limit=100").await;
    let too_many = app.get("/models?limit=501").await;
    let ready = app.get_ready().await;

    assert_eq!(first.status, 200);
    assert_eq!((first.body["total"].as_u64(), first.body["failure_count"].as_u64()), (Some(230), Some(12)));
    assert_eq!(first.body["models"].as_array().map(Vec::len), Some(100));
    assert_eq!(first.body["failures"].as_array().map(Vec::len), Some(12));
    assert_eq!(third.body["models"].as_array().map(Vec::len), Some(30));
    assert_eq!(third.body["models"][0]["name"], "m200");
    assert_eq!(third.body["failures"], serde_json::json!([]), "failures are paged with the models");
    too_many.assert_problem(422);
    let size = serde_json::to_vec(&first.body).expect("json").len();
    assert!(size < 50 * 1024, "a page is {size} bytes");
    assert_eq!(
        (ready.body["model_count"].as_u64(), ready.body["failure_count"].as_u64()),
        (Some(230), Some(12))
    );
    assert_eq!(ready.body["failures"].as_array().map(Vec::len), Some(5));
    assert_eq!(ready.body["models"].as_array().map(Vec::len), Some(100));
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
