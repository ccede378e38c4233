//! Lingering close: a request answered before its body was read (shed with
//! 503, refused with 401, 404, 413 or 415) still has its body on the way. If
//! the connection closed at once, a client still sending would get a reset
//! instead of the answer. So whatever part of the body the handler drops
//! unread is read and discarded, up to [`LINGER_BYTES`] and [`LINGER_TIME`]
//! (nginx's `lingering_close`); past either, the connection closes.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use tower::{Layer, Service};

/// The most body bytes read and discarded after an early answer.
pub const LINGER_BYTES: usize = 64 * 1024 * 1024;
/// The longest a connection lingers after an early answer.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// A request body that, dropped before its end, hands the rest to a task
/// that drains it. Owning the body outright (no lock, no shared state)
/// keeps a fully read body as cheap as the bare one.
struct Watched {
    body: Option<Body>,
    ended: bool,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(body) = self.body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let Some(body) = self.body.take().filter(|b| !http_body::Body::is_end_stream(b)) else { return };
        // Outside a runtime (a test dropping a request) there is no connection to keep.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(discard(body));
        }
    }
}

/// `request` with its body watched: whatever the handler leaves unread is
/// drained (bounded) so the client receives the answer.
pub fn watch(request: Request) -> Request {
    if http_body::Body::is_end_stream(request.body()) {
        return request;
    }
    request.map(|body| Body::new(Watched { body: Some(body), ended: false }))
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

/// [`watch`] as a layer, for a router with no middleware of its own to call it from.
#[derive(Debug, Clone, Copy, Default)]
pub struct LingerLayer;

impl<S> Layer<S> for LingerLayer {
    type Service = Linger<S>;

    fn layer(&self, inner: S) -> Linger<S> {
        Linger(inner)
    }
}

/// The service [`LingerLayer`] makes: the inner one, with bodies watched.
#[derive(Debug, Clone)]
pub struct Linger<S>(S);

impl<S> Service<Request> for Linger<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        self.0.call(watch(request))
    }
}
