//! The HTTP/1.1 serve loop both services run: hyper with a header-read
//! timeout (axum's own `serve` has none, so a slow client could hold a
//! connection forever), TCP_NODELAY, and a graceful, bounded drain on
//! shutdown: accepting stops, every answer sent during a short grace period
//! carries `Connection: close` (so keep-alive clients move on after their
//! next answer instead of racing a closing socket, as Envoy drains), then
//! idle connections close and in-flight requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

/// The most bytes of a request's head (request line and headers) read; the
/// smallest buffer hyper allows is 8 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time a client gets to send its request headers.
    pub header_read_timeout: Duration,
    /// Time in-flight requests get to finish once `stop` resolves.
    pub drain_timeout: Duration,
    /// Open connections at most; past it the server stops accepting (new
    /// connections wait in the listen backlog) until one closes.
    pub max_connections: usize,
    /// Time, within `drain_timeout`, that open connections keep being
    /// served after `stop`, each answer carrying `Connection: close`,
    /// before idle ones are closed.
    pub close_grace: Duration,
}

/// Serves `app` (a router, or one wrapped in layers) on `listener` until
/// `stop` resolves, then stops accepting and waits for open connections to
/// finish their requests, at most `drain_timeout`.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let draining = Arc::new(AtomicBool::new(false));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut stop = std::pin::pin!(stop);
    loop {
        // Backpressure: with every slot taken, accept nothing until a connection ends.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Streamed answers (CSV) go out in several writes; with Nagle
                // on, each waits for the client's delayed ACK (~40 ms).
                if let Err(err) = stream.set_nodelay(true) {
                    tracing::debug!(error = %err, "cannot set TCP_NODELAY");
                }
                let service = {
                    let (app, draining) = (app.clone(), draining.clone());
                    // Not a router layer: those cost an allocation and a boxed
                    // clone per request, and this is one load and a branch.
                    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let answer = app.clone().oneshot(request.map(Body::new));
                        let draining = draining.clone();
                        async move {
                            let Ok(mut response) = answer.await;
                            if draining.load(Ordering::Relaxed) {
                                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                            }
                            Ok::<_, Infallible>(response)
                        }
                    })
                };
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .keep_alive(true)
                    // A request's head (method, path, headers) fits in this;
                    // a longer one is refused before any of it is used.
                    .max_buf_size(MAX_HEAD_BYTES)
                    .max_headers(MAX_HEADERS);
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _slot = slot;
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    let stopped = Instant::now();
    draining.store(true, Ordering::Relaxed);
    let grace = limits.close_grace.min(limits.drain_timeout);
    while graceful.count() > 0 && stopped.elapsed() < grace {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = limits.drain_timeout.saturating_sub(stopped.elapsed());
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(left) => {
            tracing::warn!(timeout_secs = limits.drain_timeout.as_secs(), "in-flight requests did not finish in time");
        }
    }
    Ok(())
}
