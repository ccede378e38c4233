//! The Open Inference Protocol's framing edge cases over real HTTP: every
//! malformed length, size or shape is a 400 `{"error": …}` naming what is
//! wrong, never a 5xx and never an allocation sized by the request. (The
//! stock Python clients' journey is `tests/v2_clients.py`.)

use serde_json::{Value, json};

use crate::helpers::{Reply, iris_row, spawn_app};

fn iris_json(rows: usize) -> Vec<u8> {
    let data: Vec<f32> = (0..rows).flat_map(|_| [5.1, 3.5, 1.4, 0.2]).collect();
    json!({"inputs": [{"name": "input", "shape": [rows, 4], "datatype": "FP32", "data": data}]})
        .to_string()
        .into_bytes()
}

/// A binary request: the JSON header, then `blob`.
fn binary(header: &Value, blob: &[u8]) -> (Vec<u8>, String) {
    let mut body = header.to_string().into_bytes();
    let len = body.len().to_string();
    body.extend_from_slice(blob);
    (body, len)
}

fn floats(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn assert_error(reply: &Reply, status: u16, says: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.content_type, "application/json",
        "exactly: the kserve client reads the message only then"
    );
    let message = reply.body["error"].as_str().unwrap_or_else(|| panic!("no error message: {}", reply.body));
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

#[tokio::test]
async fn a_json_request_without_a_content_type_gets_label_and_probabilities() {
    let app = spawn_app().await;

    let reply = app.post_v2_infer("iris", iris_json(2), &[]).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["model_name"], "iris");
    assert_eq!(
        reply.body["outputs"][0],
        json!({"name": "label", "datatype": "INT64", "shape": [2], "data": [0, 0]})
    );
    assert_eq!(reply.body["outputs"][1]["shape"], json!([2, 3]));
}

