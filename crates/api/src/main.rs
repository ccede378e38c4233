//! The `api` binary: read settings, start logging, load the models, serve;
//! or, as `api healthcheck`, probe a running one.

use std::process::ExitCode;

use api::config::{Command, Settings};
use api::startup::App;

fn main() -> ExitCode {
    // Batches run on the blocking pool: as many threads as cores is enough
    // for CPU-bound inference, and each extra thread keeps its own malloc arena.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    match tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(cores.max(2)).build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            report(&format!("cannot start the async runtime: {err}"));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
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
            tracing::error!(error = format!("{err:#}"), "the API stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// A runtime that cannot start is reported on stderr: logging is not set up yet.
#[expect(clippy::print_stderr, reason = "a one-shot CLI answer, before any logging is set up")]
fn report(message: &str) {
    eprintln!("{message}");
}
