//! `UiError`, the one error type of the UI, and the one place that chooses
//! its statuses. Errors become an [`ErrorPage`] that [`render_error_pages`]
//! turns into HTML, with the request id a user can quote.

use askama::Template;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::assets::STYLESHEET_PATH;
use crate::request_id::RequestId;

/// How often the "waking up" page reloads itself, and how many times: a
/// sleeping free-plan API needs 30–60 s, so this covers about 80 s.
pub const RETRY_SECONDS: u32 = 10;
/// The last automatic retry; after it the page only offers the Retry link.
pub const MAX_RETRIES: u32 = 8;

/// A model the user can go to instead.
#[derive(Debug, Clone)]
pub struct ModelLink {
    /// Its name (the URL segment).
    pub name: String,
    /// Its human title.
    pub title: String,
}

/// Everything that can go wrong serving a page.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// 404: the API has no model by this name.
    #[error("no model named {name:?}")]
    ModelNotFound {
        /// The requested name (shown escaped, cut to a bounded length).
        name: String,
        /// The models that exist.
        models: Vec<ModelLink>,
    },
    /// 404: no such page.
    #[error("no such page")]
    PageNotFound,
    /// 413: an uploaded file over the limit.
    #[error("the upload is larger than {limit} bytes")]
    UploadTooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// The model page to go back to.
        back: String,
    },
    /// 408: an upload did not arrive within the upload deadline.
    #[error("the upload took longer than {seconds} s")]
    UploadTooSlow {
        /// The deadline, in seconds.
        seconds: u64,
        /// The model page to go back to.
        back: String,
    },
    /// 503: uploads in flight hold all the memory they may use.
    #[error("too many uploads at once")]
    UploadsBusy {
        /// The model page to go back to.
        back: String,
    },
    /// 503: the API did not answer in time, refused, or failed, or is busy.
    #[error("the prediction service is not responding")]
    ApiUnavailable {
        /// The same page with the user's input, to try again.
        retry_url: String,
        /// Which automatic retry this is (0 for the first try).
        attempt: u32,
        /// It answered that it is at its limit (a 503 with Retry-After).
        busy: bool,
    },
    /// 500: our fault; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The data of `error.html`.
#[derive(Debug, Clone, Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    stylesheet: &'static str,
    status: u16,
    title: String,
    message: String,
    models: Vec<ModelLink>,
    retry_url: Option<String>,
    retry_label: &'static str,
    refresh_url: Option<String>,
    refresh_seconds: u32,
    request_id: String,
}

