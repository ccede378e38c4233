//! Spawns the UI against the real API or a stand-in, and fetches parsed pages.

use std::path::PathBuf;
use std::sync::Once;

use axum::Router;
use scraper::{Html, Selector};
use secrecy::SecretString;
use tokio::net::TcpListener;
use ui::config::Settings;
use ui::startup::App;

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            service::log::init(ui::config::LogFormat::Pretty, "info");
        }
    });
}

/// A running UI and a client for it.
pub(crate) struct TestUi {
    address: String,
    client: reqwest::Client,
    /// The API the UI talks to.
    pub(crate) api_url: String,
    /// For an API that is down: its port, held so nothing else can take it.
    _reserved: Option<tokio::net::TcpSocket>,
}

/// A fetched page.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) html: Html,
    pub(crate) body: String,
}

/// Starts the real API on the shipped models, and the UI pointed at it.
pub(crate) async fn spawn_stack() -> TestUi {
    spawn_stack_with_keys(None, None).await
}

/// Starts the real API requiring `api_key` (if any), and the UI sending `ui_key` (if any).
pub(crate) async fn spawn_stack_with_keys(api_key: Option<&str>, ui_key: Option<&str>) -> TestUi {
    spawn_stack_with(
        |api| api.api_key = api_key.map(|k| SecretString::from(k.to_owned())),
        |ui| ui.api_key = ui_key.map(|k| SecretString::from(k.to_owned())),
    )
    .await
}

/// Starts the real API and a UI taking uploads of at most `upload_limit` bytes.
pub(crate) async fn spawn_stack_with_upload_limit(upload_limit: u64) -> TestUi {
    spawn_stack_with(|_| {}, |ui| ui.upload_limit_bytes = upload_limit).await
}

/// Starts the real API on the shipped models and the UI pointed at it, each
/// with its settings changed by `api` and `ui`.
pub(crate) async fn spawn_stack_with(
    api: impl FnOnce(&mut api::config::Settings),
    ui: impl FnOnce(&mut Settings),
) -> TestUi {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let mut settings = api::config::Settings::for_models_dir(models);
    api(&mut settings);
    let app = api::startup::App::build(settings).await.expect("Failed to build the API");
    let api_url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    init_logs();
    let mut settings = Settings::for_api(&api_url.parse().expect("API URL"));
    ui(&mut settings);
    start(settings, &api_url).await
}

/// Starts a stand-in API serving `router`, and the UI pointed at it with a 1 s timeout.
pub(crate) async fn spawn_with_stand_in(router: Router) -> TestUi {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stand-in");
    let api_url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    spawn_ui(&api_url, 1).await
}

/// Starts the UI pointed at an API that is not there: a port bound but
/// never listened on, which refuses every connection and which no other
/// server can take while the test runs.
pub(crate) async fn spawn_with_api_down() -> TestUi {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let api_url = format!("http://{}", socket.local_addr().expect("addr"));
    TestUi { _reserved: Some(socket), ..spawn_ui(&api_url, 1).await }
}

async fn spawn_ui(api_url: &str, timeout_secs: u64) -> TestUi {
    init_logs();
    let mut settings = Settings::for_api(&api_url.parse().expect("API URL"));
    settings.api_timeout_secs = timeout_secs;
    start(settings, api_url).await
}

async fn start(settings: Settings, api_url: &str) -> TestUi {
    let app = App::build(settings).await.expect("Failed to build the UI");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestUi { address, client: reqwest::Client::new(), api_url: api_url.to_owned(), _reserved: None }
}

impl TestUi {
    async fn fetch(&self, path_and_query: &str, request_id: Option<&str>) -> Page {
        let mut request = self.client.get(format!("{}{path_and_query}", self.address));
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.expect("GET failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, html: Html::parse_document(&body), body }
    }

    pub(crate) async fn get_home(&self) -> Page {
        self.fetch("/", None).await
    }

    /// Any path of the UI, with its query string.
    pub(crate) async fn fetch_path(&self, path_and_query: &str) -> Page {
        self.fetch(path_and_query, None).await
    }

    pub(crate) async fn get_health(&self) -> Page {
        self.fetch("/healthz", None).await
    }

    pub(crate) async fn get_model_form(&self, name: &str) -> Page {
        self.fetch(&format!("/models/{name}"), None).await
    }

    /// The form page with a query string (a submission, an example link or a retry).
    pub(crate) async fn get_model_with(&self, name: &str, query: &str) -> Page {
        self.fetch(&format!("/models/{name}?{query}"), None).await
    }

    /// Follows a link found in a page (an example, a retry, the stylesheet).
    pub(crate) async fn follow(&self, href: &str) -> Page {
        let href = href.split('#').next().unwrap_or(href);
        self.fetch(href, None).await
    }

    pub(crate) async fn get_model_with_request_id(&self, name: &str, query: &str, id: &str) -> Page {
        self.fetch(&format!("/models/{name}?{query}"), Some(id)).await
    }

    /// Uploads `csv` as `file_name` with the file form's `action` button.
    pub(crate) async fn upload(&self, model: &str, file_name: &str, csv: Vec<u8>, action: &str) -> Page {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(csv)
                    .file_name(file_name.to_owned())
                    .mime_str("text/csv")
                    .expect("mime"),
            )
            .text("action", action.to_owned());
        let response = self
            .client
            .post(format!("{}/models/{model}/file", self.address))
            .multipart(form)
            .send()
            .await
            .expect("POST failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, html: Html::parse_document(&body), body }
    }

    pub(crate) async fn get_unknown_page(&self) -> Page {
        self.fetch("/no/such/page", None).await
    }
}

impl Page {
    /// Every element matching `css`.
    pub(crate) fn select(&self, css: &str) -> Vec<scraper::ElementRef<'_>> {
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e}"));
        self.html.select(&selector).collect()
    }

    /// The first element matching `css`, or a panic naming it.
    pub(crate) fn one(&self, css: &str) -> scraper::ElementRef<'_> {
        self.select(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css} in:\n{}", self.body))
    }

    /// The text of the first element matching `css`, whitespace folded.
    pub(crate) fn text(&self, css: &str) -> String {
        self.one(css).text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// An attribute of the first element matching `css`.
    pub(crate) fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.one(css).value().attr(name).map(str::to_owned)
    }

    pub(crate) fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
}
