//! What both binaries' command lines share: the `healthcheck` subcommand,
//! the log format and secrets read from the environment.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

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
