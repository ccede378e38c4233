//! The HTTP surface: one module per resource, merged into one router and
//! one OpenAPI document from the same list, with the layers every request
//! passes through.

mod docs;
mod health;
mod metrics;
mod models;
mod predict;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;

pub use docs::{DOCS_PATH, OPENAPI_PATH};
pub use predict::predictions;

use crate::error::ApiError;
use crate::limits::{cors, enforce_deadline, panic_response};
use crate::metrics::track;
use crate::request_id::{REQUEST_ID_HEADER, scope};
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
/// and the layers, outermost first: request id, CORS, tracing, metrics,
/// request-id scope, caught panics, deadline, body limit.
pub fn api_router(
    state: AppState,
    options: &RouterOptions,
    extra: Router<AppState>,
) -> anyhow::Result<Router> {
    let (routes, spec) = OpenApiRouter::with_openapi(docs::base())
        .merge(health::router())
        .merge(models::router())
        .merge(predict::router(&state))
        .merge(metrics::router())
        .split_for_parts();
    let doc = docs::enrich(&spec, &state.registry)?;

    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let mut router = routes
        .merge(extra)
        .merge(docs::router(doc))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(middleware::from_fn_with_state(state.request_timeout, enforce_deadline))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(scope))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("<unmatched>", |p| p.as_str());
                    let id = req
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        );
    if let Some(cors) = cors(&options.cors_origins)? {
        router = router.layer(cors);
    }
    Ok(router
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state))
}
