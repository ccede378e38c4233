//! The current request's id, scoped to the task answering it, so an error
//! body written anywhere below the exchange middleware can quote it.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// Runs `answer` with `id` as the current request id.
pub async fn scope<F: Future>(id: Arc<str>, answer: F) -> F::Output {
    REQUEST_ID.scope(id, answer).await
}

/// The current request's id, when called while answering one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok()
}