#[tokio::test]
async fn the_answers_equal_the_json_apis_answers() {
    let app = spawn_app().await;

    let v2 = app.post_v2_infer("iris", iris_json(1), &[]).await;
    let v1 = app.post_predict(&iris_row()).await;

    let probabilities: Vec<f64> = v2.body["outputs"][1]["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p.as_f64().expect("f"))
        .collect();
    let expected: Vec<f64> = ["setosa", "versicolor", "virginica"]
        .iter()
        .map(|c| v1.body["probabilities"][c].as_f64().expect("f"))
        .collect();
    assert_eq!(probabilities, expected);
}

#[tokio::test]
async fn a_header_length_past_the_body_is_a_400() {
    let app = spawn_app().await;
    let body = iris_json(1);
    let past = (body.len() + 1).to_string();

    let reply = app.post_v2_infer("iris", body, &[("inference-header-content-length", &past)]).await;

    assert_error(&reply, 400, "Inference-Header-Content-Length is");
}

#[tokio::test]
async fn binary_sizes_that_do_not_add_up_are_a_400_either_way() {
    let app = spawn_app().await;
    let header = |size: usize| json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": size}}]});
    let blob = floats(&[5.1, 3.5, 1.4, 0.2]);

    let (more, len) = binary(&header(32), &blob);
    let declared_more = app.post_v2_infer("iris", more, &[("inference-header-content-length", &len)]).await;
    let (less, len) = binary(&header(8), &blob);
    let declared_less = app.post_v2_infer("iris", less, &[("inference-header-content-length", &len)]).await;
    let (right, len) = binary(&header(16), &blob);
    let declared_right = app.post_v2_infer("iris", right, &[("inference-header-content-length", &len)]).await;

    assert_error(&declared_more, 400, "past the 16 bytes that follow the JSON header");
    assert_error(&declared_less, 400, "add up to 8 bytes, but 16 bytes follow");
    assert_eq!(declared_right.status, 200, "{}", declared_right.body);
}

#[tokio::test]
async fn a_blob_that_does_not_fill_the_shape_is_a_400() {
    let app = spawn_app().await;
    let header = json!({"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]});
    let (body, len) = binary(&header, &floats(&[5.1, 3.5, 1.4, 0.2]));

    let reply = app.post_v2_infer("iris", body, &[("inference-header-content-length", &len)]).await;

    assert_error(&reply, 400, "its shape holds 8 FP32 elements (32 bytes)");
}

#[tokio::test]
async fn json_data_longer_or_shorter_than_the_shape_is_a_400() {
    let app = spawn_app().await;
    let with = |data: Value| {
        json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": data}]})
            .to_string()
            .into_bytes()
    };

    let long = app.post_v2_infer("iris", with(json!([5.1, 3.5, 1.4, 0.2, 9.9])), &[]).await;
    let short = app.post_v2_infer("iris", with(json!([[5.1, 3.5, 1.4]])), &[]).await;

    assert_error(&long, 400, "holds more than the 4 elements its shape says");
    assert_error(&short, 400, "holds 3 elements but its shape says 4");
}

#[tokio::test]
async fn negative_and_huge_dimensions_are_refused_before_anything_is_allocated() {
    let app = spawn_app().await;
    let with = |shape: Value| {
        json!({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32", "data": [1.0]}]})
            .to_string()
            .into_bytes()
    };

    let negative = app.post_v2_infer("iris", with(json!([-1, 4])), &[]).await;
    let huge = app.post_v2_infer("iris", with(json!([4_000_000_000_000_000_i64, 4])), &[]).await;
    let wrong_width = app.post_v2_infer("iris", with(json!([1, 7])), &[]).await;

    assert_error(&negative, 400, "negative dimension");
    assert_error(&huge, 400, "must hold 1 to 10000 rows");
    assert_error(&wrong_width, 400, "this model's matrix input is [N, 4]");
}

#[tokio::test]
async fn a_row_breaking_a_rule_is_named_by_input_row_and_feature() {
    let app = spawn_app().await;
    let body = json!({"inputs": [{"name": "input", "shape": [4, 4], "datatype": "FP32",
        "data": [5.1, 3.5, 1.4, 0.2, 5.1, 3.5, 1.4, 0.2, 5.1, 3.5, 1.4, 0.2, 5.1, 3.5, 1.4, 9.0]}]});

    let reply = app.post_v2_infer("iris", body.to_string().into_bytes(), &[]).await;

    assert_error(
        &reply,
        400,
        "input 'input' row 3 feature 'petal_width': must be between 0.1 and 4 cm; got 9",
    );
}

#[tokio::test]
async fn unknown_models_versions_inputs_outputs_and_datatypes_say_what_exists() {
    let app = spawn_app().await;
    let bad_output = json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}],
        "outputs": [{"name": "scores"}]});
    let bad_type = json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP16", "data": [5.1, 3.5, 1.4, 0.2]}]});

    assert_error(&app.post_v2_infer("tulip", iris_json(1), &[]).await, 404, "available models: cancer");
    assert_error(&app.get_v2("/models/iris/versions/7").await, 404, "it serves version 1.0.0");
    assert_error(
        &app.post_v2_infer("iris", bad_output.to_string().into_bytes(), &[]).await,
        400,
        "it gives: label, probabilities",
    );
    assert_error(
        &app.post_v2_infer("iris", bad_type.to_string().into_bytes(), &[]).await,
        400,
        "numbers are FP32, FP64, INT32 or INT64",
    );
    assert_error(&app.post_v2_infer("iris", b"{not json".to_vec(), &[]).await, 400, "not valid JSON");
}

#[tokio::test]
async fn a_body_compressed_with_an_unknown_coding_is_a_415_and_a_corrupt_one_a_400() {
    let app = spawn_app().await;

    let unknown = app.post_v2_infer("iris", iris_json(1), &[("content-encoding", "br")]).await;
    let corrupt = app.post_v2_infer("iris", iris_json(1), &[("content-encoding", "gzip")]).await;

    assert_error(&unknown, 415, "send it as is, or with gzip or deflate");
    assert_error(&corrupt, 400, "could not be decompressed");
}

#[tokio::test]
async fn metadata_health_and_readiness_answer_as_the_clients_read_them() {
    let app = spawn_app().await;

    assert_eq!(app.get_v2("/health/live").await.body, json!({"live": true}));
    assert_eq!(app.get_v2("/health/ready").await.body, json!({"ready": true}));
    assert_eq!(app.get_v2("/models/wine/ready").await.body, json!({"name": "wine", "ready": true}));
    let server = app.get_v2("").await.body;
    assert_eq!(server["extensions"], json!(["binary_tensor_data", "model_repository"]));
    let cancer = app.get_v2("/models/cancer/versions/1.0.0").await.body;
    assert_eq!(cancer["platform"], "onnx");
    assert_eq!(cancer["inputs"], json!([{"name": "input", "datatype": "FP32", "shape": [-1, 30]}]));
    assert_eq!(
        cancer["outputs"][1],
        json!({"name": "output_probability", "datatype": "FP32", "shape": [-1, 2]})
    );
}

#[tokio::test]
async fn the_explanation_is_an_output_to_ask_for_by_name_with_the_base_value_last() {
    let app = spawn_app().await;
    let mut body: Value = serde_json::from_slice(&iris_json(2)).expect("json");
    body["outputs"] = json!([{"name": "label"}, {"name": "explanation"}]);

    let reply = app.post_v2_infer("iris", body.to_string().into_bytes(), &[]).await;
    let explained = app.post_explain("iris", &iris_row()).await;
    let meta = app.get_v2("/models/iris").await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let output = &reply.body["outputs"][1];
    assert_eq!(output["name"], "explanation");
    assert_eq!(output["shape"], json!([2, 5]));
    let data: Vec<f64> =
        output["data"].as_array().expect("data").iter().map(|v| v.as_f64().expect("f")).collect();
    let want = &explained.body["explanation"];
    let contributions: Vec<f64> = want["contributions"]
        .as_array()
        .expect("c")
        .iter()
        .map(|c| c["contribution"].as_f64().expect("f"))
        .collect();
    for (got, want) in data[..4].iter().zip(&contributions) {
        assert!((got - want).abs() < 1e-5, "{data:?} vs {contributions:?}");
    }
    assert!((data[4] - want["base_value"].as_f64().expect("base")).abs() < 1e-5);
    let listed = meta.body["outputs"].as_array().expect("outputs").iter().any(|o| o["name"] == "explanation");
    assert!(listed, "the metadata lists it: {}", meta.body);
}
