//! CORS, for browsers calling the API from pages on other origins.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// CORS for the listed origins (`None` when the list is empty: CORS stays off).
pub fn layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o.trim())
                .map_err(|_| anyhow::anyhow!("CORS_ORIGINS: {o:?} is not a valid origin"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([header::HeaderName::from_static("x-request-id")])
            .max_age(Duration::from_secs(600)),
    ))
}
