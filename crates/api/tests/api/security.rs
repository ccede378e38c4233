//! What an attacker tried (issue 27), each finding as a test that failed
//! before its fix: labels clients or file names invent, quadratic headers,
//! work that outlives its answer, open model control, files that stop the
//! server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, models_dir, spawn_app, spawn_app_with};

/// Sends raw bytes as a request and reads the whole answer (off the
/// runtime the server runs on).
async fn raw(app: &TestApp, request: Vec<u8>) -> String {
    let addr = app.socket_addr();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        stream.write_all(&request).expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("the raw request")
}

fn metrics_text(reply: &crate::helpers::Reply) -> String {
    reply.body.as_str().expect("metrics text").to_owned()
}

#[tokio::test]
async fn invented_methods_are_counted_as_other_and_never_become_labels() {
    let app = spawn_app().await;
    let before = metrics_text(&app.get_metrics().await).len();

    for i in 0..300 {
        let method = format!("X{i:07}Q");
        raw(&app, format!("{method} /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes())
            .await;
    }
    let huge =
        raw(&app, format!("{} /predict HTTP/1.1\r\nHost: x\r\n\r\n", "M".repeat(100_000)).into_bytes()).await;
    let text = metrics_text(&app.get_metrics().await);

    assert!(!text.contains("X0000001Q"), "an invented method became a label");
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("MMMMMMMM"), "a 100 KB method reached the metrics");
    assert!(
        !huge.starts_with("HTTP/1.1 2"),
        "a 100 KB request line was served: {}",
        &huge[..huge.len().min(80)]
    );
    assert!(text.len() < before + 4096, "the exposition grew from {before} to {} bytes", text.len());
}

#[tokio::test]
async fn a_request_head_over_16_kib_or_64_headers_is_refused_and_the_server_serves_on() {
    let app = spawn_app().await;
    let get = |extra: String| format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");

    let long = raw(&app, get(format!("x-pad: {}\r\n", "a".repeat(20_000))).into_bytes()).await;
    let many = raw(&app, get((0..100).map(|i| format!("x-h{i}: v\r\n")).collect()).into_bytes()).await;
    let fine =
        raw(&app, get((0..40).map(|i| format!("x-h{i}: {}\r\n", "v".repeat(200))).collect()).into_bytes())
            .await;

    assert!(long.starts_with("HTTP/1.1 431"), "a 20 KB header: {}", &long[..long.len().min(80)]);
    assert!(many.starts_with("HTTP/1.1 431"), "100 headers: {}", &many[..many.len().min(80)]);
    assert!(fine.starts_with("HTTP/1.1 200"), "40 headers of 8 KB in all: {}", &fine[..fine.len().min(80)]);
}

#[tokio::test]
async fn a_model_file_named_to_inject_a_metric_line_is_counted_under_an_invalid_name() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    std::fs::copy(models_dir().join("iris/model.onnx"), dir.path().join("iris.onnx")).expect("copy");
    std::fs::write(dir.path().join("q\"uote\nfake_metric_total 1\n#.onnx"), b"not a graph").expect("write");
    let settings = api::config::Settings::from_args([
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.path().display()),
        "--models-watch=off".to_owned(),
    ])
    .expect("settings");
    let app = spawn_app_with(settings).await;

    let text = metrics_text(&app.get_metrics().await);

    assert!(
        !text.lines().any(|l| l.starts_with("fake_metric_total")),
        "a file name injected a metric line:\n{text}"
    );
    assert!(text.contains(r#"model_loads_total{model="<invalid name>",outcome="failed"} 1"#), "{text}");
}

#[tokio::test]
async fn a_header_of_100000_columns_is_refused_before_any_per_column_work() {
    let app = spawn_app().await;
    let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let csv = format!("{}\n", header.join(","));

    let started = std::time::Instant::now();
    let reply = app.post_csv("/models/iris/predict/batch", csv, None).await;
    let took = started.elapsed();

    assert_eq!(reply.status, 400, "{}", reply.body);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("has 100000 columns"), "{detail}");
    assert!(detail.contains("at most 256 other columns"), "{detail}");
    // Not a timing assertion: a bound far above the work left, so a
    // quadratic check (tens of CPU-seconds here) cannot pass.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn duplicate_columns_are_found_in_one_pass_and_named() {
    let app = spawn_app().await;
    let mut header: Vec<String> = (0..250).map(|i| format!("c{i}")).collect();
    header.extend(["sepal_length", "sepal_width", "petal_length", "petal_width", "c7"].map(str::to_owned));

    let reply = app.post_csv("/models/iris/predict/batch", format!("{}\n", header.join(",")), None).await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(r#"column "c7" is named twice (columns 8 and 255)"#), "{detail}");
}

#[tokio::test]
async fn a_wide_models_errors_list_a_bounded_number_of_features() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wide");
    let settings = api::config::Settings::from_args([
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.display()),
        "--models-watch=off".to_owned(),
        "--default-model=wide".to_owned(),
    ])
    .expect("settings");
    let app = spawn_app_with(settings).await;
    // 3 KB: every feature missing, and some that are not features.
    let row: serde_json::Map<String, serde_json::Value> =
        (0..300).map(|i| (format!("x{i}"), json!(1))).collect();

    let reply = app.post_predict(&serde_json::Value::Object(row)).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"].as_array().map(Vec::len), Some(50));
    let size = serde_json::to_vec(&reply.body).expect("json").len();
    assert!(size < 256 * 1024, "a 422 of {size} bytes for a 3 KB request");
    let first = &reply.body["errors"][0];
    assert_eq!(first["allowed"]["features"].as_array().map(Vec::len), Some(100));
    assert!(first["msg"].as_str().unwrap_or_default().contains("and 1980 more"), "{first}");
}

