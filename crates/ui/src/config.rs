//! Settings: every option is a command-line flag and an environment variable
//! with a default. Parsed once in `main`; nothing else reads the environment.

use std::time::Duration;

use clap::Parser;
use secrecy::SecretString;
use service::cli::parse_secret;
pub use service::cli::{Command, LogFormat, ServeArgs};
use url::Url;

/// The web UI: forms built from the prediction API's model cards.
#[derive(Debug, Clone, Parser)]
#[command(name = "ui", version, about)]
pub struct Settings {
    /// Serve (the default), or run a one-off command.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// How the service listens, logs, holds connections and stops.
    #[command(flatten)]
    pub serve: ServeArgs,

    /// Port to listen on (Render sets PORT); 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 8501)]
    pub port: u16,

    /// Base URL of the prediction API. A bare host (as Render's fromService
    /// gives) is taken as https://host.
    #[arg(long, env = "API_URL", default_value = "http://127.0.0.1:8000", value_parser = parse_api_url)]
    pub api_url: Url,

    /// Seconds to wait for the API before showing the "waking up" page.
    #[arg(long, env = "API_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub api_timeout_secs: u64,

    /// The API's key, sent as `Authorization: Bearer` on predictions; it
    /// never reaches the browser. Empty means unset.
    #[arg(long, env = "API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,

    /// Seconds a visitor's upload may take to arrive, whole; a slower one is
    /// dropped with a page saying so (a trickle cannot hold a connection).
    #[arg(long, env = "UPLOAD_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub upload_timeout_secs: u64,

    /// Bytes all uploads in flight may hold together; past it a new upload
    /// gets a "busy" page (503, Retry-After). At least UPLOAD_LIMIT_BYTES.
    #[arg(long, env = "UPLOAD_MEMORY_BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub upload_memory_bytes: u64,

    /// The API's admin key, sent only to read the monitoring figures (the
    /// API keeps them behind it when set); it never reaches the browser.
    /// Empty means unset.
    #[arg(long, env = "ADMIN_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub admin_key: Option<SecretString>,

    /// Largest CSV file a visitor may upload, in bytes; larger ones get a page saying so.
    #[arg(long, env = "UPLOAD_LIMIT_BYTES", default_value_t = 10 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub upload_limit_bytes: u64,
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

    /// Settings for tests and embedding: loopback, port 0, the given API,
    /// every other option at its default.
    pub fn for_api(api_url: &Url) -> Self {
        Self::from_args(["--host=127.0.0.1", "--port=0", &format!("--api-url={api_url}")])
            .unwrap_or_else(|e| panic!("the test settings must parse: {e}"))
    }

    /// How long one API call may take.
    pub fn api_timeout(&self) -> Duration {
        Duration::from_secs(self.api_timeout_secs)
    }
}

/// Parses the API's base URL. Render's `fromService … RENDER_EXTERNAL_URL`
/// gives a full URL, `… host` a bare host name: both work.
pub fn parse_api_url(raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_owned() } else { format!("https://{raw}") };
    let url = Url::parse(&with_scheme).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{raw:?} must be an http(s) URL with a host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::parse_api_url;

    #[test]
    fn a_full_url_is_kept() {
        assert_eq!(parse_api_url("http://127.0.0.1:8000").expect("valid").as_str(), "http://127.0.0.1:8000/");
    }

    #[test]
    fn a_bare_host_becomes_https() {
        assert_eq!(
            parse_api_url("my-api.onrender.com").expect("valid").as_str(),
            "https://my-api.onrender.com/"
        );
    }

    #[test]
    fn a_non_http_url_is_rejected() {
        assert!(parse_api_url("ftp://example.com").is_err());
        assert!(parse_api_url("http://").is_err());
    }
}
