//! The `ui` binary: read settings, start logging, bind, serve.

use ui::config::Settings;
use ui::startup::App;
use ui::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load();
    telemetry::init(settings.log_format);
    let app = App::build(settings).await?;
    app.run_until_stopped().await
}
