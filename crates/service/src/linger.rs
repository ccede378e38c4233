//! Lingering close: a request answered before its body was read (shed with
//! 503, refused with 401, 404, 413 or 415) still has its body on the way. If
//! the connection closed at once, a client still sending would get a reset
//! instead of the answer. So the rest of the body is read and discarded
//! after the answer, up to [`LINGER_BYTES`] and [`LINGER_TIME`] (nginx's
//! `lingering_close`); past either, the connection closes.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};

/// The most body bytes read and discarded after an early answer.
pub const LINGER_BYTES: usize = 64 * 1024 * 1024;
/// The longest a connection lingers after an early answer.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// The request body, shared between the handler and this middleware, so
/// that what the handler leaves unread can still be drained.
struct Shared {
    body: Mutex<Option<Body>>,
    ended: AtomicBool,
}

struct Watched(Arc<Shared>);

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let shared = &self.0;
        let mut body = shared.body.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(body) = body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            shared.ended.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let body = self.0.body.lock().unwrap_or_else(PoisonError::into_inner);
        body.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let body = self.0.body.lock().unwrap_or_else(PoisonError::into_inner);
        body.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

/// Middleware: answers as the inner service does, then drains what the
/// request body still holds (bounded) so the client receives the answer.
pub async fn linger(request: Request, next: Next) -> Response {
    if http_body::Body::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let shared = Arc::new(Shared { body: Mutex::new(Some(body)), ended: AtomicBool::new(false) });
    let response = next.run(Request::from_parts(parts, Body::new(Watched(shared.clone())))).await;
    if !shared.ended.load(Ordering::Relaxed) {
        let left = shared.body.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(body) = left.filter(|b| !http_body::Body::is_end_stream(b)) {
            tokio::spawn(discard(body));
        }
    }
    response
}

/// Reads and drops `body` until it ends or a bound is reached.
async fn discard(body: Body) {
    let mut stream = body.into_data_stream();
    let mut left = LINGER_BYTES;
    let drained = tokio::time::timeout(LINGER_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            if chunk.len() > left {
                return false;
            }
            left -= chunk.len();
        }
        true
    })
    .await;
    if !matches!(drained, Ok(true)) {
        tracing::debug!("an unread request body went past the linger bounds; the connection closes");
    }
}
