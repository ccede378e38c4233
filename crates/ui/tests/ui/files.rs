//! Predicting a file through the UI: the template, an upload shown as a
//! table (with bad cells highlighted), the predicted file downloaded, and
//! the limits — over the real API.

use crate::helpers::{spawn_stack, spawn_stack_with_upload_limit};

const IRIS: &str = "id,sepal_length,sepal_width,petal_length,petal_width\nA,5.1,3.5,1.4,0.2\nB,6.7,3.0,5.2,2.3\nC,5.9,3.0,4.2,1.5\n";

#[tokio::test]
async fn the_model_page_offers_a_file_form_and_a_template_of_its_examples() {
    let ui = spawn_stack().await;

    let page = ui.get_model_form("penguins").await;
    let template = ui.follow("/models/penguins/template.csv").await;

    assert_eq!(page.attr("form.file-form", "enctype").as_deref(), Some("multipart/form-data"));
    assert_eq!(page.select("form.file-form button[name=action]").len(), 2);
    assert!(template.header("content-disposition").contains("penguins-template.csv"));
    let lines: Vec<&str> = template.body.lines().collect();
    assert_eq!(lines[0], "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex");
    assert_eq!(lines.len(), 5, "the header and the four examples");
    assert!(lines[4].ends_with(','), "a missing example value is an empty cell: {}", lines[4]);
}

#[tokio::test]
async fn an_upload_is_shown_as_a_table_of_rows_with_predictions_and_totals() {
    let ui = spawn_stack().await;

    let page = ui.upload("iris", "flowers.csv", IRIS.as_bytes().to_vec(), "show").await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text("h1"), "Predictions for flowers.csv");
    assert_eq!(page.select("table.rows tbody tr").len(), 3);
    let predictions: Vec<String> =
        page.select("table.rows td.prediction").iter().map(|td| td.text().collect()).collect();
    assert_eq!(predictions, ["setosa", "virginica", "versicolor"]);
    assert!(page.text(".totals").contains("3 rows predicted"), "{}", page.text(".totals"));
}

#[tokio::test]
async fn bad_cells_are_highlighted_with_their_messages_and_nothing_is_predicted() {
    let ui = spawn_stack().await;
    let csv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n5.1,abc,1.4,9\n";

    let page = ui.upload("iris", "bad.csv", csv.as_bytes().to_vec(), "download").await;

    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.text("#error-summary h2").starts_with("2 cells need fixing"),
        "{}",
        page.text("#error-summary h2")
    );
    let bad: Vec<String> = page.select("td.bad .cell-error").iter().map(|e| e.text().collect()).collect();
    assert_eq!(bad, ["Must be a number, not text.", "Must be between 0.1 and 4 cm; got 9."]);
    assert!(page.select("td.prediction").is_empty());
}

#[tokio::test]
async fn download_returns_the_predicted_file_named_after_the_upload() {
    let ui = spawn_stack().await;

    let page = ui.upload("iris", "flowers.csv", IRIS.as_bytes().to_vec(), "download").await;

    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/csv"));
    assert_eq!(page.header("content-disposition"), "attachment; filename=\"flowers-predictions.csv\"");
    let lines: Vec<&str> = page.body.lines().collect();
    assert_eq!(
        lines[0],
        "id,sepal_length,sepal_width,petal_length,petal_width,label,p_setosa,p_versicolor,p_virginica"
    );
    assert!(lines[2].starts_with("B,6.7,3.0,5.2,2.3,virginica,"), "{}", lines[2]);
}

#[tokio::test]
async fn a_malformed_file_and_a_missing_file_get_a_page_saying_what_is_wrong() {
    let ui = spawn_stack().await;

    let malformed = ui
        .upload(
            "iris",
            "x.csv",
            b"sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4,5\n".to_vec(),
            "show",
        )
        .await;
    let empty = ui.upload("iris", "", Vec::new(), "show").await;

    assert_eq!(malformed.status, 400);
    assert!(
        malformed.text("#error-summary p").contains("line 2: has 5 fields but the header has 4"),
        "{}",
        malformed.body
    );
    assert_eq!(empty.status, 400);
    assert!(empty.text("#error-summary p").contains("Choose a CSV file first"), "{}", empty.body);
}

#[tokio::test]
async fn an_upload_over_the_limit_gets_a_page_not_a_reset_connection() {
    let ui = spawn_stack_with_upload_limit(2_048).await;
    let big = IRIS.repeat(200).into_bytes();

    let page = ui.upload("iris", "big.csv", big, "show").await;

    assert_eq!(page.status, 413);
    assert_eq!(page.text("h1"), "The file is too large");
    assert!(page.text(".error-page").contains("up to 2 KB"), "{}", page.body);
    assert_eq!(page.attr(".actions a.button", "href").as_deref(), Some("/models/iris"));
}
