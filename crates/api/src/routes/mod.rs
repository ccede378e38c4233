//! The HTTP surface: one module per resource, merged into one router and
//! one OpenAPI document from the same list, with the layers every request
//! passes through.

mod admin;
mod answers;
mod docs;
mod explain;
mod health;
mod metrics;
mod models;
mod monitoring;
mod predict;
mod spreadsheet;
mod v2;

use axum::Router;
use axum::http::Method;
use utoipa_axum::router::OpenApiRouter;

pub use answers::{batch as batch_answer, single as single_answer};
pub use docs::{DOCS_PATH, OPENAPI_PATH};
pub use metrics::DriftCollector;

use crate::error::ApiError;
use crate::exchange::ExchangeLayer;
use crate::state::AppState;

/// What the router needs beyond the state.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// Largest body accepted, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; empty turns CORS off.
    pub cors_origins: Vec<String>,
}

/// The whole API: routes (plus `extra`, for tests), the docs, fallbacks,
/// and the layers, outermost first: CORS (if configured), then the exchange
/// (request id, span, body limit, lingering close, deadline, caught panics,
/// metrics).
pub fn api_router(
    state: AppState,
    options: &RouterOptions,
    extra: Router<AppState>,
) -> anyhow::Result<Router> {
    let (routes, spec) = OpenApiRouter::with_openapi(docs::base())
        .merge(health::router())
        .merge(models::router())
        .merge(monitoring::router(&state))
        .merge(admin::router(&state))
        .merge(predict::router(&state))
        .merge(explain::router(&state))
        .merge(metrics::router(&state))
        .merge(v2::router(&state))
        .split_for_parts();
    docs::check(&spec, &state.models.current())?;
    let exchange = ExchangeLayer::new(state.metrics.clone(), state.request_timeout, options.body_limit);

    let mut router = routes
        .merge(extra)
        .merge(docs::router(spec))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(exchange);
    if let Some(cors) = crate::cors::layer(&options.cors_origins)? {
        router = router.layer(cors);
    }
    Ok(router.with_state(state))
}

/// No route matched: a 404, unless the method is one no route of this
/// server takes (CONNECT, TRACE, an unknown verb), which is a 501 whatever the path.
async fn not_found(method: Method) -> ApiError {
    if [Method::GET, Method::HEAD, Method::POST, Method::OPTIONS, Method::PUT, Method::PATCH, Method::DELETE]
        .contains(&method)
    {
        ApiError::RouteNotFound
    } else {
        ApiError::MethodNotImplemented
    }
}
