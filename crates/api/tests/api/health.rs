//! Liveness, readiness, request ids and the fallbacks for unknown routes and methods.

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;

    let reply = app.get_health().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "ok");
}

#[tokio::test]
async fn readyz_lists_every_shipped_model_and_the_default() {
    let app = spawn_app().await;

    let reply = app.get_ready().await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["models"],
        serde_json::json!(["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"])
    );
    assert_eq!(reply.body["default_model"], "iris");
}

#[tokio::test]
async fn every_response_carries_a_fresh_request_id() {
    let app = spawn_app().await;

    let first = app.get_health().await.request_id.expect("an id");
    let second = app.get_health().await.request_id.expect("an id");

    assert!(first.len() >= 16, "{first}");
    assert_ne!(first, second, "each request gets its own id");
}

#[tokio::test]
async fn a_clients_request_id_is_echoed() {
    let app = spawn_app().await;

    let reply = app.get_health_with_request_id("trace-me-123").await;

    assert_eq!(reply.request_id.as_deref(), Some("trace-me-123"));
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;

    let reply = app.get_unknown_route().await;

    reply.assert_problem(404);
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;

    let reply = app.request_predict_with(reqwest::Method::GET).await;

    reply.assert_problem(405);
}

#[tokio::test]
async fn a_wrong_method_on_a_route_is_a_405_naming_the_allowed_ones() {
    let app = spawn_app().await;

    let reply = app.request_predict_with(reqwest::Method::PUT).await;

    reply.assert_problem(405);
    assert_eq!(reply.allow.as_deref(), Some("POST"));
}

#[tokio::test]
async fn trace_and_unknown_methods_are_a_405_on_a_route_and_a_501_elsewhere() {
    let app = spawn_app().await;

    for method in ["TRACE", "BREW"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let on_route = app.request_predict_with(method.clone()).await;
        let elsewhere = app.request_status(method.as_str(), "/no/such/route").await;

        on_route.assert_problem(405);
        assert_eq!(on_route.allow.as_deref(), Some("POST"), "{method}");
        assert_eq!(elsewhere, 501, "{method}");
    }
}

#[tokio::test]
async fn connect_is_a_501_problem_not_a_404() {
    let app = spawn_app().await;

    // A client sends CONNECT with the authority as its target, which names no route.
    let reply = app.request_predict_with(reqwest::Method::CONNECT).await;

    reply.assert_problem(501);
}