impl UiError {
    /// An unavailable-API error told why: a busy API gets the "busy" page.
    #[must_use]
    pub fn during(self, outage: &crate::api_client::Outage) -> Self {
        match self {
            Self::ApiUnavailable { retry_url, attempt, .. } => {
                Self::ApiUnavailable { retry_url, attempt, busy: *outage == crate::api_client::Outage::Busy }
            }
            other => other,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::ModelNotFound { .. } | Self::PageNotFound => StatusCode::NOT_FOUND,
            Self::UploadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadTooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UploadsBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ApiUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn page(&self) -> ErrorPage {
        let mut page = ErrorPage {
            stylesheet: STYLESHEET_PATH.as_str(),
            status: self.status().as_u16(),
            title: String::new(),
            message: String::new(),
            models: Vec::new(),
            retry_url: None,
            retry_label: "Retry now",
            refresh_url: None,
            refresh_seconds: RETRY_SECONDS,
            request_id: String::new(),
        };
        match self {
            Self::ModelNotFound { name, models } => {
                page.title = "No such model".to_owned();
                let shown: String = name.chars().take(80).collect();
                page.message =
                    format!("There is no model named “{shown}”. These are the models you can use:");
                page.models.clone_from(models);
            }
            Self::UploadTooLarge { limit, back } => {
                page.title = "The file is too large".to_owned();
                page.message = format!(
                    "Files of up to {} can be predicted here. Split the file into smaller ones, or send it to the API directly.",
                    size_in_words(*limit)
                );
                page.retry_url = Some(back.clone());
                page.retry_label = "Back to the form";
            }
            Self::UploadTooSlow { seconds, back } => {
                page.title = "The upload took too long".to_owned();
                page.message = format!(
                    "A file must arrive within {seconds} seconds. Try again on a faster connection, or send a smaller file."
                );
                page.retry_url = Some(back.clone());
                page.retry_label = "Back to the form";
            }
            Self::UploadsBusy { back } => {
                page.title = "Too many files are being uploaded".to_owned();
                page.message =
                    "Other uploads hold all the room for files right now. Try again in a few seconds."
                        .to_owned();
                page.retry_url = Some(back.clone());
                page.retry_label = "Back to the form";
            }
            Self::PageNotFound => {
                page.title = "Page not found".to_owned();
                page.message = "There is nothing at this address. Start from the list of models.".to_owned();
            }
            Self::ApiUnavailable { retry_url, attempt, busy: true } => {
                page.title = "The prediction service is busy".to_owned();
                page.retry_url = Some(retry_url.clone());
                page.message = format!(
                    "Too many predictions are running right now. This page will try again in {RETRY_SECONDS} \
                     seconds, keeping what you entered."
                );
                if *attempt < MAX_RETRIES {
                    page.refresh_url = Some(with_attempt(retry_url, attempt + 1));
                }
            }
            Self::ApiUnavailable { retry_url, attempt, busy: false } => {
                page.title = "The prediction service is not responding".to_owned();
                page.retry_url = Some(retry_url.clone());
                if *attempt < MAX_RETRIES {
                    page.message = format!(
                        "The prediction service is not responding — it may be waking up, which can take up to a minute. \
                         This page will try again in {RETRY_SECONDS} seconds, keeping what you entered."
                    );
                    page.refresh_url = Some(with_attempt(retry_url, attempt + 1));
                } else {
                    page.message =
                        "The prediction service is still not responding. Your input is kept in this page's \
                                    address: try again in a few minutes."
                            .to_owned();
                }
            }
            Self::Internal(_) => {
                page.title = "Something went wrong".to_owned();
                page.message =
                    "The page could not be shown. The error has been logged; quote the request id below \
                                if you report it."
                        .to_owned();
            }
        }
        page
    }
}

/// A byte count for people: `10 MB`, `512 KB`.
fn size_in_words(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MB", bytes / (1024 * 1024))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// `url` with its `_retry` query parameter set to `attempt`.
fn with_attempt(url: &str, attempt: u32) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "_retry") {
        pairs.append_pair(&k, &v);
    }
    pairs.append_pair("_retry", &attempt.to_string());
    format!("{path}?{}", pairs.finish())
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(err) => tracing::error!(error = format!("{err:#}"), "page failed"),
            Self::ApiUnavailable { attempt, busy, .. } => {
                tracing::warn!(attempt, busy, "prediction service unavailable");
            }
            Self::UploadTooSlow { seconds, .. } => tracing::info!(seconds, "an upload missed its deadline"),
            Self::UploadsBusy { .. } => tracing::warn!("the upload memory budget is full"),
            Self::ModelNotFound { .. } | Self::PageNotFound | Self::UploadTooLarge { .. } => {}
        }
        let mut response = self.status().into_response();
        if matches!(self, Self::ApiUnavailable { busy: true, .. } | Self::UploadsBusy { .. }) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(u64::from(RETRY_SECONDS)),
            );
        }
        response.extensions_mut().insert(self.page());
        response
    }
}

/// Renders the [`ErrorPage`] a handler's error left in the response, adding
/// the request id. The one place error HTML is produced.
pub async fn render_error_pages(request: Request, next: Next) -> Response {
    let request_id = RequestId::of(&request);
    let mut response = next.run(request).await;
    let Some(mut page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    page.request_id = request_id;
    let status = response.status();
    // Headers the error set (Retry-After) stay; the body becomes the page.
    let headers = std::mem::take(response.headers_mut());
    match page.render() {
        Ok(html) => (status, headers, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "error page failed to render");
            (status, "The page could not be shown.").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_attempt;

    #[test]
    fn the_retry_counter_replaces_the_previous_one_and_keeps_the_input() {
        assert_eq!(with_attempt("/models/iris?a=1&_retry=2", 3), "/models/iris?a=1&_retry=3");
        assert_eq!(with_attempt("/", 1), "/?_retry=1");
    }
}
