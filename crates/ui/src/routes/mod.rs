//! The pages: one module per page, merged into one router.

mod assets;
mod health;
mod home;
pub mod model;

use axum::Router;

use crate::error::UiError;
use crate::state::AppState;

/// Every page and asset, with the 404 fallback.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(home::router())
        .merge(model::router())
        .merge(assets::router())
        .fallback(|| async { UiError::PageNotFound })
}
