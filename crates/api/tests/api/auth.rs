//! The optional API key: prediction endpoints guarded, everything else open.

use api::config::Settings;
use secrecy::SecretString;

use crate::helpers::{TestApp, iris_row, models_dir, spawn_app, spawn_app_with};

async fn spawn_with_key(key: &str) -> TestApp {
    let mut settings = Settings::for_models_dir(models_dir());
    settings.api_key = Some(SecretString::from(key.to_owned()));
    spawn_app_with(settings).await
}

#[tokio::test]
async fn with_a_key_configured_a_prediction_without_it_is_a_401_problem() {
    let app = spawn_with_key("s3cret").await;

    let reply = app.post_predict(&iris_row()).await;

    reply.assert_problem(401);
    assert_eq!(reply.www_authenticate.as_deref(), Some(r#"Bearer realm="predictions""#));
}

#[tokio::test]
async fn a_wrong_key_is_a_401() {
    let app = spawn_with_key("s3cret").await;

    let reply = app.post_predict_authorized(&iris_row(), "Bearer s3creT").await;

    reply.assert_problem(401);
}

#[tokio::test]
async fn the_right_key_gets_the_prediction() {
    let app = spawn_with_key("s3cret").await;

    let reply = app.post_predict_authorized(&iris_row(), "Bearer s3cret").await;

    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn health_and_model_cards_stay_open_with_a_key_configured() {
    let app = spawn_with_key("s3cret").await;

    assert_eq!(app.get_health().await.status, 200);
    assert_eq!(app.get_ready().await.status, 200);
    assert_eq!(app.get_models().await.status, 200);
    assert_eq!(app.get_model("iris").await.status, 200);
}

#[tokio::test]
async fn without_a_key_configured_predictions_are_open() {
    let app = spawn_app().await;

    let reply = app.post_predict_authorized(&iris_row(), "Bearer anything").await;

    assert_eq!(reply.status, 200);
}
