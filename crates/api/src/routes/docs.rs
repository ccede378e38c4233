//! The OpenAPI document and the interactive docs, both served by the API
//! itself (Swagger UI's files are compiled in; nothing loads from elsewhere).
//!
//! The document is generated from the same route list as the router, then
//! given real examples from the model cards and the list of model names —
//! of the models loaded when it is asked for, since they change on reload.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::repository::Registry;
use crate::serving::ServedModel;
use crate::state::AppState;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where the interactive docs are served.
pub const DOCS_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "modelserve prediction API",
        description = "Serves ONNX models: validated JSON predictions, one row or a batch, for the default model \
                       or a named one. Every error is RFC 9457 problem+json; input problems are all listed, \
                       each located in the body. When the server has an API_KEY, prediction endpoints need \
                       `Authorization: Bearer <key>`; everything else stays open."
    ),
    tags(
        (name = "predictions", description = "Predict one row or a batch"),
        (name = "models", description = "The model cards forms and clients are built from"),
        (name = "health", description = "Liveness and readiness"),
        (name = "operations", description = "Metrics"),
        (name = "open inference protocol", description = "The Open Inference Protocol (KServe V2): tritonclient, the kserve SDK and KServe call these. Errors are `{\"error\": \"…\"}`."),
    )
)]
struct ApiDoc;

/// The document's skeleton: title, description and tags.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The generated document with what only the loaded models know: examples
/// from their cards, the model names a path accepts, and the API key scheme.
pub(super) fn enrich(spec: &utoipa::openapi::OpenApi, registry: &Registry) -> anyhow::Result<Value> {
    let mut doc = serde_json::to_value(spec)?;
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer", "description": "The server's API_KEY, when it has one"}});

    let names: Vec<String> = registry.names();
    let example_name =
        registry.default_model().map_or_else(|| names.first().cloned(), |m| Some(m.card().name.clone()));
    let single = |model: &ServedModel| -> Map<String, Value> {
        model
            .card()
            .examples
            .iter()
            .map(|e| {
                (
                    format!("{}: {}", model.card().name, e.label),
                    json!({"summary": e.label, "value": e.values}),
                )
            })
            .collect()
    };
    let batch = |model: &ServedModel| -> Map<String, Value> {
        let rows: Vec<&_> = model.card().examples.iter().map(|e| &e.values).collect();
        let mut examples = Map::new();
        if !rows.is_empty() {
            examples.insert(
                model.card().name.clone(),
                json!({"summary": format!("{}: every example row", model.card().title), "value": {"instances": rows}}),
            );
        }
        examples
    };
    let all = |per_model: &dyn Fn(&ServedModel) -> Map<String, Value>| -> Map<String, Value> {
        registry.models().flat_map(|m| per_model(m)).collect()
    };

    let paths = doc["paths"].as_object_mut().ok_or_else(|| anyhow::anyhow!("the document has no paths"))?;
    for (path, examples) in [
        ("/predict", registry.default_model().map(|m| single(m)).unwrap_or_default()),
        ("/predict/batch", registry.default_model().map(|m| batch(m)).unwrap_or_default()),
        ("/models/{name}/predict", all(&single)),
        ("/models/{name}/predict/batch", all(&batch)),
    ] {
        let Some(post) = paths.get_mut(path).and_then(|p| p.get_mut("post")) else {
            anyhow::bail!("the document lacks POST {path}");
        };
        post["requestBody"]["content"]["application/json"]["examples"] = Value::Object(examples);
        // The key is optional: an empty requirement means "no key needed" when the server has none.
        post["security"] = json!([{}, {"bearer": []}]);
    }
    for path in ["/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"] {
        let Some(post) = paths.get_mut(path).and_then(|p| p.get_mut("post")) else {
            anyhow::bail!("the document lacks POST {path}");
        };
        post["security"] = json!([{}, {"bearer": []}]);
    }
    for item in paths.values_mut() {
        for operation in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()) {
            for param in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                if param["name"] == "name" && param["in"] == "path" {
                    param["schema"] = json!({"type": "string", "enum": names, "example": example_name});
                }
            }
        }
    }
    Ok(doc)
}

/// The content security policy of the docs page.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `/openapi.json` (made for the models loaded now, and kept until they
/// change) and `/docs` (Swagger UI, vendored, with the online validator off).
pub(super) fn router(spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    let made = Arc::new(Made { spec, last: Mutex::new(None) });
    let docs: Router<AppState> = SwaggerUi::new(DOCS_PATH)
        .config(Config::new([OPENAPI_PATH]).validator_url("none").try_it_out_enabled(true))
        .into();
    // The docs page runs only its own files and talks only to this server
    // (Swagger UI styles itself inline and draws icons as data: URLs).
    let docs = docs.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_POLICY),
    ));
    docs.route(OPENAPI_PATH, get(move |State(state): State<AppState>| async move { made.document(&state) }))
}

/// The generated document, and the last one enriched, for the registry it was made from.
struct Made {
    spec: utoipa::openapi::OpenApi,
    last: Mutex<Option<(Arc<Registry>, Arc<Value>)>>,
}

impl Made {
    fn document(&self, state: &AppState) -> Result<ApiJson<Arc<Value>>, ApiError> {
        let registry = state.models.current();
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*last {
            Some((made_for, doc)) if Arc::ptr_eq(made_for, &registry) => Ok(ApiJson(doc.clone())),
            _ => {
                let doc = Arc::new(enrich(&self.spec, &registry)?);
                *last = Some((registry, doc.clone()));
                Ok(ApiJson(doc))
            }
        }
    }
}

/// Checks that the document can be made (every path it enriches exists), so
/// a route renamed without its docs fails at start-up, not on a request.
pub(super) fn check(spec: &utoipa::openapi::OpenApi, registry: &Registry) -> anyhow::Result<()> {
    enrich(spec, registry).map(drop)
}
