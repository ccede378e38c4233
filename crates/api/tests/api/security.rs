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
