//! The API down, slow or failing: a clear "not responding" page, never a 500.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::json;

use crate::helpers::{Page, spawn_with_api_down, spawn_with_stand_in};

const QUERY: &str = "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2";

fn assert_waking_page(page: &Page, expected_retry: &str) {
    assert_eq!(page.status, 503, "{}", page.body);
    assert_eq!(page.text("h1"), "The prediction service is not responding");
    assert!(page.text(".error-page").contains("it may be waking up"));
    assert_eq!(page.attr("a.button", "href").as_deref(), Some(expected_retry));
    let refresh = page.attr("meta[http-equiv=refresh]", "content").expect("automatic retry");
    assert!(refresh.starts_with("10;url="), "{refresh}");
}

fn stand_in(status: StatusCode) -> Router {
    Router::new().fallback(move || async move { (status, "failing on purpose") })
}

#[tokio::test]
async fn an_api_that_refuses_connections_gives_the_waking_up_page_keeping_the_input() {
    let ui = spawn_with_api_down().await;

    let page = ui.get_model_with("iris", QUERY).await;

    assert_waking_page(&page, &format!("/models/iris?{QUERY}"));
    let refresh = page.attr("meta[http-equiv=refresh]", "content").expect("refresh");
    assert!(refresh.ends_with(&format!("/models/iris?{QUERY}&_retry=1")), "{refresh}");
}

#[tokio::test]
async fn the_home_page_also_waits_for_a_sleeping_api() {
    let ui = spawn_with_api_down().await;

    let page = ui.get_home().await;

    assert_waking_page(&page, "/");
}

#[tokio::test]
async fn automatic_retries_stop_after_the_last_attempt() {
    let ui = spawn_with_api_down().await;

    let page = ui.get_model_with("iris", &format!("{QUERY}&_retry=8")).await;

    assert_eq!(page.status, 503);
    assert!(page.select("meta[http-equiv=refresh]").is_empty());
    assert!(page.text(".error-page").contains("still not responding"));
    assert!(page.attr("a.button", "href").is_some_and(|h| h.contains("sepal_length=5.1")));
}

#[tokio::test]
async fn an_api_answering_500_or_503_gives_the_waking_up_page() {
    for status in
        [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::SERVICE_UNAVAILABLE, StatusCode::BAD_GATEWAY]
    {
        let ui = spawn_with_stand_in(stand_in(status)).await;

        let page = ui.get_model_with("iris", QUERY).await;

        assert_waking_page(&page, &format!("/models/iris?{QUERY}"));
    }
}

#[tokio::test]
async fn an_api_slower_than_the_timeout_gives_the_waking_up_page() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = asked.clone();
    let slow = Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "too late"
        }
    });
    let ui = spawn_with_stand_in(slow).await;

    let page = ui.get_model_with("iris", QUERY).await;

    // The API was reached (it is slow, not down), and the input is kept.
    assert!(asked.load(Ordering::SeqCst) >= 1, "the UI never asked the API");
    assert_waking_page(&page, &format!("/models/iris?{QUERY}"));
}

#[tokio::test]
async fn the_ui_health_check_does_not_depend_on_the_api() {
    let ui = spawn_with_api_down().await;

    assert_eq!(ui.get_health().await.status, 200);
}

#[tokio::test]
async fn the_request_id_is_forwarded_to_the_api_and_shown_on_the_error_page() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let api = Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            record.lock().expect("lock").push(id);
            StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let ui = spawn_with_stand_in(api).await;

    let page = ui.get_model_with_request_id("iris", QUERY, "click-42").await;

    assert_eq!(page.status, 503);
    assert_eq!(page.text(".request-id code"), "click-42");
    assert!(seen.lock().expect("lock").iter().any(|id| id == "click-42"), "the API never saw the id");
}

