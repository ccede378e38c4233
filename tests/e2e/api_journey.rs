//! A developer's first minutes with the API: discover the models, then predict with each.

use api_types::{ModelDetails, ModelList, PredictResponse, Prediction};
use serde_json::json;

use crate::helpers::spawn_api;

#[tokio::test]
async fn a_developer_lists_the_models_and_gets_a_prediction_for_each_cards_examples() {
    let base = spawn_api().await;
    let client = reqwest::Client::new();

    let list: ModelList = client
        .get(format!("{base}/models"))
        .send()
        .await
        .expect("GET /models")
        .json()
        .await
        .expect("model list");
    assert_eq!(list.models.len(), 7);

    for summary in &list.models {
        let details: ModelDetails = client
            .get(format!("{base}/models/{}", summary.name))
            .send()
            .await
            .expect("GET /models/{name}")
            .json()
            .await
            .expect("model details");
        assert_eq!(summary.features, details.card.features.len(), "{}", summary.name);
        let card = &details.card;
        if card.onnx.input.is_some() {
            assert_eq!(details.signature.inputs[0].shape, vec![None, Some(card.features.len())]);
        } else {
            assert_eq!(
                details.signature.inputs.len(),
                card.features.len(),
                "{}: one input per feature",
                card.name
            );
        }
        assert!(!card.examples.is_empty(), "{} has no examples", card.name);

        for example in &card.examples {
            let response = client
                .post(format!("{base}/models/{}/predict", card.name))
                .json(&example.values)
                .send()
                .await
                .expect("POST predict");
            assert_eq!(response.status(), 200, "{}: {}", card.name, example.label);
            let answer: PredictResponse<'static> = response.json().await.expect("prediction");
            assert_eq!(answer.model, card.name);
            match answer.prediction {
                Prediction::Classification(c) => assert!(card.classes.iter().any(|class| *class == c.label)),
                Prediction::Regression(r) => assert!(r.value.is_finite()),
            }
        }
    }
}

#[tokio::test]
async fn the_readme_curl_example_gets_setosa() {
    let base = spawn_api().await;

    let response = reqwest::Client::new()
        .post(format!("{base}/predict"))
        .json(&json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}))
        .send()
        .await
        .expect("POST /predict");

    assert_eq!(response.status(), 200);
    let answer: PredictResponse<'static> = response.json().await.expect("prediction");
    let Prediction::Classification(c) = answer.prediction else { panic!("iris is a classifier") };
    assert_eq!((c.label.as_ref(), c.class_index), ("setosa", 0));
}
