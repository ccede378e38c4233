//! What any code answering a request may ask about it, without the request
//! in hand: its id (error bodies quote it) and the protocol its route speaks
//! (an error is written in that protocol's shape). Scoped to the task
//! answering the request by the exchange middleware.

use std::future::Future;
use std::sync::Arc;

/// The wire protocol of a route, which decides the shape of its error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Our JSON API: errors are RFC 9457 problem+json.
    Json,
    /// The Open Inference Protocol (`/v2/…`): errors are `{"error": "…"}`.
    OpenInference,
}

impl Protocol {
    /// The protocol of the route at `path`.
    pub fn of_path(path: &str) -> Self {
        if path == "/v2" || path.starts_with("/v2/") { Self::OpenInference } else { Self::Json }
    }
}

#[derive(Debug, Clone)]
struct RequestScope {
    id: Arc<str>,
    protocol: Protocol,
}

tokio::task_local! {
    static SCOPE: RequestScope;
}

/// Runs `answer` as the answer to the request `id`, on a route of `protocol`.
pub async fn scope<F: Future>(id: Arc<str>, protocol: Protocol, answer: F) -> F::Output {
    SCOPE.scope(RequestScope { id, protocol }, answer).await
}

/// The current request's id, when called while answering one.
pub fn current_id() -> Option<String> {
    SCOPE.try_with(|s| s.id.to_string()).ok()
}

/// The current request's protocol (our JSON API outside any request).
pub fn protocol() -> Protocol {
    SCOPE.try_with(|s| s.protocol).unwrap_or(Protocol::Json)
}
