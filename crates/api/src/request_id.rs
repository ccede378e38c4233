//! The request id, made available to error bodies: the id from
//! `x-request-id` (taken from the client or generated) is scoped to the
//! request's task, so any `ApiError` can quote it without being handed it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs the rest of the request with its id in scope.
pub async fn scope(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(128).collect::<String>())
        .unwrap_or_default();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// The current request's id, when called while answering one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok().filter(|id| !id.is_empty())
}
