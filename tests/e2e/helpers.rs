//! Starts the real services on 127.0.0.1:0 with the shipped models (or others).

use std::path::PathBuf;

use api::config::Settings;
use api::startup::App;

/// The repository's `models/` directory.
pub(crate) fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Starts the API and returns its base URL.
pub(crate) async fn spawn_api() -> String {
    spawn_api_on(models_dir()).await
}

/// Starts the API on the models in `dir` and returns its base URL.
pub(crate) async fn spawn_api_on(dir: PathBuf) -> String {
    let app = App::build(Settings::for_models_dir(dir)).await.expect("Failed to build the API");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

/// The base URLs of a running API and the UI pointed at it.
pub(crate) struct Stack {
    pub(crate) ui: String,
    pub(crate) api: String,
}

/// Starts the API and the UI pointed at it.
pub(crate) async fn spawn_stack() -> Stack {
    spawn_stack_on(models_dir()).await
}

/// Starts the API on the models in `dir` and the UI pointed at it.
pub(crate) async fn spawn_stack_on(dir: PathBuf) -> Stack {
    let api_url = spawn_api_on(dir).await;
    let settings = ui::config::Settings::for_api(&api_url.parse().expect("API URL"));
    let app = ui::startup::App::build(settings).await.expect("Failed to build the UI");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Stack { ui: url, api: api_url }
}
