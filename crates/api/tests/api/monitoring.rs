//! Drift monitoring over real HTTP: rows like the training rows stay
//! stable, one shifted feature (and only it) drifts, the counters are fixed
//! in size, and no value of a row is ever echoed.

use serde_json::{Value, json};

use crate::helpers::{TestApp, models_dir, spawn_app};

/// `background.csv` (training rows) as JSON instances: numbers as numbers,
/// blank cells left out, text as text.
fn training_rows(model: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(models_dir().join(model).join("background.csv")).expect("background.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|line| {
            let cells = header.iter().zip(line.split(',')).filter(|(_, v)| !v.is_empty()).map(|(k, v)| {
                let value = v.parse::<f64>().map_or_else(|_| json!(v), |n| json!(n));
                ((*k).to_owned(), value)
            });
            Value::Object(cells.collect())
        })
        .collect()
}

/// `n` rows drawn with replacement from `rows`, the same every run.
fn draw(rows: &[Value], n: usize) -> Vec<Value> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            rows[(state >> 33) as usize % rows.len()].clone()
        })
        .collect()
}

async fn predict_all(app: &TestApp, model: &str, rows: &[Value]) {
    for chunk in rows.chunks(500) {
        let reply = app.post_model_batch(model, &json!({ "instances": chunk })).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

fn psi_of(report: &Value, feature: &str) -> f64 {
    report["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["feature"] == feature)
        .and_then(|f| f["psi"].as_f64())
        .unwrap_or_else(|| panic!("no psi for {feature}: {report}"))
}

#[tokio::test]
async fn rows_drawn_from_the_training_rows_keep_every_psi_under_0_1() {
    let app = spawn_app().await;
    for model in ["iris", "cars", "penguins"] {
        let rows = draw(&training_rows(model), 3000);
        predict_all(&app, model, &rows).await;

        let report = app.get(&format!("/models/{model}/monitoring?window=since_start")).await;

        assert_eq!(report.status, 200, "{}", report.body);
        assert_eq!(report.body["rows"], 3000);
        for feature in report.body["features"].as_array().expect("features") {
            let psi = feature["psi"].as_f64().expect("psi");
            assert!(psi < 0.1, "{model}.{}: PSI {psi}", feature["feature"]);
            assert_eq!(feature["reading"], "stable");
        }
        let psi = report.body["prediction"]["psi"].as_f64().expect("psi");
        assert!(psi < 0.1, "{model} predictions: PSI {psi}");
    }
}

#[tokio::test]
async fn a_shifted_feature_and_only_that_one_drifts_significantly() {
    let app = spawn_app().await;
    let rows: Vec<Value> = draw(&training_rows("iris"), 3000)
        .into_iter()
        .map(|mut row| {
            let v = row["petal_length"].as_f64().expect("number");
            row["petal_length"] = json!(v + 1.5);
            row
        })
        .collect();
    predict_all(&app, "iris", &rows).await;

    let report = app.get("/models/iris/monitoring?window=last_hour").await.body;

    assert_eq!(report["window"], "last_hour");
    assert_eq!(report["features"][0]["feature"], "petal_length", "the most drifted comes first");
    let shifted = psi_of(&report, "petal_length");
    assert!(shifted > 0.25, "PSI {shifted}");
    assert_eq!(report["features"][0]["reading"], "significant");
    assert!(report["features"][0]["out_of_range_share"].as_f64().expect("share") > 0.0);
    for other in ["sepal_length", "sepal_width", "petal_width"] {
        let psi = psi_of(&report, other);
        assert!(psi < 0.1, "{other}: PSI {psi}");
    }
}

#[tokio::test]
async fn the_metrics_export_every_bin_and_its_training_share_and_no_value_of_a_row() {
    let app = spawn_app().await;
    let row = json!({"sepal_length": 6.54321, "sepal_width": 3.04159, "petal_length": 4.27183, "petal_width": 1.61803});
    for _ in 0..3 {
        assert_eq!(app.post_predict(&row).await.status, 200);
    }

    let metrics = app.get_metrics().await.body.as_str().expect("text").to_owned();
    let report = app.get("/models/iris/monitoring").await.body.to_string();

    let counted: u64 = metrics
        .lines()
        .filter(|l| l.starts_with(r#"model_input_bin_total{model="iris",feature="sepal_length""#))
        .map(|l| l.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).expect("count"))
        .sum();
    assert_eq!(counted, 3, "every row lands in one sepal_length bin");
    assert!(
        metrics.contains(
            r#"model_input_bin_reference_share{model="iris",feature="sepal_length",bin="missing"} 0"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"model_prediction_bin_total{model="iris",bin="versicolor"}"#), "{metrics}");
    assert!(metrics.trim_end().ends_with("# EOF"));
    for value in ["6.54321", "3.04159", "4.27183", "1.61803"] {
        assert!(!metrics.contains(value), "{value} in /metrics");
        assert!(!report.contains(value), "{value} in the monitoring answer");
    }
}

#[tokio::test]
async fn a_model_without_a_reference_profile_says_it_is_not_monitored() {
    let tmp = tempfile::TempDir::new().expect("temp dir");
    std::fs::create_dir(tmp.path().join("iris")).expect("mkdir");
    for file in ["model.onnx", "card.toml"] {
        std::fs::copy(models_dir().join("iris").join(file), tmp.path().join("iris").join(file))
            .expect("copy");
    }
    let app =
        crate::helpers::spawn_app_with(api::config::Settings::for_models_dir(tmp.path().to_owned())).await;

    let reply = app.get("/models/iris/monitoring").await;
    let bad_window = spawn_app().await.get("/models/iris/monitoring?window=forever").await;

    reply.assert_problem(409);
    assert!(reply.body["detail"].as_str().unwrap_or_default().contains("reference.json"), "{}", reply.body);
    bad_window.assert_problem(400);
}

#[test]
fn the_counters_are_fixed_in_size_however_many_rows_are_counted() {
    let model = api::serving::ServedModel::load_dir(&models_dir().join("cars")).expect("loads");
    let monitor = model.monitor().expect("monitored");
    let before = monitor.counter_count();
    let rows = training_rows("cars");
    let body = serde_json::to_vec(&json!({ "instances": draw(&rows, 1000) })).expect("json");
    let rows = api::input::json_v1::parse_batch(model.schema(), &body, 1000).expect("rows");

    for _ in 0..200 {
        let output = model.graph().run(rows.clone()).expect("runs");
        monitor.commit(monitor.tally(&rows), &output);
    }

    assert_eq!(monitor.counter_count(), before, "200,000 rows later");
    let report = monitor.report(model.card(), api::monitor::Window::SinceStart);
    assert_eq!(report.rows, 200_000);
}
