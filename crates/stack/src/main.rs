//! `stack`: runs the API and the UI together in one process, on their default
//! ports, with the shipped models: the one command to try the whole product.
//!
//! Each service reads its usual flags from the environment (`PORT` is not
//! shared: use `API_PORT` and `UI_PORT` here). Deployments run the two
//! binaries separately.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Runs the prediction API and the web UI together.
#[derive(Debug, Parser)]
#[command(name = "stack", version, about)]
struct Args {
    /// Address both services listen on.
    #[arg(long, env = "STACK_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// The API's port.
    #[arg(long, env = "API_PORT", default_value_t = 8000)]
    api_port: u16,
    /// The UI's port.
    #[arg(long, env = "UI_PORT", default_value_t = 8501)]
    ui_port: u16,
    /// The models directory.
    #[arg(long, env = "MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    api::telemetry::init(api::config::LogFormat::Pretty);

    let mut api_settings = api::config::Settings::for_models_dir(args.models_dir);
    api_settings.host = args.host;
    api_settings.port = args.api_port;
    let api = api::startup::App::build(api_settings).await.context("Failed to start the API")?;
    let api_url = format!("http://{}:{}", loopback_for(args.host), api.port());

    let mut ui_settings =
        ui::config::Settings::for_api(api_url.parse().context("Failed to build the API URL")?);
    ui_settings.host = args.host;
    ui_settings.port = args.ui_port;
    let ui = ui::startup::App::build(ui_settings).await.context("Failed to start the UI")?;
    tracing::info!("open http://{}:{}/ in a browser (API at {api_url})", loopback_for(args.host), ui.port());

    let (api_result, ui_result) = tokio::join!(api.run_until_stopped(), ui.run_until_stopped());
    api_result.and(ui_result)
}

/// Where a browser on this machine reaches a service bound to `host`.
fn loopback_for(host: IpAddr) -> IpAddr {
    if host.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { host }
}
