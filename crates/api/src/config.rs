//! Settings: every option is a command-line flag and an environment variable
//! with a default. Parsed once in `main`; nothing else reads the environment.

use std::path::PathBuf;

use clap::Parser;
use secrecy::SecretString;
use service::cli::parse_secret;
pub use service::cli::{Command, LogFormat, ServeArgs};

use crate::repository::Watch;

/// The prediction API: serves every ONNX model in MODELS_DIR over JSON.
#[derive(Debug, Clone, Parser)]
#[command(name = "api", version, about)]
pub struct Settings {
    /// Serve (the default), or run a one-off command.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// How the service listens, logs, holds connections and stops.
    #[command(flatten)]
    pub serve: ServeArgs,

    /// Port to listen on (Render sets PORT); 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,

    /// Directory of models: `<name>/model.onnx` (a card.toml beside it is
    /// optional), `<name>.onnx`, or `<name>/<version>/model.onnx`.
    #[arg(long, env = "MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,

    /// Refuse to start when any model fails to load (or the default model is
    /// missing), instead of serving the others and reporting the failure.
    #[arg(long, env = "STRICT_MODELS", default_value_t = false, action = clap::ArgAction::Set)]
    pub strict_models: bool,

    /// How changes to MODELS_DIR are noticed and reloaded: file system events
    /// (polling where there are none), polling, or off (POST /admin/reload and SIGHUP only).
    #[arg(long, env = "MODELS_WATCH", value_enum, default_value_t = Watch::Events)]
    pub models_watch: Watch,

    /// Follow links in MODELS_DIR that lead out of it (to a shared volume,
    /// say); off, such a link is reported and not read.
    #[arg(long, env = "MODELS_FOLLOW_LINKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub models_follow_links: bool,

    /// The largest model file loaded, in bytes; a larger one is refused
    /// before it is read.
    #[arg(long, env = "MODEL_MAX_BYTES", default_value_t = crate::serving::DEFAULT_MAX_MODEL_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub model_max_bytes: u64,

    /// Count every predicted row into its model's reference bins (models
    /// shipping reference.json) for drift monitoring; counters only, no values kept.
    #[arg(long, env = "MONITORING", default_value_t = true, action = clap::ArgAction::Set)]
    pub monitoring: bool,

    /// Milliseconds between two looks at MODELS_DIR when polling.
    #[arg(long, env = "MODELS_POLL_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub models_poll_ms: u64,

    /// The model `POST /predict` and `POST /predict/batch` use.
    #[arg(long, env = "DEFAULT_MODEL", default_value = "iris")]
    pub default_model: String,

    /// The most rows one batch request may hold.
    #[arg(long, env = "MAX_BATCH", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_batch: u32,

    /// When set, predictions, explanations and what-if curves require
    /// `Authorization: Bearer <API_KEY>`; health, readiness, model cards and
    /// docs stay open. Empty means unset.
    #[arg(long, env = "API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,

    /// When set, what an operator reads (GET /metrics, /models/{name}/monitoring,
    /// the V2 repository index) requires `Authorization: Bearer <ADMIN_KEY>`,
    /// and so does model control. Empty means unset.
    #[arg(long, env = "ADMIN_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub admin_key: Option<SecretString>,

    /// Allow loading, unloading and rescanning models over HTTP (POST
    /// /admin/reload, the V2 repository's load and unload); needs ADMIN_KEY,
    /// which those requests then carry. Off: they answer 403, and only file
    /// changes and SIGHUP reload.
    #[arg(long, env = "MODEL_CONTROL", default_value_t = false, action = clap::ArgAction::Set)]
    pub model_control: bool,

    /// Largest request body accepted, in bytes; default: 64 KiB + 1 KiB per MAX_BATCH row.
    #[arg(long, env = "BODY_LIMIT_BYTES")]
    pub body_limit_bytes: Option<usize>,

    /// Milliseconds a request may take, reading its body included, before a 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Prediction requests served at once; past it, 503 with Retry-After at once.
    #[arg(long, env = "MAX_CONCURRENT_PREDICTIONS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_predictions: u32,

    /// Explanations (and what-if sweeps) computed at once, whichever route
    /// asks (`/explain`, V2's `explanation` output); past it, 503 with
    /// Retry-After at once. Each costs milliseconds a row.
    #[arg(long, env = "MAX_CONCURRENT_EXPLANATIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_explanations: u32,

    /// Comma-separated origins allowed to call the API from a browser (CORS); empty: CORS off.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,
}

impl Settings {
    /// Reads flags and environment, exiting with a usage message on bad input.
    pub fn load() -> Self {
        Self::parse()
    }

    /// Settings from `args` (flags, after the program name) alone: every
    /// other option takes its default, and the environment is not read.
    pub fn from_args<I: IntoIterator<Item = T>, T: Into<std::ffi::OsString> + Clone>(
        args: I,
    ) -> Result<Self, clap::Error> {
        service::cli::from_args_only(args)
    }

    /// Settings for tests and embedding: loopback, port 0, the given models
    /// directory, every other option at its default.
    pub fn for_models_dir(models_dir: PathBuf) -> Self {
        let dir = models_dir.into_os_string();
        Self::from_args([
            std::ffi::OsString::from("--host=127.0.0.1"),
            "--port=0".into(),
            "--models-dir".into(),
            dir,
        ])
        .unwrap_or_else(|e| panic!("the test settings must parse: {e}"))
    }

    /// The largest body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit_bytes.unwrap_or(64 * 1024 + self.max_batch as usize * 1024)
    }

    /// The configured CORS origins, blanks dropped.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_one_declaration() {
        let s = Settings::from_args(["--port", "0"]).expect("parses");

        assert_eq!((s.port, s.max_batch, s.default_model.as_str()), (0, 10_000, "iris"));
        assert_eq!(s.body_limit(), 64 * 1024 + 10_000 * 1024);
    }

    #[test]
    fn a_bad_value_is_refused_with_the_flag_named() {
        let err = Settings::from_args(["--max-batch", "0"]).expect_err("out of range").to_string();

        assert!(err.contains("--max-batch"), "{err}");
    }
}
