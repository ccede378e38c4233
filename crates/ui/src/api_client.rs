//! The typed HTTP client of the prediction API: the only code that knows its paths.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use api_types::{
    BatchPredictResponse, ExplainResponse, Instance, ModelDetails, ModelList, Monitoring, PredictResponse,
    Problem, WhatIfResponse,
};
use axum::body::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

/// How long the start-up wake-up call waits: a sleeping free-plan service takes 30–60 s.
const WAKE_UP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a file's predictions may take: up to MAX_BATCH rows, read and answered.
const FILE_TIMEOUT: Duration = Duration::from_secs(120);
/// A refused or unroutable connection should fail fast, not use the whole timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the API gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Outage {
    /// Refused, timed out, or a 5xx: asleep, starting or failing.
    #[error("{0}")]
    Down(String),
    /// A 503 with Retry-After: it answers, but is at its limit of predictions at once.
    #[error("busy (503 with Retry-After)")]
    Busy,
}

/// What went wrong talking to the API, named for what the UI shows.
#[derive(Debug, thiserror::Error)]
pub enum ApiClientError {
    /// Refused, timed out, or answered 5xx: asleep or restarting, or busy.
    #[error("the prediction service is not responding: {0}")]
    Unavailable(Outage),
    /// 401: the API wants a key we do not have (or have wrong): a deployment mistake.
    #[error("the prediction service rejected our API key: set API_KEY to the API's key")]
    Unauthorized,
    /// 404: no such model.
    #[error("the prediction service has no such model")]
    NotFound,
    /// 422: the API rejected the input, with its field problems.
    #[error("the prediction service rejected the input")]
    Invalid(Problem),
    /// 400 or 413: the API could not read the input at all (a malformed or too large file).
    #[error("the prediction service could not read the input")]
    Unreadable(Problem),
    /// 409: the model predicts, but not this (an explanation without
    /// background rows, drift without a reference profile); the reason.
    #[error("the prediction service declines this for the model")]
    Declined(Problem),
    /// Anything else: a contract mismatch, logged as a bug.
    #[error("unexpected answer from the prediction service: {0}")]
    Unexpected(String),
}

/// How long a model card is reused before it is fetched again: a result
/// page then needs one API call instead of two, and a model the API
/// reloaded shows its new card within this long.
const CARD_TTL: Duration = Duration::from_secs(5);

/// Model cards fetched recently, by name.
type CardCache = Arc<Mutex<HashMap<String, (Instant, ModelDetails)>>>;

/// A cheap-to-clone client bound to the API's base URL.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    cards: CardCache,
    /// `Authorization` for what only an operator reads (monitoring), when the API has an admin key.
    admin: Option<HeaderValue>,
}

impl ApiClient {
    /// A client for the API at `base`; each call may take up to `timeout`.
    /// With `api_key`, every call carries `Authorization: Bearer <key>`.
    pub fn new(base: Url, timeout: Duration, api_key: Option<&SecretString>) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key.filter(|k| !k.expose_secret().is_empty()) {
            let mut value = HeaderValue::try_from(format!("Bearer {}", key.expose_secret()))
                .context("API_KEY holds characters an HTTP header cannot carry")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("modelserve-ui/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self { http, base, cards: CardCache::default(), admin: None })
    }

    /// This client, sending `admin_key` (when set) with what only an operator
    /// reads: the monitoring figures.
    pub fn with_admin_key(mut self, admin_key: Option<&SecretString>) -> anyhow::Result<Self> {
        self.admin = match admin_key.filter(|k| !k.expose_secret().is_empty()) {
            Some(key) => {
                let mut value = HeaderValue::try_from(format!("Bearer {}", key.expose_secret()))
                    .context("ADMIN_KEY holds characters an HTTP header cannot carry")?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(self)
    }

    /// The API's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `GET /models?offset=…`: the page of models starting at `offset`.
    pub async fn list_models(&self, offset: usize, request_id: &str) -> Result<ModelList, ApiClientError> {
        let mut url = self.url(&["models"]);
        if offset > 0 {
            url.query_pairs_mut().append_pair("offset", &offset.to_string());
        }
        self.send(self.http.get(url), request_id).await
    }

    /// `GET /models/{name}`, reusing a card fetched in the last [`CARD_TTL`].
    pub async fn model(&self, name: &str, request_id: &str) -> Result<ModelDetails, ApiClientError> {
        if let Some(card) = self.cached_card(name) {
            return Ok(card);
        }
        let card: ModelDetails = self.send(self.http.get(self.url(&["models", name])), request_id).await?;
        if let Ok(mut cards) = self.cards.lock() {
            cards.insert(name.to_owned(), (Instant::now(), card.clone()));
        }
        Ok(card)
    }

    /// `GET /models/{name}/card.toml`: the card as TOML, ready to edit.
    pub async fn card_toml(&self, name: &str, request_id: &str) -> Result<String, ApiClientError> {
        let response =
            self.send_raw(self.http.get(self.url(&["models", name, "card.toml"])), request_id).await?;
        response.text().await.map_err(|e| ApiClientError::Unexpected(format!("card.toml: {e}")))
    }

    fn cached_card(&self, name: &str) -> Option<ModelDetails> {
        let cards = self.cards.lock().ok()?;
        cards.get(name).filter(|(at, _)| at.elapsed() < CARD_TTL).map(|(_, card)| card.clone())
    }

    /// `POST /models/{name}/predict`.
    pub async fn predict(
        &self,
        name: &str,
        row: &Instance,
        request_id: &str,
    ) -> Result<PredictResponse<'static>, ApiClientError> {
        self.send(self.http.post(self.url(&["models", name, "predict"])).json(row), request_id).await
    }

    /// `POST /models/{name}/explain`: the prediction and its SHAP values.
    pub async fn explain(
        &self,
        name: &str,
        row: &Instance,
        request_id: &str,
    ) -> Result<ExplainResponse<'static>, ApiClientError> {
        self.send(self.http.post(self.url(&["models", name, "explain"])).json(row), request_id).await
    }

    /// `GET /models/{name}/monitoring?window=…`: drift of the rows predicted in the window.
    pub async fn monitoring(
        &self,
        name: &str,
        window: &str,
        request_id: &str,
    ) -> Result<Monitoring, ApiClientError> {
        let mut url = self.url(&["models", name, "monitoring"]);
        url.query_pairs_mut().append_pair("window", window);
        let mut request = self.http.get(url);
        if let Some(admin) = &self.admin {
            request = request.header(AUTHORIZATION, admin.clone());
        }
        self.send(request, request_id).await
    }

    /// `POST /models/{name}/what-if?features=…`: the explained output as each of `features` sweeps its range.
    pub async fn what_if(
        &self,
        name: &str,
        row: &Instance,
        features: &[&str],
        request_id: &str,
    ) -> Result<WhatIfResponse, ApiClientError> {
        let mut url = self.url(&["models", name, "what-if"]);
        url.query_pairs_mut().append_pair("features", &features.join(","));
        self.send(self.http.post(url).json(row), request_id).await
    }

    /// `POST /models/{name}/predict/batch` with a CSV file, answered in JSON.
    pub async fn predict_file(
        &self,
        name: &str,
        csv: Bytes,
        request_id: &str,
    ) -> Result<BatchPredictResponse<'static>, ApiClientError> {
        let request = self.file_request(name, csv).header(ACCEPT, "application/json");
        let response = self.send_raw(request, request_id).await?;
        response.json().await.map_err(|e| ApiClientError::Unexpected(format!("200: {e}")))
    }

