//! Building and running the UI: bind, wake the API in the background, serve.

use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware;
use service::serve::{ConnectionLimits, serve};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::api_client::ApiClient;
use crate::config::Settings;
use crate::error::render_error_pages;
use crate::request_id::REQUEST_ID_HEADER;
use crate::routes;
use crate::state::AppState;
use crate::uploads::Uploads;

/// Pages load nothing but our own stylesheet; no script runs at all.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A UI whose port is bound, ready to serve.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    api: ApiClient,
    limits: ConnectionLimits,
}

impl App {
    /// Builds the router and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self> {
        let api = ApiClient::new(settings.api_url.clone(), settings.api_timeout(), settings.api_key.as_ref())
            .and_then(|api| api.with_admin_key(settings.admin_key.as_ref()))
            .context("Failed to build the API client")?;
        let upload_limit = usize::try_from(settings.upload_limit_bytes).unwrap_or(usize::MAX);
        let upload_budget = usize::try_from(settings.upload_memory_bytes).unwrap_or(usize::MAX);
        anyhow::ensure!(
            upload_budget >= upload_limit,
            "UPLOAD_MEMORY_BYTES ({upload_budget}) must hold at least one upload of UPLOAD_LIMIT_BYTES ({upload_limit})"
        );
        let uploads =
            Uploads::new(upload_limit, Duration::from_secs(settings.upload_timeout_secs), upload_budget);
        let router = ui_router(AppState { api: api.clone(), uploads });
        let addr = settings.serve.address(settings.port);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("Failed to bind {addr}"))?;
        let limits = settings.serve.limits();
        Ok(Self { listener, router, api, limits })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    ///
    /// First fires a background call to the API's `/healthz`, so an API that
    /// sleeps (as on Render's free plan) starts waking before the first visitor.
    pub async fn run_until_stopped(self) -> Result<()> {
        let addr = self.listener.local_addr().context("Failed to read the bound address")?;
        tracing::info!(%addr, api = %self.api.base(), "ready");
        let api = self.api.clone();
        tokio::spawn(async move {
            let awake = api.wake_up().await;
            tracing::info!(api = %api.base(), awake, "wake-up call to the API finished");
        });
        serve(self.listener, self.router, self.limits, service::shutdown::signal()).await?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn drop_unusable_request_id(
    mut request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let usable = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .map(|v| v.to_str().ok().and_then(service::request_id::usable).is_some());
    if usable == Some(false) {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// Every page, with error rendering, request ids, tracing and security headers.
pub fn ui_router(state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    routes::router()
        .layer(middleware::from_fn(render_error_pages))
        .layer(service::linger::LingerLayer)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("<unmatched>", |p| p.as_str());
                    let id =
                        req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // A client's id is kept only when usable (short, visible ASCII):
        // any other is dropped here, so a new one is made, and it is never echoed.
        .layer(middleware::from_fn(drop_unusable_request_id))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Pages show what a visitor typed (results carry it in the URL): no
        // shared cache keeps them; the hashed stylesheet sets its own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}
