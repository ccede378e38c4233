//! The HTTP surface: one module per resource, merged into one router with the
//! fallbacks that keep every error in problem+json.

mod health;
mod models;
mod predict;

use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::{Router, middleware};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::require_api_key;
use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the request id, taken from the client or generated.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The whole API: routes, fallbacks and the per-request layers.
pub fn api_router(state: AppState, body_limit: usize) -> Router {
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .merge(health::router())
        .merge(models::router())
        .merge(predict::router().route_layer(middleware::from_fn_with_state(state.clone(), require_api_key)))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
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
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