fn settings_for(dir: &std::path::Path, extra: &[&str]) -> api::config::Settings {
    let mut args = vec![
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--models-dir={}", dir.display()),
        "--models-watch=off".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    api::config::Settings::from_args(args).expect("settings")
}

/// `n` rows of cancer as a V2 request asking for the explanation output.
fn cancer_explanation_request(n: usize) -> Vec<u8> {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(models_dir().join("cancer/golden.json")).expect("golden.json"),
    )
    .expect("json");
    let first = &golden["rows"][0]["features"];
    let names: Vec<&String> = first.as_object().expect("features").keys().collect();
    let inputs: Vec<serde_json::Value> = names
        .iter()
        .map(|name| json!({"name": name, "datatype": "FP32", "shape": [n, 1], "data": vec![first[name.as_str()].clone(); n]}))
        .collect();
    serde_json::to_vec(&json!({"inputs": inputs, "outputs": [{"name": "explanation"}]})).expect("json")
}

#[tokio::test]
async fn the_explanation_output_of_v2_is_held_to_the_explanation_row_limit() {
    let app = spawn_app().await;

    let within = app.post_v2_infer("cancer", cancer_explanation_request(100), &[]).await;
    let past = app.post_v2_infer("cancer", cancer_explanation_request(101), &[]).await;

    assert_eq!(within.status, 200, "{}", within.body);
    assert_eq!(past.status, 400, "{}", past.body);
    assert!(
        past.body["error"].as_str().unwrap_or_default().contains("1 to 100 rows to explain"),
        "{}",
        past.body
    );
}

