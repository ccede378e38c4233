//! The OpenAPI document and the interactive docs, both served by the API
//! itself (Swagger UI's files are compiled in; nothing loads from elsewhere).
//!
//! The document is generated from the same route list as the router, then
//! given real examples from the model cards and the list of model names.

use axum::Router;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::model::Registry;
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
    let default = registry.default_model();
    let single = |model: &crate::model::LoadedModel| -> Map<String, Value> {
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
    let batch = |model: &crate::model::LoadedModel| -> Map<String, Value> {
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
    let all = |per_model: &dyn Fn(&crate::model::LoadedModel) -> Map<String, Value>| -> Map<String, Value> {
        registry.models().flat_map(|m| per_model(m)).collect()
    };

    let paths = doc["paths"].as_object_mut().ok_or_else(|| anyhow::anyhow!("the document has no paths"))?;
    for (path, examples) in [
        ("/predict", single(default)),
        ("/predict/batch", batch(default)),
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
                    param["schema"] =
                        json!({"type": "string", "enum": names, "example": default.card().name});
                }
            }
        }
    }
    Ok(doc)
}

/// `/openapi.json` and `/docs` (Swagger UI, vendored, with the online validator off).
pub(super) fn router(doc: Value) -> Router<AppState> {
    SwaggerUi::new(DOCS_PATH)
        .external_url_unchecked(OPENAPI_PATH, doc)
        .config(Config::default().validator_url("none").try_it_out_enabled(true))
        .into()
}
