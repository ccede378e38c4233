//! Batches as CSV files over real HTTP: quoted fields round-trip, extra
//! columns come back as sent, every bad cell is located by line and column,
//! malformed files are a 400 naming the line, and the CSV answer equals the
//! JSON batch answer row for row.

use api::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{Reply, iris_row, models_dir, spawn_app, spawn_app_with};

const HEADER: &str = "sepal_length,sepal_width,petal_length,petal_width";

fn lines(reply: &Reply) -> Vec<Vec<String>> {
    let text = reply.body.as_str().unwrap_or_else(|| panic!("a CSV answer, got {}", reply.body));
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.expect("valid CSV").iter().map(str::to_owned).collect()).collect()
}

#[tokio::test]
async fn a_csv_file_gets_every_column_back_with_label_and_probabilities_in_row_order() {
    let app = spawn_app().await;
    let file = "\u{feff}id,petal_width,sepal_length,note,sepal_width,petal_length\r\n\
                a-1,0.2,5.1,\"says \"\"hi\"\", then, a\nnew line\",3.5,1.4\r\n\
                a-2,2.3,6.7,plain,3.0,5.2\r\n";

    let reply = app.post_csv("/predict/batch", file, None).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.content_type.starts_with("text/csv"), "{}", reply.content_type);
    let rows = lines(&reply);
    assert_eq!(
        rows[0],
        [
            "id",
            "petal_width",
            "sepal_length",
            "note",
            "sepal_width",
            "petal_length",
            "label",
            "p_setosa",
            "p_versicolor",
            "p_virginica"
        ]
    );
    assert_eq!(rows[1][..6], ["a-1", "0.2", "5.1", "says \"hi\", then, a\nnew line", "3.5", "1.4"]);
    assert_eq!((rows[1][6].as_str(), rows[2][6].as_str()), ("setosa", "virginica"));
}

#[tokio::test]
async fn the_csv_answer_equals_the_json_batch_answer_row_for_row() {
    let app = spawn_app().await;
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(models_dir().join("penguins/golden.json")).expect("golden"),
    )
    .expect("json");
    let rows: Vec<&Value> = golden["rows"].as_array().expect("rows").iter().map(|r| &r["features"]).collect();
    let names = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"];
    let mut file = names.join(",") + "\n";
    for row in &rows {
        let cells: Vec<String> = names
            .iter()
            .map(|n| match &row[n] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect();
        file += &(cells.join(",") + "\n");
    }

    let csv_answer = lines(&app.post_csv("/models/penguins/predict/batch", file.clone(), None).await);
    let json_answer = app.post_model_batch("penguins", &json!({ "instances": rows })).await;
    let as_json = app.post_csv("/models/penguins/predict/batch", file, Some("application/json")).await;

    assert_eq!(json_answer.status, 200, "{}", json_answer.body);
    assert_eq!(as_json.body, json_answer.body, "Accept: application/json gets the JSON batch answer");
    let predictions = json_answer.body["predictions"].as_array().expect("predictions");
    assert_eq!(csv_answer.len(), predictions.len() + 1);
    for (line, p) in csv_answer[1..].iter().zip(predictions) {
        assert_eq!(line[6], p["label"].as_str().expect("label"));
        for (k, class) in ["Adelie", "Chinstrap", "Gentoo"].iter().enumerate() {
            let csv_p: f32 = line[7 + k].parse().expect("a number");
            assert_eq!(csv_p, p["probabilities"][class].as_f64().expect("p") as f32, "{class}");
        }
    }
}

#[tokio::test]
async fn every_bad_cell_is_listed_with_its_line_column_and_what_is_allowed() {
    let app = spawn_app().await;
    let file = format!("{HEADER}\n5.1,3.5,1.4,0.2\n5.1,abc,1.4,0.2\n5.1,3.5,1.4,9\n5.1,3.5,,0.2\n");

    let reply = app.post_csv("/predict/batch", file, None).await;

    reply.assert_problem(422);
    assert_eq!(
        reply.error_locs(),
        vec![
            (json!(["body", "line", 3, "sepal_width"]), "type".to_owned()),
            (json!(["body", "line", 4, "petal_width"]), "range".to_owned()),
            (json!(["body", "line", 5, "petal_length"]), "missing".to_owned()),
        ]
    );
    assert_eq!(reply.body["errors"][1]["allowed"], json!({"min": 0.1, "max": 4.0}));
}

#[tokio::test]
async fn at_most_50_bad_cells_are_listed_with_the_total_in_the_detail() {
    let app = spawn_app().await;
    let file = format!("{HEADER}\n") + &"5.1,3.5,1.4,9\n".repeat(120);

    let reply = app.post_csv("/predict/batch", file, None).await;

    reply.assert_problem(422);
    assert_eq!(reply.body["errors"].as_array().map(Vec::len), Some(50));
    assert!(reply.body["detail"].as_str().is_some_and(|d| d.starts_with("120 problem(s)")), "{}", reply.body);
}

