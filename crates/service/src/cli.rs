//! What both binaries' command lines share: how a service is served
//! ([`ServeArgs`], flattened into each one's settings), the `healthcheck`
//! subcommand, the log format and secrets read from the environment.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::serve::ConnectionLimits;

/// How a service listens, logs, holds connections and stops: the settings
/// both services share, each a flag and an environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Seconds a client may take to send its request headers before the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_read_timeout_secs: u64,

    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C (Render allows 30).
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout_secs: u64,

    /// Open connections at most (each costs about 12 KiB; 10,000 fit a 512 MB
    /// instance); past it new connections wait in the listen backlog.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Milliseconds after SIGTERM during which open connections are still
    /// served, each answer carrying `Connection: close`, before idle ones close.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub shutdown_grace_ms: u64,
}

impl ServeArgs {
    /// Where to listen: the host and `port`.
    pub fn address(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.host, port)
    }

    /// How long in-flight requests may take to finish once a stop is asked for.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    /// The limits the serve loop holds connections to.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            drain_timeout: self.shutdown_timeout(),
            close_grace: Duration::from_millis(self.shutdown_grace_ms),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

/// What a binary does besides serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Exit 0 if the service on 127.0.0.1:PORT answers GET /healthz with 200 (for container health checks).
    Healthcheck,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Reads a secret setting; clap's `value_parser` for `Option<SecretString>`.
///
/// Never fails: the value is only wrapped, so it cannot leak through a
/// `Debug` print of the settings.
pub fn parse_secret(raw: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(raw.to_owned()))
}

/// The secret, unless it is unset or empty (an empty env var means "unset":
/// platforms often cannot delete a variable, only blank it).
pub fn non_empty(secret: Option<&SecretString>) -> Option<&SecretString> {
    secret.filter(|s| !s.expose_secret().is_empty())
}

/// Settings of type `T` from `args` (the flags after the program name)
/// alone: every other option takes its declared default and no environment
/// variable is read, so tests and embedders are not at the mercy of the shell.
pub fn from_args_only<T, I, A>(args: I) -> Result<T, clap::Error>
where
    T: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let command = T::command().mut_args(|arg| arg.env(None));
    let program = OsString::from(command.get_name().to_owned());
    let matches =
        command.try_get_matches_from(std::iter::once(program).chain(args.into_iter().map(Into::into)))?;
    T::from_arg_matches(&matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_secret_counts_as_unset() {
        let empty = parse_secret("").expect("parses");
        let set = parse_secret("k").expect("parses");

        assert!(non_empty(Some(&empty)).is_none());
        assert!(non_empty(None).is_none());
        assert_eq!(non_empty(Some(&set)).map(|s| s.expose_secret().to_owned()), Some("k".to_owned()));
    }
}
