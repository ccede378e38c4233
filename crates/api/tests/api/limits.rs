//! Limits and failure behaviour, each over real HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use api::config::Settings;
use axum::Router;
use axum::routing::get;

use crate::helpers::{TestApp, iris_row, models_dir, spawn_app, spawn_app_with, spawn_app_with_routes};

fn settings() -> Settings {
    Settings::for_models_dir(models_dir())
}

fn read_all(stream: &mut TcpStream) -> String {
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

#[tokio::test]
async fn a_body_over_the_default_or_the_configured_limit_is_a_413_problem() {
    let default = spawn_app().await;
    let mut s = settings();
    s.body_limit_bytes = Some(2_000);
    let configured = spawn_app_with(s).await;
    let huge = format!(r#"{{"sepal_length": "{}"}}"#, "x".repeat(20 * 1024 * 1024));
    let rows = vec![iris_row(); 40];

    let over_default = default.post_predict_raw(huge, Some("application/json")).await;
    let over_configured = configured.post_predict_batch(&serde_json::json!({ "instances": rows })).await;

    over_default.assert_problem(413);
    over_configured.assert_problem(413);
}

#[tokio::test]
async fn a_request_slower_than_the_deadline_gets_a_timeout_problem_counted_under_its_route() {
    let mut s = settings();
    s.request_timeout_ms = 200;
    let app = spawn_app_with(s).await;

    let mut stream = tokio::task::spawn_blocking({
        let addr = app.socket_addr();
        move || {
            let app = TestApp::at(addr);
            app.hold_open_request("/predict", &[])
        }
    })
    .await
    .expect("task");
    let response = tokio::task::spawn_blocking(move || read_all(&mut stream)).await.expect("read");

    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(response.contains("urn:modelserve:problem:timeout"), "{response}");
    let metrics = app.get_metrics().await;
    let text = metrics.body.as_str().expect("text");
    let counted = r#"http_requests_total{method="POST",route="/predict",status="503"} 1"#;
    assert!(text.contains(counted), "missing {counted:?} in:\n{text}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let mut s = settings();
    s.serve.header_read_timeout_secs = 1;
    let app = spawn_app_with(s).await;
    let addr = app.socket_addr();

    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("partial headers");
        let mut buf = [0u8; 512];
        // The server closes (0 bytes, or a 408 then close) long before our 15 s.
        match stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    })
    .await
    .expect("task");

    assert!(closed, "the server kept a header-less connection open");
}

#[tokio::test]
async fn past_the_concurrency_limit_predictions_are_shed_with_503_and_retry_after() {
    let mut s = settings();
    s.max_concurrent_predictions = 1;
    let app = spawn_app_with(s).await;
    let held = app.hold_open_request("/predict", &[]);
    app.wait_until_in_flight(1).await;

    let shed = app.post_predict(&iris_row()).await;

    shed.assert_problem(503);
    assert_eq!(shed.retry_after.as_deref(), Some("1"));
    assert_eq!(app.get_health().await.status, 200, "health is never shed");
    drop(held);
    app.wait_until_in_flight(0).await;
    assert_eq!(app.post_predict(&iris_row()).await.status, 200, "the permit comes back");
}

#[tokio::test]
async fn a_request_without_the_key_is_refused_before_it_can_take_a_prediction_permit() {
    let mut s = settings();
    s.max_concurrent_predictions = 1;
    s.api_key = Some(secrecy::SecretString::from("k3y".to_owned()));
    let app = spawn_app_with(s).await;
    let held = app.hold_open_request("/predict", &[("authorization", "Bearer k3y")]);
    app.wait_until_in_flight(1).await;

    let anonymous = app.post_predict(&iris_row()).await;

    anonymous.assert_problem(401);
    drop(held);
}

#[tokio::test]
async fn a_panicking_handler_answers_500_problem_with_the_request_id_is_counted_and_the_server_keeps_serving()
{
    async fn boom() -> &'static str {
        panic!("kaboom")
    }
    let boom = Router::new().route("/boom", get(boom));
    let app = spawn_app_with_routes(settings(), boom).await;

    let reply = app.get_path_with_request_id("/boom", "req-7").await;

    reply.assert_problem(500);
    assert_eq!(reply.body["request_id"], "req-7");
    assert!(!reply.body.to_string().contains("kaboom"), "5xx bodies are opaque");
    assert_eq!(app.post_predict(&iris_row()).await.status, 200);
    let metrics = app.get_metrics().await;
    let text = metrics.body.as_str().expect("text");
    for line in [
        r#"http_requests_total{method="GET",route="/boom",status="500"} 1"#,
        r#"http_requests_total{method="POST",route="/predict",status="200"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn problem_bodies_quote_the_request_id() {
    let app = spawn_app().await;

    let reply = app.get_path_with_request_id("/models/tulip", "trace-404").await;

    reply.assert_problem(404);
    assert_eq!(reply.body["request_id"], "trace-404");
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = spawn_app().await;

    let preflight = app.preflight("/predict", "https://app.example").await;

    assert_eq!(preflight.allow_origin, None);
}

#[tokio::test]
async fn cors_allows_only_the_listed_origins() {
    let mut s = settings();
    s.cors_origins = vec!["https://app.example".to_owned()];
    let app = spawn_app_with(s).await;

    let allowed = app.preflight("/predict", "https://app.example").await;
    let denied = app.preflight("/predict", "https://evil.example").await;

    assert_eq!(allowed.allow_origin.as_deref(), Some("https://app.example"));
    assert_eq!(denied.allow_origin, None);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_predictions_by_model() {
    let mut s = settings();
    s.body_limit_bytes = Some(2_000);
    let app = spawn_app_with(s).await;
    app.post_predict(&iris_row()).await;
    app.post_model_batch("wine", &serde_json::json!({"instances": []})).await;
    app.post_predict_batch(&serde_json::json!({ "instances": vec![iris_row(); 40] })).await;

    let reply = app.get_metrics().await;

    let text = reply.body.as_str().expect("text");
    for line in [
        r#"http_requests_total{method="POST",route="/predict",status="200"} 1"#,
        r#"http_requests_total{method="POST",route="/models/{name}/predict/batch",status="422"} 1"#,
        r#"http_requests_total{method="POST",route="/predict/batch",status="413"} 1"#,
        r#"predictions_total{model="iris"} 1"#,
        r#"prediction_rows_total{model="iris"} 1"#,
        "http_requests_in_flight 1",
        "# TYPE inference_duration_seconds histogram",
        "# TYPE prediction_batch_rows histogram",
        "# TYPE http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// Sends `path` a JSON body of `size` bytes whole, then reads the answer:
/// what a client that does not look for an early answer does.
fn post_whole_body(addr: std::net::SocketAddr, path: &str, size: usize) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    )?;
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let n = chunk.len().min(size - sent);
        stream.write_all(&chunk[..n])?;
        sent += n;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[tokio::test]
async fn an_answer_given_before_the_body_is_read_still_reaches_a_client_that_is_sending_it() {
    let mut s = settings();
    s.max_concurrent_predictions = 1;
    let app = spawn_app_with(s).await;
    let addr = app.socket_addr();
    // 4 MB: far more than socket buffers hold, so a server that closed at
    // once would reset the connection under the client's writes.
    let unknown =
        tokio::task::spawn_blocking(move || post_whole_body(addr, "/models/nosuch/predict/batch", 4 << 20))
            .await
            .expect("task");
    let held = app.hold_open_request("/predict", &[]);
    app.wait_until_in_flight(1).await;
    let shed = tokio::task::spawn_blocking(move || post_whole_body(addr, "/predict/batch", 4 << 20))
        .await
        .expect("task");

    assert_eq!(unknown.expect("the 404 is read, not reset"), "HTTP/1.1 404");
    assert_eq!(shed.expect("the 503 is read, not reset"), "HTTP/1.1 503");
    drop(held);
}

#[tokio::test]
async fn past_max_connections_a_new_connection_waits_until_one_closes() {
    let mut s = settings();
    s.serve.max_connections = 1;
    let app = spawn_app_with(s).await;
    let addr = app.socket_addr();
    let ask = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    let (first_answer, second_before, second_after) = tokio::task::spawn_blocking(move || {
        let mut first = TcpStream::connect(addr).expect("first");
        first.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        first.write_all(ask.as_bytes()).expect("ask");
        let mut head = [0u8; 12];
        first.read_exact(&mut head).expect("first answer");
        // The kernel completes the handshake (listen backlog); the server
        // has no slot to accept it while the first connection stays open.
        let mut second = TcpStream::connect(addr).expect("second");
        second.write_all(ask.as_bytes()).expect("ask");
        second.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
        let mut byte = [0u8; 1];
        let before = second.read(&mut byte).map_err(|e| e.kind());
        drop(first);
        second.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut after = [0u8; 12];
        let after = second.read_exact(&mut after).map(|()| String::from_utf8_lossy(&after).into_owned());
        (String::from_utf8_lossy(&head).into_owned(), before, after.expect("answered once a slot frees"))
    })
    .await
    .expect("task");

    assert_eq!(first_answer, "HTTP/1.1 200");
    assert!(
        matches!(second_before, Err(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "not answered while every slot is taken: {second_before:?}"
    );
    assert_eq!(second_after, "HTTP/1.1 200");
}
