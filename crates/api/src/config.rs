//! Settings: every option is a command-line flag and an environment variable
//! with a default. Parsed once in `main`; nothing else reads the environment.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

/// What the binary does besides serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Exit 0 if the API on 127.0.0.1:PORT answers GET /healthz with 200 (for container health checks).
    Healthcheck,
}

/// The prediction API: serves every ONNX model in MODELS_DIR over JSON.
#[derive(Debug, Clone, Parser)]
#[command(name = "api", version, about)]
pub struct Settings {
    /// Serve (the default), or run a one-off command.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Port to listen on (Render sets PORT); 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,

    /// Directory holding one sub-directory per model (card.toml + model.onnx).
    #[arg(long, env = "MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,

    /// The model `POST /predict` and `POST /predict/batch` use.
    #[arg(long, env = "DEFAULT_MODEL", default_value = "iris")]
    pub default_model: String,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// The most rows one batch request may hold.
    #[arg(long, env = "MAX_BATCH", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_batch: u32,

    /// When set, prediction endpoints require `Authorization: Bearer <API_KEY>`;
    /// health, model cards, docs and metrics stay open. Empty means unset.
    #[arg(long, env = "API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,

    /// Largest request body accepted, in bytes; default: 64 KiB + 1 KiB per MAX_BATCH row.
    #[arg(long, env = "BODY_LIMIT_BYTES")]
    pub body_limit_bytes: Option<usize>,

    /// Milliseconds a request may take, reading its body included, before a 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Seconds a client may take to send its request headers before the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_read_timeout_secs: u64,

    /// Prediction requests served at once; past it, 503 with Retry-After at once.
    #[arg(long, env = "MAX_CONCURRENT_PREDICTIONS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_predictions: u32,

    /// Comma-separated origins allowed to call the API from a browser (CORS); empty: CORS off.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,

    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C (Render allows 30).
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout_secs: u64,
}

impl Settings {
    /// Reads flags and environment, exiting with a usage message on bad input.
    pub fn load() -> Self {
        Self::parse()
    }

    /// Settings for tests and embedding: loopback, port 0, the given models directory.
    pub fn for_models_dir(models_dir: PathBuf) -> Self {
        Self {
            command: None,
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            models_dir,
            default_model: "iris".to_owned(),
            log_format: LogFormat::Pretty,
            max_batch: 10_000,
            shutdown_timeout_secs: 25,
            api_key: None,
            body_limit_bytes: None,
            request_timeout_ms: 30_000,
            header_read_timeout_secs: 10,
            max_concurrent_predictions: 64,
            cors_origins: Vec::new(),
        }
    }

    /// The largest body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit_bytes.unwrap_or(64 * 1024 + self.max_batch as usize * 1024)
    }

    /// The configured CORS origins, blanks dropped.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect()
    }

    /// How long in-flight requests may take to finish once a stop is asked for.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

fn parse_secret(raw: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(raw.to_owned()))
}
