//! The `ui` binary: read settings, start logging, bind, serve; or, as
//! `ui healthcheck`, probe a running one.

use std::process::ExitCode;

use ui::config::{Command, Settings};
use ui::startup::App;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::load();
    if settings.command == Some(Command::Healthcheck) {
        return service::probe::healthcheck_command(settings.port);
    }
    service::log::init(settings.serve.log_format, "info");
    service::log::log_panics();
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
