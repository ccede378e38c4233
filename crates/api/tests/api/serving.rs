//! The serving core: every wire format serves a checked batch the same way,
//! so each counts its rows alike in drift monitoring and in the prediction
//! metrics.

use serde_json::{Value, json};

use crate::helpers::{TestApp, iris_row, spawn_app};

/// Rows counted for iris's drift since it loaded.
async fn drift_rows(app: &TestApp) -> u64 {
    let report = app.get("/models/iris/monitoring?window=since_start").await;
    assert_eq!(report.status, 200, "{}", report.body);
    report.body["rows"].as_u64().unwrap_or_else(|| panic!("no row count: {}", report.body))
}

/// The value of `sample` (a metric and its labels) in `/metrics`.
async fn metric(app: &TestApp, sample: &str) -> u64 {
    let text = app.get_metrics().await.body.as_str().expect("metrics text").to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// (drift rows, prediction requests, prediction rows) for iris now.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        drift_rows(app).await,
        metric(app, r#"predictions_total{model="iris"}"#).await,
        metric(app, r#"prediction_rows_total{model="iris"}"#).await,
    )
}

fn v2_body(rows: usize, explanation: bool) -> Vec<u8> {
    let data: Vec<f64> = (0..rows).flat_map(|_| [5.9, 3.0, 5.1, 1.8]).collect();
    let mut body =
        json!({"inputs": [{"name": "input", "shape": [rows, 4], "datatype": "FP32", "data": data}]});
    if explanation {
        body["outputs"] = json!([{"name": "label"}, {"name": "explanation"}]);
    }
    serde_json::to_vec(&body).expect("json")
}

#[tokio::test]
async fn every_wire_format_counts_its_rows_alike_in_drift_and_in_the_prediction_metrics() {
    let app = spawn_app().await;
    let rows = |n: usize| -> Vec<Value> { vec![iris_row(); n] };
    let csv = |n: usize| {
        let mut text = "sepal_length,sepal_width,petal_length,petal_width\n".to_owned();
        (0..n).for_each(|_| text.push_str("6.3,2.9,5.6,1.8\n"));
        text
    };
    let mut checked = 0;
    for (format, n) in [
        ("json", 1),
        ("json batch", 3),
        ("csv", 4),
        ("csv answered as json", 2),
        ("v2", 2),
        ("v2 with the explanation output", 3),
        ("explain", 1),
        ("explain batch", 5),
        ("json batch past a chunk", 5000),
    ] {
        let before = counts(&app).await;

        let reply = match format {
            "json" => app.post_model_predict("iris", &iris_row()).await,
            "json batch" | "json batch past a chunk" => {
                app.post_model_batch("iris", &json!({ "instances": rows(n) })).await
            }
            "csv" => app.post_csv("/models/iris/predict/batch", csv(n), None).await,
            "csv answered as json" => {
                app.post_csv("/models/iris/predict/batch", csv(n), Some("application/json")).await
            }
            "v2" => app.post_v2_infer("iris", v2_body(n, false), &[]).await,
            "v2 with the explanation output" => app.post_v2_infer("iris", v2_body(n, true), &[]).await,
            "explain" => app.post_explain("iris", &iris_row()).await,
            "explain batch" => app.post_explain_batch("iris", &json!({ "instances": rows(n) })).await,
            other => unreachable!("{other}"),
        };
        assert_eq!(reply.status, 200, "{format}: {}", reply.body);

        let after = counts(&app).await;
        let n = n as u64;
        assert_eq!(after.0 - before.0, n, "{format}: rows counted for drift");
        assert_eq!(after.1 - before.1, 1, "{format}: prediction requests counted");
        assert_eq!(after.2 - before.2, n, "{format}: prediction rows counted");
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[tokio::test]
async fn a_what_if_sweep_and_a_refused_batch_count_nothing() {
    let app = spawn_app().await;
    let before = counts(&app).await;

    let sweep = app.post_what_if("iris", "", &iris_row()).await;
    let refused =
        app.post_model_batch("iris", &json!({"instances": [iris_row(), {"sepal_length": "x"}]})).await;

    assert_eq!((sweep.status, refused.status), (200, 422));
    assert_eq!(counts(&app).await, before);
}
