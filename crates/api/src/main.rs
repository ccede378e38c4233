//! The `api` binary: read settings, start logging, load the models, serve;
//! or, as `api healthcheck`, probe a running one.

use std::process::ExitCode;
use std::time::Duration;

use api::config::{Command, Settings};
use api::startup::App;
use api::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::load();
    if settings.command == Some(Command::Healthcheck) {
        return match api_types::probe::healthz(settings.port, Duration::from_secs(3)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(reason) => {
                report_unhealthy(&reason);
                ExitCode::FAILURE
            }
        };
    }
    telemetry::init(settings.log_format);
    telemetry::log_panics();
    let result = match App::build(settings).await {
        Ok(app) => app.run_until_stopped().await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "the API stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// The health probe's verdict goes to stderr, where `docker inspect` shows it.
#[expect(clippy::print_stderr, reason = "a one-shot CLI answer, before any logging is set up")]
fn report_unhealthy(reason: &str) {
    eprintln!("unhealthy: {reason}");
}
