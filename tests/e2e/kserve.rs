//! `deploy/kserve/` cross-checked against the code: the port and paths the
//! manifests name answer on the running API, every env var they set is one
//! the API reads, and the two manifests agree with each other.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::CommandFactory;
use serde_json::Value;

use crate::helpers::spawn_api;

fn manifest(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/kserve").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn env_read_by_the_api() -> BTreeSet<String> {
    api::config::Settings::command()
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect()
}

fn env_names(env: &Value) -> Vec<String> {
    env.as_array().into_iter().flatten().filter_map(|e| e["name"].as_str().map(str::to_owned)).collect()
}

#[test]
fn the_runtime_serves_onnx_over_the_v2_protocol_and_sets_only_settings_the_api_reads() {
    let runtime = manifest("servingruntime.yaml");
    let read = env_read_by_the_api();

    assert_eq!(runtime["kind"], "ServingRuntime");
    assert!(runtime["spec"]["protocolVersions"].as_array().is_some_and(|v| v == &[Value::from("v2")]));
    assert!(
        runtime["spec"]["supportedModelFormats"]
            .as_array()
            .expect("formats")
            .iter()
            .any(|f| f["name"] == "onnx")
    );
    let container = &runtime["spec"]["containers"][0];
    assert_eq!(container["name"], "kserve-container", "KServe finds the server container by this name");
    for name in env_names(&container["env"]) {
        assert!(read.contains(&name), "the runtime sets {name}, which the API never reads");
    }
    let env = |key: &str| {
        container["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == key)
            .map(|e| e["value"].clone())
    };
    assert_eq!(env("MODELS_DIR"), Some(Value::from("/mnt/models")), "KServe's storage mount");
    // Knative refuses a runtime that sets PORT: it sets it from containerPort.
    assert_eq!(env("PORT"), None, "Knative reserves PORT");
    // Without Knative (RawDeployment), the image's PORT must be the container port.
    let dockerfile =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Dockerfile.api"))
            .expect("Dockerfile.api");
    let image_port = dockerfile
        .split_whitespace()
        .find_map(|w| w.strip_prefix("PORT="))
        .and_then(|p| p.parse::<u16>().ok())
        .expect("Dockerfile.api sets PORT");
    assert_eq!(container["ports"][0]["containerPort"], u64::from(image_port));
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], u64::from(image_port), "{probe}");
    }
}

#[test]
fn the_inference_service_uses_the_runtime_and_sets_only_settings_the_api_reads() {
    let runtime = manifest("servingruntime.yaml");
    let service = manifest("inferenceservice.yaml");
    let model = &service["spec"]["predictor"]["model"];

    assert_eq!(service["kind"], "InferenceService");
    assert_eq!(model["runtime"], runtime["metadata"]["name"]);
    assert_eq!(model["modelFormat"]["name"], "onnx");
    assert_eq!(model["protocolVersion"], "v2");
    assert!(model["storageUri"].as_str().is_some_and(|u| !u.is_empty()));
    let read = env_read_by_the_api();
    for name in env_names(&model["env"]) {
        assert!(read.contains(&name), "the service sets {name}, which the API never reads");
    }
}

#[tokio::test]
async fn the_probe_and_scrape_paths_answer_200_on_the_running_api() {
    let runtime = manifest("servingruntime.yaml");
    let container = &runtime["spec"]["containers"][0];
    let port = container["ports"][0]["containerPort"].as_u64().expect("port");
    let base = spawn_api().await;

    let mut paths = Vec::new();
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            container[probe]["httpGet"]["port"].as_u64(),
            Some(port),
            "{probe} checks the served port"
        );
        paths.push(container[probe]["httpGet"]["path"].as_str().expect("path").to_owned());
    }
    let annotations = &runtime["spec"]["annotations"];
    assert_eq!(annotations["prometheus.kserve.io/port"].as_str(), Some(port.to_string().as_str()));
    paths.push(annotations["prometheus.kserve.io/path"].as_str().expect("scrape path").to_owned());

    assert_eq!(paths[..2], ["/v2/health/live", "/v2/health/ready"]);
    for path in &paths {
        let status = reqwest::get(format!("{base}{path}")).await.expect("GET").status();
        assert_eq!(status, 200, "{path}");
    }
}