#[tokio::test]
async fn a_missing_feature_column_is_a_422_at_the_header() {
    let app = spawn_app().await;

    let reply =
        app.post_csv("/predict/batch", "sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n", None).await;

    reply.assert_problem(422);
    assert_eq!(reply.error_locs(), vec![(json!(["body", "line", 1, "petal_width"]), "missing".to_owned())]);
}

#[tokio::test]
async fn malformed_files_are_a_400_naming_the_line() {
    let app = spawn_app().await;
    for (file, says) in [
        (
            format!("{HEADER}\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,7\n"),
            "line 3: has 5 fields but the header has 4",
        ),
        (
            format!("{HEADER}\n5.1,3.5,1.4,0.2\n5.1,\"3.5,1.4,0.2\n5.1,3.5,1.4,0.2\n"),
            "line 3: has 2 fields but the header has 4; a quote may be left open",
        ),
        (String::new(), "line 1: the file is empty"),
        (
            format!("{HEADER},sepal_width\n5.1,3.5,1.4,0.2,1\n"),
            "line 1: column \"sepal_width\" is named twice",
        ),
    ] {
        let reply = app.post_csv("/predict/batch", file.clone(), None).await;

        reply.assert_problem(400);
        assert!(reply.body["detail"].as_str().is_some_and(|d| d.contains(says)), "{file:?}: {}", reply.body);
    }
    let mut latin1 = format!("{HEADER}\n5.1,3.5,1.4,0.2\n").into_bytes();
    latin1.extend_from_slice(b"5.1,3.5,1.4,\xb5\n");
    let not_utf8 = app.post_csv("/predict/batch", latin1, None).await;
    not_utf8.assert_problem(400);
    assert!(
        not_utf8.body["detail"].as_str().is_some_and(|d| d.starts_with("line 3: is not UTF-8")),
        "{}",
        not_utf8.body
    );
}

#[tokio::test]
async fn a_file_over_the_row_or_body_limit_is_refused() {
    let mut settings = Settings::for_models_dir(models_dir());
    settings.max_batch = 3;
    settings.body_limit_bytes = Some(2_000);
    let app = spawn_app_with(settings).await;
    let row = "5.1,3.5,1.4,0.2\n";

    let too_many = app.post_csv("/predict/batch", format!("{HEADER}\n{}", row.repeat(4)), None).await;
    let too_large = app.post_csv("/predict/batch", format!("{HEADER}\n{}", row.repeat(200)), None).await;
    let empty = app.post_csv("/predict/batch", format!("{HEADER}\n"), None).await;

    too_many.assert_problem(422);
    assert_eq!(too_many.body["errors"][0]["allowed"]["max_items"], 3);
    too_large.assert_problem(413);
    empty.assert_problem(422);
}

#[tokio::test]
async fn cells_that_a_spreadsheet_would_run_as_formulas_come_back_as_text() {
    let app = spawn_app().await;
    let file = format!(
        "who,{HEADER}\n\"=HYPERLINK(\"\"http://x\"\")\",5.1,3.5,1.4,0.2\n@SUM(A1),5.1,3.5,1.4,0.2\n-3,5.1,3.5,1.4,0.2\n"
    );

    let rows = lines(&app.post_csv("/predict/batch", file, None).await);

    assert_eq!(rows[1][0], "'=HYPERLINK(\"http://x\")");
    assert_eq!(rows[2][0], "'@SUM(A1)");
    assert_eq!(rows[3][0], "-3", "a negative number stays a number");
}

#[tokio::test]
async fn a_body_that_is_neither_json_nor_csv_is_a_415_naming_both() {
    let app = spawn_app().await;

    let reply = app.post_batch_with_type(iris_row().to_string(), "text/plain").await;

    reply.assert_problem(415);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("text/csv") && d.contains("application/json")),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_100000_row_file_is_answered_with_max_batch_at_100000() {
    let mut settings = Settings::for_models_dir(models_dir());
    settings.max_batch = 100_000;
    let app = spawn_app_with(settings).await;
    let file = format!("{HEADER}\n") + &"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n".repeat(50_000);

    let reply = app.post_csv("/predict/batch", file, None).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let text = reply.body.as_str().expect("csv");
    assert_eq!(text.lines().count(), 100_001);
    assert!(
        text.lines().last().is_some_and(|l| l.starts_with("6.7,3.0,5.2,2.3,virginica,")),
        "{:?}",
        text.lines().last()
    );
}