#[tokio::test]
async fn work_whose_answer_timed_out_stops_and_holds_its_permit_until_it_does() {
    let app = spawn_app_with(settings_for(
        &models_dir(),
        &["--request-timeout-ms=200", "--max-concurrent-predictions=1"],
    ))
    .await;
    let cancelled = r#"predictions_cancelled_total{model="cancer"}"#;

    let slow = app.post_v2_infer("cancer", cancer_explanation_request(100), &[]).await;
    // The answer went at the deadline; the work goes on until its next chunk.
    let meanwhile = app.post_predict(&crate::helpers::iris_row()).await;
    let mut stopped = false;
    for _ in 0..500 {
        let text = metrics_text(&app.get_metrics().await);
        if text.lines().any(|l| l.starts_with(cancelled) && !l.ends_with(" 0")) {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = app.post_predict(&crate::helpers::iris_row()).await;

    assert_eq!(slow.status, 503, "{}", slow.body);
    assert_eq!(meanwhile.status, 503, "the permit is still held by the running work: {}", meanwhile.body);
    assert!(stopped, "the explanation was never stopped");
    assert_eq!(after.status, 200, "the permit is free once the work stopped: {}", after.body);
}

#[tokio::test]
async fn model_control_is_off_by_default_and_needs_the_admin_key_when_on() {
    let off = spawn_app().await;
    let refused = off.post_json("/v2/repository/models/iris/unload", &json!({})).await;
    let reload = off.post_json("/admin/reload", &json!({})).await;
    assert_eq!((refused.status, reload.status), (403, 403), "{}", refused.body);
    assert_eq!(off.get_ready().await.status, 200, "nothing was unloaded");

    let no_key = api::startup::App::build(settings_for(&models_dir(), &["--model-control=true"])).await;
    assert!(no_key.is_err(), "model control without an admin key must not start");

    let on = spawn_app_with(settings_for(
        &models_dir(),
        &["--model-control=true", "--admin-key=boss", "--api-key=client"],
    ))
    .await;
    let anonymous = on.post_json("/admin/reload", &json!({})).await;
    let client = on.post_predict_authorized_path("/admin/reload", "Bearer client").await;
    let admin = on.post_predict_authorized_path("/admin/reload", "bearer boss").await;
    assert_eq!((anonymous.status, client.status, admin.status), (401, 401, 200), "{}", admin.body);
}

#[tokio::test]
async fn with_an_admin_key_metrics_and_monitoring_need_it() {
    let app = spawn_app_with(settings_for(&models_dir(), &["--admin-key=boss"])).await;

    let open = (app.get("/metrics").await.status, app.get("/models/iris/monitoring").await.status);
    let keyed = (
        app.get_authorized("/metrics", "Bearer boss").await.status,
        app.get_authorized("/models/iris/monitoring", "Bearer boss").await.status,
    );

    assert_eq!(open, (401, 401));
    assert_eq!(keyed, (200, 200));
    assert_eq!(app.get("/models/iris").await.status, 200, "cards stay open for the UI's forms");
}

#[tokio::test]
async fn a_graph_that_crashes_the_graph_library_is_refused_and_the_rest_served() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    std::fs::copy(models_dir().join("iris/model.onnx"), dir.path().join("iris.onnx")).expect("copy");
    let hostile =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/if_branches.onnx");
    std::fs::copy(hostile, dir.path().join("hostile.onnx")).expect("copy");

    let app = spawn_app_with(settings_for(dir.path(), &["--default-model=iris"])).await;

    let ready = app.get_ready().await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["failures"][0]["model"], "hostile");
    assert_eq!(
        app.post_json("/models/iris/predict", &json!({"f0": 5.1, "f1": 3.5, "f2": 1.4, "f3": 0.2}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_model_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    std::fs::copy(models_dir().join("iris/model.onnx"), dir.path().join("iris.onnx")).expect("copy");
    // A file that claims 2 GiB: sparse, so it costs nothing unless it is read.
    let big = std::fs::File::create(dir.path().join("big.onnx")).expect("create");
    big.set_len(2 << 30).expect("sparse");

    let app =
        spawn_app_with(settings_for(dir.path(), &["--default-model=iris", "--model-max-bytes=1048576"]))
            .await;

    let failure = &app.get_ready().await.body["failures"][0];
    assert_eq!(failure["model"], "big");
    assert!(
        failure["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("is 2147483648 bytes; models of up to 1048576 bytes"),
        "{failure}"
    );
}

#[tokio::test]
async fn a_link_out_of_the_models_directory_is_not_followed_nor_its_content_quoted() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let outside = tempfile::TempDir::new().expect("temp dir");
    std::fs::write(outside.path().join("secret"), "root:x:0:0:root:/root:/bin/bash\n").expect("write");
    std::fs::create_dir(dir.path().join("iris")).expect("mkdir");
    std::fs::copy(models_dir().join("iris/model.onnx"), dir.path().join("iris/model.onnx")).expect("copy");
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("iris/card.toml"))
        .expect("link");

    let app = spawn_app_with(settings_for(dir.path(), &[])).await;

    let body = app.get_ready().await.body.to_string() + &app.get_models().await.body.to_string();
    assert!(!body.contains("root:x"), "the linked file is quoted: {body}");
    assert!(body.contains("iris/card.toml is a link that leads out of the models directory"), "{body}");
}

#[tokio::test]
async fn v2_refuses_ragged_data_two_framings_and_an_unbounded_id() {
    let app = spawn_app().await;
    let ragged = json!({"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [[5.1, 3.5, 1.4], [0.2, 6.3, 2.9, 5.6, 1.8]]}]});
    let long_id = json!({"id": "i".repeat(1_000_000), "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]});
    let fine = json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]});
    let body = |v: &serde_json::Value| serde_json::to_vec(v).expect("json");
    let length = body(&fine).len().to_string();

    let ragged = app.post_v2_infer("iris", body(&ragged), &[]).await;
    let twice = app
        .post_v2_infer(
            "iris",
            body(&fine),
            &[("inference-header-content-length", &length), ("inference-header-content-length", "3")],
        )
        .await;
    let long_id = app.post_v2_infer("iris", body(&long_id), &[]).await;

    assert_eq!(ragged.status, 400, "{}", ragged.body);
    assert!(ragged.body["error"].as_str().unwrap_or_default().contains("ragged"), "{}", ragged.body);
    assert_eq!(twice.status, 400, "{}", twice.body);
    assert_eq!(long_id.status, 400);
    assert!(serde_json::to_vec(&long_id.body).expect("json").len() < 1000, "the id is not echoed");
}

#[tokio::test]
async fn a_csv_answer_never_names_a_column_twice() {
    let app = spawn_app().await;
    let csv = "label,sepal_length,sepal_width,petal_length,petal_width,p_setosa\nmine,5.1,3.5,1.4,0.2,x\n";

    let reply = app.post_csv("/models/iris/predict/batch", csv, None).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let text = reply.body.as_str().expect("csv");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let unique: std::collections::BTreeSet<&&str> = header.iter().collect();
    assert_eq!(unique.len(), header.len(), "{header:?}");
    assert!(header.contains(&"predicted_label") && header.contains(&"predicted_p_setosa"), "{header:?}");
}

#[tokio::test]
async fn the_docs_page_carries_a_content_security_policy() {
    let app = spawn_app().await;

    let page = app.get_docs_page().await;

    assert_eq!(page.status, 200);
    let policy = page.csp.unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
}
