//! What makes the API reload its models: changes under `MODELS_DIR` (file
//! system events, or polling where there are none) and SIGHUP. Bursts of
//! changes are coalesced, and a reload waits until the directory has been
//! quiet for a moment, so a file still being copied is not read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{PollWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

use super::Repository;

/// How long the directory must be quiet before a reload reads it.
const QUIET: Duration = Duration::from_millis(500);
/// The longest a reload waits for quiet after the first change.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// How changes to the models directory are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Watch {
    /// File system events (inotify), falling back to polling where the
    /// file system has none.
    Events,
    /// Polling every `MODELS_POLL_MS`, for network and overlay file systems
    /// whose events do not reach the container.
    Poll,
    /// Only `POST /admin/reload` and SIGHUP.
    Off,
}

/// Starts watching: returns once the watcher is in place (so a change made
/// after this returns is seen); reloads run on a task of their own.
pub fn watch(repository: Arc<Repository>, mode: Watch, poll: Duration) -> Result<()> {
    let changed = Arc::new(Notify::new());
    let watcher = start_watcher(repository.dir(), mode, poll, &changed)?;
    let hangup = hangups(changed.clone());
    tokio::spawn(async move {
        // Dropping the watcher stops it: it lives as long as this task.
        let _watcher = watcher;
        let _hangup = hangup;
        loop {
            changed.notified().await;
            // Quiet for a moment, or at most MAX_WAIT: a directory that never
            // stops changing still gets reloaded.
            let until = tokio::time::Instant::now() + MAX_WAIT;
            while tokio::time::Instant::now() < until
                && tokio::time::timeout(QUIET, changed.notified()).await.is_ok()
            {}
            if let Err(err) = repository.reload().await {
                tracing::error!(error = %format!("{err:#}"), "cannot rescan the models directory");
            }
        }
    });
    Ok(())
}

fn start_watcher(
    dir: &Path,
    mode: Watch,
    poll: Duration,
    changed: &Arc<Notify>,
) -> Result<Option<Box<dyn Watcher + Send>>> {
    let on_event = {
        let changed = changed.clone();
        move |event: notify::Result<notify::Event>| {
            // An access (a read, ours included) changes nothing.
            if event.is_ok_and(|e| !e.kind.is_access()) {
                changed.notify_one();
            }
        }
    };
    let polling = |on_event| -> Result<Box<dyn Watcher + Send>> {
        let config = notify::Config::default().with_poll_interval(poll);
        let mut watcher = PollWatcher::new(on_event, config).context("cannot poll the models directory")?;
        watcher.watch(dir, RecursiveMode::Recursive).context("cannot poll the models directory")?;
        Ok(Box::new(watcher))
    };
    match mode {
        Watch::Off => {
            tracing::info!(
                "the models directory is not watched (MODELS_WATCH=off): POST /admin/reload or SIGHUP reload it"
            );
            Ok(None)
        }
        Watch::Poll => polling(on_event).map(Some),
        Watch::Events => {
            let events = notify::recommended_watcher(on_event.clone()).and_then(|mut w| {
                w.watch(dir, RecursiveMode::Recursive)?;
                Ok(w)
            });
            match events {
                Ok(watcher) => Ok(Some(Box::new(watcher))),
                Err(err) => {
                    tracing::warn!(error = %err, poll_ms = poll.as_millis() as u64, "no file system events for the models directory; polling instead");
                    polling(on_event).map(Some)
                }
            }
        }
    }
}

/// SIGHUP asks for a reload, as it does of most Unix daemons.
fn hangups(changed: Arc<Notify>) -> Option<tokio::task::JoinHandle<()>> {
    let mut signals = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()?;
    Some(tokio::spawn(async move {
        while signals.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the models");
            changed.notify_one();
        }
    }))
}
