//! How the API wraps routes in its own per-request work (the exchange, the
//! gate): a type saying what to do [`Around`] a route's response, and the one
//! tower layer and service that run it. Hand-written rather than `from_fn`:
//! a `from_fn` layer boxes a clone of the rest of the stack on every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

/// The future of a wrapped route: one box, as axum boxes a route's own.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Work done around a route's response.
pub trait Around: Clone + Send + Sync + 'static {
    /// Answers `request`, calling `route` (with `oneshot`) if and when it should.
    fn around<S>(&self, route: S, request: Request) -> ResponseFuture
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static;
}

/// `A` as a tower layer: `Router::layer(Wrap(…))` or `route_layer`.
#[derive(Debug, Clone)]
pub struct Wrap<A>(pub A);

impl<A: Clone, S> Layer<S> for Wrap<A> {
    type Service = Wrapped<A, S>;

    fn layer(&self, route: S) -> Wrapped<A, S> {
        Wrapped { around: self.0.clone(), route }
    }
}

/// A route with `A` around it.
#[derive(Debug, Clone)]
pub struct Wrapped<A, S> {
    around: A,
    route: S,
}

impl<A, S> Service<Request> for Wrapped<A, S>
where
    A: Around,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The route's readiness is checked by `oneshot` when it is called.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> ResponseFuture {
        self.around.around(self.route.clone(), request)
    }
}
