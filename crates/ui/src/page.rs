//! Renders a page template into a response; a render failure is a `UiError`.

use askama::Template;
use axum::response::Html;

use crate::error::UiError;

/// Renders `page`, turning a template failure into a logged 500.
pub fn render<T: Template>(page: &T) -> Result<Html<String>, UiError> {
    page.render()
        .map(Html)
        .map_err(|e| UiError::Internal(anyhow::anyhow!(e).context("Failed to render a page")))
}
