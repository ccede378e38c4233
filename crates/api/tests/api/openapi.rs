//! The OpenAPI document and the docs page: valid 3.1, complete, with card examples.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_app;

fn readme_endpoints() -> BTreeSet<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split_once('`').map(|(endpoint, _)| endpoint.to_owned()))
        .filter_map(|endpoint| {
            let (method, path) = endpoint.split_once(' ')?;
            matches!(method, "GET" | "POST").then(|| (method.to_lowercase(), path.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    let app = spawn_app().await;
    let schema: Value = serde_json::from_str(include_str!("fixtures/openapi-3.1-schema.json"))
        .expect("vendored OpenAPI 3.1 schema");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");

    let reply = app.get_openapi().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["openapi"], "3.1.0");
    let problems: Vec<String> =
        validator.iter_errors(&reply.body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// What the OpenAPI schema cannot say: operation ids are unique, and each
/// path's `{parameters}` are exactly its `in: path` parameters (a query
/// parameter declared in the path cannot be sent by a client).
#[tokio::test]
async fn operation_ids_are_unique_and_path_parameters_match_the_templates() {
    let app = spawn_app().await;
    let doc = app.get_openapi().await.body;
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();

    for (path, item) in doc["paths"].as_object().expect("paths") {
        let in_template: BTreeSet<&str> =
            path.split('{').skip(1).filter_map(|p| p.split('}').next()).collect();
        for (method, op) in item.as_object().expect("path item") {
            if let Some(id) = op["operationId"].as_str()
                && !ids.insert(id.to_owned())
            {
                problems.push(format!("operationId {id:?} is used twice ({method} {path})"));
            }
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            if declared != in_template {
                problems
                    .push(format!("{method} {path}: path parameters {declared:?}, template {in_template:?}"));
            }
        }
    }

    assert!(problems.is_empty(), "{problems:#?}");
    assert!(ids.len() > 30, "every operation has an id: {}", ids.len());
}

#[tokio::test]
async fn every_route_the_api_serves_is_documented_and_listed_in_the_readme() {
    let app = spawn_app().await;

    let reply = app.get_openapi().await;

    let mut documented = BTreeSet::new();
    for (path, item) in reply.body["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    // The document itself and the page that renders it.
    documented.insert(("get".to_owned(), "/openapi.json".to_owned()));
    documented.insert(("get".to_owned(), "/docs".to_owned()));
    assert_eq!(
        documented,
        readme_endpoints(),
        "the README's endpoint table and the OpenAPI document disagree"
    );
    for (method, path) in &documented {
        let concrete = path.replace("{name}", "iris").replace("{version}", "1.0.0");
        let status = app.request_status(method, &concrete).await;
        assert!(status != 404 && status != 405, "{method} {path} is documented but answers {status}");
    }
}

#[tokio::test]
async fn the_error_body_is_a_documented_schema_on_every_prediction_endpoint() {
    let app = spawn_app().await;

    let reply = app.get_openapi().await;

    let problem = &reply.body["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(problem["properties"][field].is_object(), "Problem lacks {field}");
    }
    for path in ["/predict", "/predict/batch", "/models/{name}/predict", "/models/{name}/predict/batch"] {
        let invalid =
            &reply.body["paths"][path]["post"]["responses"]["422"]["content"]["application/problem+json"];
        assert!(
            invalid["schema"]["$ref"].as_str().is_some_and(|r| r.ends_with("/Problem")),
            "{path}: {invalid}"
        );
    }
}

#[tokio::test]
async fn request_examples_come_from_the_model_cards() {
    let app = spawn_app().await;
    let card = app.get_model("iris").await.body;

    let reply = app.get_openapi().await;

    let examples =
        &reply.body["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"];
    let first = &card["examples"][0];
    let shown = &examples[format!("iris: {}", first["label"].as_str().expect("label"))]["value"];
    assert_eq!(shown, &first["values"]);
    let names = &reply.body["paths"]["/models/{name}/predict"]["post"]["parameters"][0]["schema"]["enum"];
    assert_eq!(
        names,
        &serde_json::json!(["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"])
    );
}

#[tokio::test]
async fn the_interactive_docs_are_served_by_the_api_itself() {
    let app = spawn_app().await;

    let page = app.get_docs_page().await;

    assert_eq!(page.status, 200);
    let html = page.body.as_str().expect("html");
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(!html.contains("https://"), "the page references another origin");
    let initializer = app.get_docs_asset("swagger-initializer.js").await;
    let script = initializer.body.as_str().expect("js");
    assert!(script.contains("/openapi.json"));
    assert!(
        script.contains(r#""validatorUrl": "none""#) || script.contains(r#""validatorUrl":"none""#),
        "{script}"
    );
}

#[tokio::test]
async fn every_json_answer_matches_the_schema_its_operation_documents() {
    let app = spawn_app().await;
    let doc = app.get_openapi().await.body;
    let check = |path: &str, method: &str, status: &str, body: &Value| {
        let media = &doc["paths"][path][method]["responses"][status]["content"];
        let schema = media
            .as_object()
            .and_then(|m| m.values().next())
            .map(|m| m["schema"].clone())
            .unwrap_or_else(|| panic!("{method} {path} documents no {status} body"));
        // The operation's schema, resolved against the document's components.
        let root = serde_json::json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "components": doc["components"], "allOf": [schema]});
        let validator = jsonschema::validator_for(&root).expect("the schema compiles");
        let problems: Vec<String> =
            validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(problems.is_empty(), "{method} {path} {status}: {problems:#?}\n{body}");
    };

    check("/models/{name}", "get", "200", &app.get_model("iris").await.body);
    check("/models/{name}", "get", "404", &app.get_model("tulip").await.body);
    check("/models", "get", "200", &app.get_models().await.body);
    check("/readyz", "get", "200", &app.get_ready().await.body);
    check("/healthz", "get", "200", &app.get_health().await.body);
    check("/predict", "post", "200", &app.post_predict(&crate::helpers::iris_row()).await.body);
    check("/predict", "post", "422", &app.post_predict(&serde_json::json!({"sepal_length": "x"})).await.body);
    let batch = serde_json::json!({"instances": [crate::helpers::iris_row()]});
    check("/predict/batch", "post", "200", &app.post_predict_batch(&batch).await.body);
    let diabetes = serde_json::json!({"age": 61, "sex": 1, "bmi": 25.8, "bp": 90, "s1": 280, "s2": 195.4, "s3": 55, "s4": 5, "s5": 4.9972, "s6": 90});
    check("/models/{name}/predict", "post", "200", &app.post_model_predict("diabetes", &diabetes).await.body);
}
