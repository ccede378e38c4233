//! Spawns the real API on 127.0.0.1:0 and wraps each endpoint in a method.

use std::path::PathBuf;
use std::sync::Once;

use api::config::{LogFormat, Settings};
use api::startup::App;
use serde_json::Value;

/// The repository's `models/` directory.
pub(crate) fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            service::log::init(LogFormat::Pretty, "info");
        }
    });
}

/// A running API and a client for it.
pub(crate) struct TestApp {
    address: String,
    client: reqwest::Client,
}

/// What a response said.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) retry_after: Option<String>,
    pub(crate) allow_origin: Option<String>,
    pub(crate) allow: Option<String>,
    pub(crate) csp: Option<String>,
    pub(crate) content_type: String,
    pub(crate) request_id: Option<String>,
    pub(crate) body: Value,
}

/// Starts the API on the shipped models.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::for_models_dir(models_dir())).await
}

/// Starts the API with the given settings (port 0 keeps tests apart).
pub(crate) async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_with_routes(settings, axum::Router::new()).await
}

/// Starts the API with extra routes behind the same layers.
pub(crate) async fn spawn_app_with_routes(
    settings: Settings,
    extra: axum::Router<api::state::AppState>,
) -> TestApp {
    init_logs();
    let app = App::build_with_routes(settings, extra).await.expect("Failed to build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp { address, client: reqwest::Client::new() }
}

impl TestApp {
    /// A client for an app already running at `addr`.
    pub(crate) fn at(addr: std::net::SocketAddr) -> Self {
        Self { address: format!("http://{addr}"), client: reqwest::Client::new() }
    }

    /// The app's address, for raw TCP.
    pub(crate) fn socket_addr(&self) -> std::net::SocketAddr {
        self.address.trim_start_matches("http://").parse().expect("socket address")
    }

    /// Sends the headers and the first byte of a 1,000-byte JSON body to
    /// `path`, then stops: a request the server has in hand but cannot finish.
    pub(crate) fn hold_open_request(&self, path: &str, headers: &[(&str, &str)]) -> std::net::TcpStream {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(self.socket_addr()).expect("connect");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
        let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}Content-Length: 1000\r\n\r\n{{"
        )
        .expect("write");
        stream
    }

    /// Waits until exactly `held` requests besides the asking one are in
    /// flight, as `/metrics` counts them (at most 10 s).
    pub(crate) async fn wait_until_in_flight(&self, held: usize) {
        let wanted = format!("http_requests_in_flight {}\n", held + 1);
        for _ in 0..1000 {
            if self.get_metrics().await.body.as_str().is_some_and(|text| text.contains(&wanted)) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the server never had {held} request(s) in flight");
    }

    /// `GET path` with a request id.
    pub(crate) async fn get_path_with_request_id(&self, path: &str, id: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header("x-request-id", id)
            .send()
            .await
            .expect("GET failed");
        Self::reply(response).await
    }

    /// A CORS preflight for a POST to `path` from `origin`.
    pub(crate) async fn preflight(&self, path: &str, origin: &str) -> Reply {
        let response = self
            .client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", self.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .expect("OPTIONS failed");
        Self::reply(response).await
    }
    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let request_id = header("x-request-id");
        let www_authenticate = header("www-authenticate");
        let retry_after = header("retry-after");
        let allow_origin = header("access-control-allow-origin");
        let allow = header("allow");
        let csp = header("content-security-policy");
        let text = response.text().await.expect("Failed to read the body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            www_authenticate,
            retry_after,
            allow_origin,
            allow,
            csp,
            content_type,
            request_id,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        let response = self.client.get(format!("{}{path}", self.address)).send().await.expect("GET failed");
        Self::reply(response).await
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let response =
            self.client.post(format!("{}{path}", self.address)).json(body).send().await.expect("POST failed");
        Self::reply(response).await
    }

    /// POSTs raw bytes with an optional content type to `/predict`.
    pub(crate) async fn post_predict_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Reply {
        let mut request = self.client.post(format!("{}/predict", self.address)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        Self::reply(request.send().await.expect("POST failed")).await
    }

    /// POSTs a raw JSON body to `/predict/batch`.
    pub(crate) async fn post_batch_raw(&self, body: &'static str) -> Reply {
        let response = self
            .client
            .post(format!("{}/predict/batch", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST failed");
        Self::reply(response).await
    }

    /// Sends `method` to `/predict`.
    pub(crate) async fn request_predict_with(&self, method: reqwest::Method) -> Reply {
        let response = self
            .client
            .request(method, format!("{}/predict", self.address))
            .send()
            .await
            .expect("request failed");
        Self::reply(response).await
    }

    pub(crate) async fn get_health(&self) -> Reply {
        self.get("/healthz").await
    }

    pub(crate) async fn get_health_with_request_id(&self, id: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}/healthz", self.address))
            .header("x-request-id", id)
            .send()
            .await
            .expect("GET failed");
        Self::reply(response).await
    }

    pub(crate) async fn get_openapi(&self) -> Reply {
        self.get("/openapi.json").await
    }

    pub(crate) async fn get_docs_page(&self) -> Reply {
        self.get("/docs/").await
    }

    pub(crate) async fn get_docs_asset(&self, file: &str) -> Reply {
        self.get(&format!("/docs/{file}")).await
    }

    pub(crate) async fn get_metrics(&self) -> Reply {
        self.get("/metrics").await
    }

    /// The status `method path` answers with an empty body (for route discovery).
    pub(crate) async fn request_status(&self, method: &str, path: &str) -> u16 {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response =
            self.client.request(method, format!("{}{path}", self.address)).send().await.expect("request");
        response.status().as_u16()
    }

    pub(crate) async fn get_ready(&self) -> Reply {
        self.get("/readyz").await
    }

    pub(crate) async fn get_models(&self) -> Reply {
        self.get("/models").await
    }

    pub(crate) async fn get_model(&self, name: &str) -> Reply {
        self.get(&format!("/models/{name}")).await
    }

    pub(crate) async fn get_unknown_route(&self) -> Reply {
        self.get("/no/such/route").await
    }

    /// `POST /predict` with an `Authorization` header.
    /// `POST path` (an empty JSON body) with an `Authorization` header.
    pub(crate) async fn post_predict_authorized_path(&self, path: &str, authorization: &str) -> Reply {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .header("authorization", authorization)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("POST failed");
        Self::reply(response).await
    }

    /// `GET path` with an `Authorization` header.
    pub(crate) async fn get_authorized(&self, path: &str, authorization: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header("authorization", authorization)
            .send()
            .await
            .expect("GET failed");
        Self::reply(response).await
    }

    pub(crate) async fn post_predict_authorized(&self, body: &Value, authorization: &str) -> Reply {
        let response = self
            .client
            .post(format!("{}/predict", self.address))
            .header("authorization", authorization)
            .json(body)
            .send()
            .await
            .expect("POST failed");
        Self::reply(response).await
    }

    /// `POST /v2/models/{name}/infer` with a raw body and headers.
    pub(crate) async fn post_v2_infer(&self, name: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.post(format!("{}/v2/models/{name}/infer", self.address)).body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::reply(request.send().await.expect("POST failed")).await
    }

    /// POSTs a raw body with a content type to `/predict/batch`.
    pub(crate) async fn post_batch_with_type(&self, body: String, content_type: &str) -> Reply {
        let request = self
            .client
            .post(format!("{}/predict/batch", self.address))
            .header("content-type", content_type)
            .body(body);
        Self::reply(request.send().await.expect("POST failed")).await
    }

    /// POSTs a CSV file to `path`, with an `Accept` header if given; the answer as text.
    pub(crate) async fn post_csv(
        &self,
        path: &str,
        csv: impl Into<reqwest::Body>,
        accept: Option<&str>,
    ) -> Reply {
        let mut request =
            self.client.post(format!("{}{path}", self.address)).header("content-type", "text/csv").body(csv);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        Self::reply(request.send().await.expect("POST failed")).await
    }

    /// `GET path` on the Open Inference Protocol.
    pub(crate) async fn get_v2(&self, path: &str) -> Reply {
        self.get(&format!("/v2{path}")).await
    }

    /// `POST /predict` (the default model).
    pub(crate) async fn post_predict(&self, body: &Value) -> Reply {
        self.post_json("/predict", body).await
    }

    /// `POST /predict/batch` (the default model).
    pub(crate) async fn post_predict_batch(&self, body: &Value) -> Reply {
        self.post_json("/predict/batch", body).await
    }

    /// `POST /models/{name}/predict`.
    pub(crate) async fn post_explain(&self, name: &str, body: &Value) -> Reply {
        self.post_json(&format!("/models/{name}/explain"), body).await
    }

    pub(crate) async fn post_explain_batch(&self, name: &str, body: &Value) -> Reply {
        self.post_json(&format!("/models/{name}/explain/batch"), body).await
    }

    pub(crate) async fn post_what_if(&self, name: &str, query: &str, body: &Value) -> Reply {
        self.post_json(&format!("/models/{name}/what-if{query}"), body).await
    }

    pub(crate) async fn post_model_predict(&self, name: &str, body: &Value) -> Reply {
        self.post_json(&format!("/models/{name}/predict"), body).await
    }

    /// `POST /models/{name}/predict/batch`.
    pub(crate) async fn post_model_batch(&self, name: &str, body: &Value) -> Reply {
        self.post_json(&format!("/models/{name}/predict/batch"), body).await
    }
}

impl Reply {
    /// The `(loc, type)` of every listed field error.
    pub(crate) fn error_locs(&self) -> Vec<(Value, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| (e["loc"].clone(), e["type"].as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem body with this status.
    pub(crate) fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        for key in ["type", "title", "detail"] {
            assert!(self.body[key].is_string(), "problem body lacks {key}: {}", self.body);
        }
    }
}

/// The iris example from the README and the Python peer.
pub(crate) fn iris_row() -> Value {
    serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
}
