//! Predictions through the UI, checked against the API's own answers.

use api_types::{ModelList, PredictResponse, Prediction};

use crate::helpers::{spawn_stack, spawn_stack_with_keys};

#[tokio::test]
async fn every_example_of_every_model_shows_the_apis_prediction() {
    let ui = spawn_stack().await;
    let client = reqwest::Client::new();
    let list: ModelList =
        client.get(format!("{}/models", ui.api_url)).send().await.expect("API").json().await.expect("list");

    for summary in &list.models {
        let details: api_types::ModelDetails = client
            .get(format!("{}/models/{}", ui.api_url, summary.name))
            .send()
            .await
            .expect("API")
            .json()
            .await
            .expect("card");
        let card = &details.card;
        let form = ui.get_model_form(&card.name).await;
        let hrefs: Vec<String> = form
            .select(".examples a")
            .iter()
            .filter_map(|a| a.value().attr("href").map(str::to_owned))
            .collect();
        assert!(!hrefs.is_empty(), "{} has no example links", card.name);

        for (href, example) in hrefs.iter().zip(&card.examples) {
            let page = ui.follow(href).await;
            let expected: PredictResponse<'static> = client
                .post(format!("{}/models/{}/predict", ui.api_url, card.name))
                .json(&example.values)
                .send()
                .await
                .expect("API predict")
                .json()
                .await
                .expect("prediction");

            assert_eq!(page.status, 200, "{href}");
            match expected.prediction {
                Prediction::Classification(c) => {
                    assert_eq!(page.text("#result .verdict .label"), c.label, "{href}");
                    assert_eq!(page.select("#result .bars li").len(), card.classes.len());
                }
                Prediction::Regression(r) => {
                    let shown: f64 = page.text("#result .verdict .value").parse().expect("a number");
                    assert!(
                        (shown - f64::from(r.value)).abs() <= 0.05 * f64::from(r.value).abs().max(1.0),
                        "{href}"
                    );
                    assert_eq!(page.text("#result .verdict .unit"), r.unit.unwrap_or_default().as_ref());
                }
            }
            for f in &card.features {
                let shown = page.attr(&format!("#f-{}", f.name), "value");
                if f.choices.is_none() && f.categories.is_none() {
                    assert_eq!(
                        shown.map(|v| v.parse::<f64>().ok()),
                        Some(example.values.get(&f.name).and_then(|v| match v {
                            api_types::FeatureValue::Number(x) => Some(*x),
                            api_types::FeatureValue::Text(_) => None,
                        })),
                        "{href}: {} kept",
                        f.name
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn class_probabilities_are_sorted_bars_with_percentages() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=6.7&sepal_width=3.0&petal_length=5.2&petal_width=2.3").await;

    assert_eq!(page.text("#result .verdict .label"), "virginica");
    let percents: Vec<f64> = page
        .select("#result .bars .pct")
        .iter()
        .map(|p| {
            p.text()
                .collect::<String>()
                .trim_end_matches('%')
                .trim_start_matches('<')
                .parse()
                .expect("percent")
        })
        .collect();
    assert_eq!(percents.len(), 3);
    assert!(percents.windows(2).all(|w| w[0] >= w[1]), "not sorted: {percents:?}");
    assert_eq!(page.select("#result .bars svg rect.fill").len(), 3);
}

#[tokio::test]
async fn a_regression_shows_where_the_value_falls_in_the_training_range() {
    let ui = spawn_stack().await;

    let page = ui
        .get_model_with("diabetes", "age=61&sex=1&bmi=25.8&bp=90&s1=280&s2=195.4&s3=55&s4=5&s5=4.9972&s6=90")
        .await;

    assert_eq!(page.status, 200);
    assert_eq!(page.text("#result .verdict .unit"), "points");
    assert_eq!(page.text(".scale-labels"), "25 346");
    assert!(page.text(".scale figcaption").contains("of the way from the lowest"));
}

#[tokio::test]
async fn a_result_page_links_to_itself_for_sharing() {
    let ui = spawn_stack().await;

    let page =
        ui.get_model_with("iris", "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2").await;

    let share = page.attr(".share a", "href").expect("share link");
    assert_eq!(share, "/models/iris?sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2");
    let again = ui.follow(&share).await;
    assert_eq!(again.text("#result .verdict .label"), "setosa");
}

#[tokio::test]
async fn the_ui_sends_its_api_key_server_side_and_never_to_the_browser() {
    let ui = spawn_stack_with_keys(Some("k3y-for-the-api"), Some("k3y-for-the-api")).await;

    let page =
        ui.get_model_with("iris", "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2").await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text("#result .verdict .label"), "setosa");
    assert!(!page.body.contains("k3y-for-the-api"));
}

#[tokio::test]
async fn a_ui_without_the_apis_key_shows_an_error_page_not_a_result() {
    let ui = spawn_stack_with_keys(Some("k3y-for-the-api"), None).await;

    let page =
        ui.get_model_with("iris", "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2").await;

    assert_eq!(page.status, 500);
    assert_eq!(page.text("h1"), "Something went wrong");
}