    /// `POST /models/{name}/predict/batch` with a CSV file, answered as a CSV
    /// file: the response, to stream on.
    pub async fn predict_file_as_csv(
        &self,
        name: &str,
        csv: Bytes,
        request_id: &str,
    ) -> Result<reqwest::Response, ApiClientError> {
        self.send_raw(self.file_request(name, csv).header(ACCEPT, "text/csv"), request_id).await
    }

    fn file_request(&self, name: &str, csv: Bytes) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(&["models", name, "predict", "batch"]))
            .header(CONTENT_TYPE, "text/csv")
            .timeout(FILE_TIMEOUT)
            .body(csv)
    }

    /// `GET /healthz` with a long timeout, to wake a sleeping API. Returns whether it answered.
    pub async fn wake_up(&self) -> bool {
        let request = self.http.get(self.url(&["healthz"])).timeout(WAKE_UP_TIMEOUT);
        matches!(request.send().await, Ok(r) if r.status().is_success())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        request_id: &str,
    ) -> Result<T, ApiClientError> {
        let response = self.send_raw(request, request_id).await?;
        let status = response.status();
        response.json::<T>().await.map_err(|e| ApiClientError::Unexpected(format!("{status}: {e}")))
    }

    /// Sends `request`; a successful response as it is, anything else as the error it means.
    async fn send_raw(
        &self,
        request: reqwest::RequestBuilder,
        request_id: &str,
    ) -> Result<reqwest::Response, ApiClientError> {
        let response = request
            .header("x-request-id", request_id)
            .send()
            .await
            .map_err(|e| ApiClientError::Unavailable(Outage::Down(describe(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let problem = |response: reqwest::Response| async move {
            response
                .json::<Problem>()
                .await
                .map_err(|e| ApiClientError::Unexpected(format!("{status} without a problem body: {e}")))
        };
        match status {
            StatusCode::NOT_FOUND => Err(ApiClientError::NotFound),
            StatusCode::UNAUTHORIZED => Err(ApiClientError::Unauthorized),
            StatusCode::UNPROCESSABLE_ENTITY => Err(ApiClientError::Invalid(problem(response).await?)),
            StatusCode::CONFLICT => Err(ApiClientError::Declined(problem(response).await?)),
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiClientError::Unreadable(problem(response).await?))
            }
            // A 503 with Retry-After: up, but shedding load.
            StatusCode::SERVICE_UNAVAILABLE
                if response.headers().contains_key(reqwest::header::RETRY_AFTER) =>
            {
                Err(ApiClientError::Unavailable(Outage::Busy))
            }
            s if s.is_server_error() => {
                Err(ApiClientError::Unavailable(Outage::Down(format!("answered {s}"))))
            }
            s => Err(ApiClientError::Unexpected(format!("answered {s}"))),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        format!("request failed: {e}")
    }
}
