//! Input errors shown in place: the API's 422 and text that is not a number.

use crate::helpers::spawn_stack;

#[tokio::test]
async fn an_out_of_range_value_is_shown_next_to_its_field_with_the_input_kept() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=9").await;

    assert_eq!(page.status, 422);
    assert!(
        page.text("#e-petal_width").contains("Must be between 0.1 and 4 cm; got 9."),
        "{}",
        page.text("#e-petal_width")
    );
    assert_eq!(page.attr("#f-petal_width", "value").as_deref(), Some("9"));
    assert_eq!(page.attr("#f-petal_width", "aria-invalid").as_deref(), Some("true"));
    assert!(
        page.attr("#f-petal_width", "aria-describedby")
            .is_some_and(|d| d.split(' ').any(|id| id == "e-petal_width"))
    );
    assert!(page.attr("#f-petal_width", "autofocus").is_some());
    assert_eq!(page.attr("#error-summary a", "href").as_deref(), Some("#f-petal_width"));
    assert_eq!(page.attr("#f-sepal_length", "value").as_deref(), Some("5.1"));
    assert!(page.select(".bars").is_empty(), "no prediction is shown");
}

#[tokio::test]
async fn several_api_errors_are_each_shown_and_summarised_in_form_order() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=50&sepal_width=3.5&petal_length=-1&petal_width=0.2").await;

    assert_eq!(page.status, 422);
    assert_eq!(page.select(".field .error").len(), 2);
    let anchors: Vec<&str> =
        page.select("#error-summary a").iter().filter_map(|a| a.value().attr("href")).collect();
    assert_eq!(anchors, ["#f-sepal_length", "#f-petal_length"]);
    assert!(page.attr("#f-sepal_length", "autofocus").is_some());
    assert!(page.attr("#f-petal_length", "autofocus").is_none());
}

#[tokio::test]
async fn text_that_is_not_a_number_gets_the_same_inline_error_never_a_500() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=abc&sepal_width=3.5&petal_length=1.4&petal_width=0.2").await;

    assert_eq!(page.status, 422);
    assert!(page.text("#e-sepal_length").contains("Enter a number"));
    assert_eq!(page.attr("#f-sepal_length", "value").as_deref(), Some("abc"));
    assert_eq!(page.attr("#f-sepal_length", "type").as_deref(), Some("text"));
}

#[tokio::test]
async fn text_errors_and_api_range_errors_show_together() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=abc&sepal_width=3.5&petal_length=1.4&petal_width=9").await;

    assert_eq!(page.status, 422);
    let anchors: Vec<&str> =
        page.select("#error-summary a").iter().filter_map(|a| a.value().attr("href")).collect();
    assert_eq!(anchors, ["#f-sepal_length", "#f-petal_width"]);
    assert!(page.text("#e-sepal_length").contains("Enter a number"));
    assert!(page.text("#e-petal_width").contains("Must be between"));
}

#[tokio::test]
async fn odd_query_strings_never_cause_a_500() {
    let ui = spawn_stack().await;
    for query in [
        "sepal_length=",
        "sepal_length=1e999",
        "sepal_length=NaN",
        "%FF%FE=1",
        "sepal_length=%00",
        "_retry=abc",
        "a=b&a=c",
        "sepal_length=<script>",
    ] {
        let page = ui.get_model_with("iris", query).await;

        assert!(page.status == 200 || page.status == 422, "{query}: {}", page.status);
        assert!(page.select("script").is_empty(), "{query}");
    }
}

#[tokio::test]
async fn an_unknown_model_is_a_404_page_linking_the_real_ones() {
    let ui = spawn_stack().await;

    let page = ui.get_model_form("tulip").await;

    assert_eq!(page.status, 404);
    assert_eq!(page.text("h1"), "No such model");
    let links: Vec<&str> = page.select(".links a").iter().filter_map(|a| a.value().attr("href")).collect();
    assert_eq!(
        links,
        [
            "/models/cancer",
            "/models/cars",
            "/models/diabetes",
            "/models/diabetes-trees",
            "/models/iris",
            "/models/penguins",
            "/models/wine"
        ]
    );
    assert!(!page.text(".request-id").is_empty());
}
