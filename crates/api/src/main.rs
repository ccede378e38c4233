//! The `api` binary: read settings, start logging, load the models, serve.

use api::config::Settings;
use api::startup::App;
use api::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load();
    telemetry::init(settings.log_format);
    let app = match App::build(settings).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "start-up failed");
            return Err(err);
        }
    };
    app.run_until_stopped().await
}