#[tokio::test]
async fn card_text_from_the_api_is_escaped_never_run() {
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let card = json!({
        "name": "evil", "title": evil, "description": evil, "version": "1", "task": "classification",
        "classes": [evil, "b"],
        "onnx": {"input": "input", "probabilities_output": "p"},
        "features": [{"name": "x", "label": evil, "unit": evil, "description": evil, "min": 0.0, "max": 1.0, "step": 0.1, "default": 0.5}],
        "examples": [{"label": evil, "values": {"x": 0.5}}],
        "signature": {"inputs": [{"name": "input", "dtype": "float32", "shape": [null, 1]}], "output": {"name": "p", "dtype": "float32", "shape": [null, 2]}}
    });
    let answer = json!({"model": "evil", "model_version": "1", "label": evil, "class_index": 0, "probabilities": {evil: 0.9, "b": 0.1}});
    let explained = json!({"prediction": answer.clone(), "explanation": {
        "method": evil, "space": "probability", "class": evil, "base_value": 0.5, "output": 0.9,
        "contributions": [{"feature": "x", "contribution": 0.4}], "background_rows": 3}});
    let what_if = json!({"model": "evil", "model_version": "1", "space": "probability", "class": evil, "output": 0.9,
        "curves": [{"feature": "x", "current": 0.5, "points": [{"value": 0.0, "output": 0.2}, {"value": evil, "output": 0.9}]}]});
    let stand_in = |explains: bool| {
        let (card, answer, explained, what_if) =
            (card.clone(), answer.clone(), explained.clone(), what_if.clone());
        let api =
            Router::new().route("/models/evil", get(move || async move { axum::Json(card.clone()) })).route(
                "/models/evil/predict",
                axum::routing::post(move || async move { axum::Json(answer.clone()) }),
            );
        if explains {
            api.route(
                "/models/evil/explain",
                axum::routing::post(move || async move { axum::Json(explained.clone()) }),
            )
            .route(
                "/models/evil/what-if",
                axum::routing::post(move || async move { axum::Json(what_if.clone()) }),
            )
        } else {
            api
        }
    };

    for explains in [false, true] {
        let ui = spawn_with_stand_in(stand_in(explains)).await;

        let page = ui.get_model_with("evil", "x=0.5").await;

        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.select("script").is_empty());
        assert!(page.select("img").is_empty());
        assert!(page.text("h1").contains("<script>"), "shown as text");
        assert!(page.text("#result .verdict .label").contains("<script>"));
        assert_eq!(
            page.select("#why").len(),
            usize::from(explains),
            "an API without /explain still predicts"
        );
        if explains {
            assert!(page.text("#why").contains("<script>"), "the class, shown as text");
            assert_eq!(page.select("#what-if a").len(), 2);
            assert!(page.text("#what-if").contains("<script>"), "a category, shown as text");
        }
        // The card page and the monitoring page (this API has neither
        // card.toml nor monitoring: the pages say so) escape the card too.
        for path in ["/models/evil/card", "/models/evil/monitoring"] {
            let page = ui.follow(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(page.select("script").is_empty(), "{path}");
            assert!(page.text("h1").contains("<script>"), "{path}: shown as text");
        }
    }
}

#[tokio::test]
async fn an_overloaded_api_gets_the_busy_page_with_retry_after_and_the_input_kept() {
    let ui = crate::helpers::spawn_stack_with(|api| api.max_concurrent_predictions = 1, |_| {}).await;
    // Take the API's one prediction permit: a request whose body never ends.
    let addr = ui.api_url.trim_start_matches("http://").to_owned();
    let mut held = std::net::TcpStream::connect(&addr).expect("connect");
    std::io::Write::write_all(
        &mut held,
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .expect("write");
    let metrics = format!("{}/metrics", ui.api_url);
    let started = std::time::Instant::now();
    loop {
        let text = reqwest::get(&metrics).await.expect("metrics").text().await.expect("text");
        if text.lines().any(|l| l == "http_requests_in_flight 2") {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the held request never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let page =
        ui.get_model_with("iris", "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2").await;

    assert_eq!(page.status, 503);
    assert_eq!(page.header("retry-after"), ui::error::RETRY_SECONDS.to_string());
    assert!(page.text("h1").contains("busy"), "{}", page.text("h1"));
    let retry = page.attr("a.button, a[href*='_retry']", "href").unwrap_or_default();
    assert!(retry.contains("sepal_length=5.1"), "the retry keeps the input: {retry}");
    drop(held);
}
