//! The `ui` binary: read settings, start logging, bind, serve; or, as
//! `ui healthcheck`, probe a running one.

use std::process::ExitCode;

use ui::config::{Command, Settings};
use ui::startup::App;
use ui::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::load();
    if settings.command == Some(Command::Healthcheck) {
        return api_types::probe::healthcheck_command(settings.port);
    }
    telemetry::init(settings.log_format);
    let result = match App::build(settings).await {
        Ok(app) => app.run_until_stopped().await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "the UI stopped with an error");
            ExitCode::FAILURE
        }
    }
}
