//! *Why this prediction* and *What if* on the result page, without JavaScript.

use crate::helpers::spawn_stack;

fn amount(text: &str) -> f64 {
    text.trim()
        .replace('−', "-")
        .replace('+', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

#[tokio::test]
async fn the_result_page_explains_the_prediction_with_bars_that_add_up_and_a_table() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3").await;

    assert_eq!(page.status, 200);
    assert!(page.text("#why").contains("log-odds of virginica"), "{}", page.text("#why"));
    let amounts: Vec<f64> = page
        .select("#why .waterfall .amount")
        .iter()
        .map(|a| amount(&a.text().collect::<String>()))
        .collect();
    assert_eq!(amounts.len(), 6, "the average, one bar per feature, the prediction");
    let (base, steps, total) = (amounts[0], &amounts[1..5], amounts[5]);
    assert!((base + steps.iter().sum::<f64>() - total).abs() < 0.01, "{amounts:?}");
    assert!(steps.windows(2).all(|w| w[0].abs() >= w[1].abs()), "largest first: {amounts:?}");
    assert_eq!(page.select("#why svg rect.step").len(), 4);
    assert_eq!(page.select("#why table tbody tr").len(), 6, "the table says the same for screen readers");
    assert!(page.text("#why .waterfall li:nth-child(2) .name").starts_with("Petal width"));
}

#[tokio::test]
async fn what_if_points_link_to_the_same_input_with_one_value_changed() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3").await;

    let charts = page.select("#what-if figure.chart");
    assert_eq!(charts.len(), 3, "the three features that moved the prediction most");
    assert_eq!(page.select("#what-if figure.chart circle.current").len(), 3, "the current value is marked");
    let first = page.attr("#whatif-petal_width a", "href").expect("a point link");
    assert!(
        first.starts_with("/models/iris?sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=0.1"),
        "{first}"
    );
    assert!(first.ends_with("#why"), "{first}");
    let tried = ui.follow(&first).await;
    assert_eq!(tried.status, 200);
    assert_eq!(tried.attr("#f-petal_width", "value").as_deref(), Some("0.1"));
    assert!(tried.select("#why .waterfall").len() == 1);
}

#[tokio::test]
async fn a_category_what_if_offers_every_category_and_thirty_features_fit_in_ten_bars() {
    let ui = spawn_stack().await;

    let penguin = ui
        .get_model_with(
            "penguins",
            "island=Dream&bill_length_mm=41.5&bill_depth_mm=18.5&flipper_length_mm=201&body_mass_g=4000&sex=male",
        )
        .await;
    let cancer_card = ui.follow("/models/cancer").await;
    let example = cancer_card.attr(".examples a", "href").expect("an example");
    let cancer = ui.follow(&example).await;

    assert_eq!(penguin.status, 200);
    assert_eq!(penguin.select("#why .waterfall li").len(), 8);
    let sexes: Vec<String> = penguin
        .select("#whatif-sex a")
        .iter()
        .filter_map(|a| a.value().attr("href"))
        .map(str::to_owned)
        .collect();
    assert_eq!(sexes.len(), 2, "one point per category");
    assert!(sexes[0].contains("sex=female") && sexes[1].contains("sex=male"), "{sexes:?}");
    assert_eq!(
        cancer.select("#why .waterfall li").len(),
        12,
        "the average, 9 bars, the rest, the prediction"
    );
    assert!(cancer.text("#why .waterfall").contains("21 other features"));
}
