//! `GET /assets/{file}`: the hashed stylesheet, cacheable forever; any other name is a 404 page.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::assets::{STYLESHEET, stylesheet_file_name};
use crate::error::UiError;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}

/// Only the current hashed name exists.
async fn serve(Path(file): Path<String>) -> Result<Response, UiError> {
    if file != stylesheet_file_name() {
        return Err(UiError::PageNotFound);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response())
}
