//! `stack`: runs the API and the UI together in one process, with the
//! shipped models: the one command to try the whole product.
//!
//! Each service's settings come from the environment exactly as its own
//! binary reads them (`API_KEY`, `MAX_BATCH`, `DEFAULT_MODEL`, `LOG_FORMAT`,
//! the timeouts, …); only what the two would share is stack's own: the
//! address (`STACK_HOST`), the ports (`API_PORT`, `UI_PORT`; `PORT` is
//! ignored) and the UI's `API_URL`, which points at this API. Deployments
//! run the two binaries separately.

use std::net::{IpAddr, Ipv4Addr};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (host, api_port) = (args.host.to_string(), args.api_port.to_string());
    let api_settings = api::config::Settings::try_parse_from(["api", "--host", &host, "--port", &api_port])
        .context("Invalid API settings in the environment")?;
    service::log::init(api_settings.serve.log_format, "info");
    service::log::log_panics();
    let api = api::startup::App::build(api_settings).await.context("Failed to start the API")?;
    let api_url = format!("http://{}:{}", loopback_for(args.host), api.port());

    let ui_port = args.ui_port.to_string();
    let ui_settings = ui::config::Settings::try_parse_from([
        "ui",
        "--host",
        &host,
        "--port",
        &ui_port,
        "--api-url",
        &api_url,
    ])
    .context("Invalid UI settings in the environment")?;
    let ui = ui::startup::App::build(ui_settings).await.context("Failed to start the UI")?;
    tracing::info!("open http://{}:{}/ in a browser (API at {api_url})", loopback_for(args.host), ui.port());

    let (api_result, ui_result) = tokio::join!(api.run_until_stopped(), ui.run_until_stopped());
    api_result.and(ui_result)
}

/// Where a browser on this machine reaches a service bound to `host`.
fn loopback_for(host: IpAddr) -> IpAddr {
    if host.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { host }
}
