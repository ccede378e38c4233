//! `render.yaml` cross-checked against the code: what the schema cannot see.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde::Deserialize;

use crate::helpers::spawn_api;

#[derive(Debug, Deserialize)]
struct Blueprint {
    services: Vec<Service>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    runtime: String,
    plan: Option<String>,
    region: Option<String>,
    dockerfile_path: String,
    health_check_path: String,
    build_filter: Option<BuildFilter>,
    #[serde(default)]
    env_vars: Vec<EnvVar>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildFilter {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    ignored_paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    key: String,
    generate_value: Option<bool>,
    from_service: Option<FromService>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FromService {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    env_var_key: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn blueprint() -> Blueprint {
    let text = std::fs::read_to_string(root().join("render.yaml")).expect("render.yaml");
    serde_norway::from_str(&text).expect("render.yaml parses")
}

fn service<'a>(bp: &'a Blueprint, dockerfile: &str) -> &'a Service {
    bp.services
        .iter()
        .find(|s| s.dockerfile_path.trim_start_matches("./") == dockerfile)
        .unwrap_or_else(|| panic!("no service builds {dockerfile}"))
}

/// The env vars a service's settings read, and those that need a value from outside.
fn env_vars_of(command: &clap::Command) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut read = BTreeSet::new();
    let mut required = BTreeSet::new();
    for arg in command.get_arguments() {
        if let Some(env) = arg.get_env() {
            let env = env.to_string_lossy().into_owned();
            if arg.is_required_set() && arg.get_default_values().is_empty() {
                required.insert(env.clone());
            }
            read.insert(env);
        }
    }
    (read, required)
}

/// The part of a glob before its first wildcard: it must exist in the repo.
fn literal_prefix(glob: &str) -> &str {
    let end = glob.find(['*', '?', '[']).unwrap_or(glob.len());
    glob[..end].trim_end_matches('/')
}

#[test]
fn both_services_are_free_docker_web_services_in_one_region() {
    let bp = blueprint();

    assert_eq!(bp.services.len(), 2);
    for s in &bp.services {
        assert_eq!((s.kind.as_str(), s.runtime.as_str()), ("web", "docker"), "{}", s.name);
        assert_eq!(s.plan.as_deref(), Some("free"), "{}: an omitted plan means a paid one", s.name);
        assert!(s.health_check_path.starts_with('/'), "{}", s.name);
    }
    let regions: BTreeSet<_> = bp.services.iter().map(|s| s.region.clone()).collect();
    assert_eq!(regions.len(), 1, "services in different regions: {regions:?}");
}

#[test]
fn every_dockerfile_and_build_filter_path_exists() {
    let bp = blueprint();

    for s in &bp.services {
        assert!(root().join(&s.dockerfile_path).is_file(), "{}: {} is missing", s.name, s.dockerfile_path);
        let filter = s.build_filter.as_ref().unwrap_or_else(|| panic!("{} has no buildFilter", s.name));
        for glob in filter.paths.iter().chain(&filter.ignored_paths) {
            let prefix = literal_prefix(glob);
            assert!(
                Path::new(&root()).join(prefix).exists(),
                "{}: buildFilter path {glob} matches nothing",
                s.name
            );
        }
        assert!(
            filter
                .paths
                .iter()
                .any(|p| p.trim_start_matches("./") == s.dockerfile_path.trim_start_matches("./"))
        );
    }
}

#[test]
fn a_ui_only_change_does_not_rebuild_the_api_and_the_reverse() {
    let bp = blueprint();
    let (api, ui) = (service(&bp, "Dockerfile.api"), service(&bp, "Dockerfile.ui"));
    let paths = |s: &Service| s.build_filter.as_ref().map(|f| f.paths.clone()).unwrap_or_default();

    assert!(!paths(api).iter().any(|p| p.starts_with("crates/ui")));
    assert!(!paths(ui).iter().any(|p| p.starts_with("crates/api/") || p.starts_with("models")));
}

#[test]
fn every_env_var_a_service_reads_is_set_or_defaulted_and_every_one_set_is_read() {
    let bp = blueprint();
    for (dockerfile, command) in [
        ("Dockerfile.api", api::config::Settings::command()),
        ("Dockerfile.ui", ui::config::Settings::command()),
    ] {
        let s = service(&bp, dockerfile);
        let (read, required) = env_vars_of(&command);
        let set: BTreeSet<String> = s.env_vars.iter().map(|v| v.key.clone()).collect();

        assert!(read.contains("PORT"), "{}: Render injects PORT; the service must read it", s.name);
        for env in &required {
            assert!(set.contains(env), "{}: {env} has no default and is not set in render.yaml", s.name);
        }
        for env in &set {
            assert!(read.contains(env), "{}: render.yaml sets {env}, which the service never reads", s.name);
        }
    }
}

#[test]
fn the_ui_finds_the_api_by_its_public_url_and_shares_its_generated_keys() {
    let bp = blueprint();
    let (api, ui) = (service(&bp, "Dockerfile.api"), service(&bp, "Dockerfile.ui"));
    let from = |key: &str| {
        ui.env_vars
            .iter()
            .find(|v| v.key == key)
            .and_then(|v| v.from_service.as_ref())
            .unwrap_or_else(|| panic!("the UI's {key} does not come from a service"))
    };

    let url = from("API_URL");
    assert_eq!(
        (url.kind.as_str(), url.name.as_str(), url.env_var_key.as_str()),
        ("web", api.name.as_str(), "RENDER_EXTERNAL_URL")
    );
    for name in ["API_KEY", "ADMIN_KEY"] {
        let key = from(name);
        assert_eq!((key.name.as_str(), key.env_var_key.as_str()), (api.name.as_str(), name));
        assert!(api.env_vars.iter().any(|v| v.key == name && v.generate_value == Some(true)), "{name}");
    }
    assert!(!api.env_vars.iter().any(|v| v.key == "MODEL_CONTROL"), "a deploy, not HTTP, changes the models");
    assert!(ui::config::parse_api_url("https://modelserve-api.onrender.com").is_ok());
}

#[tokio::test]
async fn each_health_check_path_answers_200_on_the_running_service() {
    let bp = blueprint();
    let api_url = spawn_api().await;
    // The UI's health check must not depend on the API: point it at nothing.
    // A port bound but never listened on refuses connections, and stays ours.
    let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
    reserved.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let dead = reserved.local_addr().expect("addr");
    let ui_settings = ui::config::Settings::for_api(&format!("http://{dead}").parse().expect("url"));
    let ui = ui::startup::App::build(ui_settings).await.expect("ui");
    let ui_url = format!("http://127.0.0.1:{}", ui.port());
    tokio::spawn(ui.run_until_stopped());

    for (dockerfile, base) in [("Dockerfile.api", &api_url), ("Dockerfile.ui", &ui_url)] {
        let path = &service(&bp, dockerfile).health_check_path;
        let status = reqwest::get(format!("{base}{path}")).await.expect("health check").status();
        assert_eq!(status, 200, "{dockerfile}: {path}");
    }
}

#[test]
fn each_dockerfile_builds_its_own_binary_and_health_checks_with_it() {
    for (dockerfile, binary) in [("Dockerfile.api", "api"), ("Dockerfile.ui", "ui")] {
        let text = std::fs::read_to_string(root().join(dockerfile)).expect("Dockerfile");
        assert!(text.contains(&format!("cargo build --profile dist --locked -p {binary}")), "{dockerfile}");
        assert!(
            text.contains(&format!("install -D target/dist/{binary} ")),
            "{dockerfile}: the dist binary ships"
        );
        assert!(text.contains("HEALTHCHECK --interval"), "{dockerfile}");
        assert!(text.contains(&format!(r#"CMD ["/app/{binary}", "healthcheck"]"#)), "{dockerfile}");
        assert_eq!(
            text.contains("COPY models"),
            binary == "api",
            "{dockerfile}: only the API image carries models"
        );
    }
}

#[test]
fn the_images_ship_stripped_binaries_built_on_base_images_pinned_by_digest() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Value = toml::from_str(&manifest).expect("toml");
    let dist = &manifest["profile"]["dist"];
    assert_eq!(dist["inherits"].as_str(), Some("release"));
    assert_eq!(dist["strip"].as_bool(), Some(true), "the images' binaries are stripped");
    for dockerfile in ["Dockerfile.api", "Dockerfile.ui"] {
        let text = std::fs::read_to_string(root().join(dockerfile)).expect("Dockerfile");
        let mut bases = 0;
        for line in text.lines() {
            let image = match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["ARG", arg, ..] if arg.starts_with("RUST_IMAGE=") => arg.trim_start_matches("RUST_IMAGE="),
                ["FROM", image, ..] if !image.starts_with("${") && !image.starts_with("chef") => image,
                _ => continue,
            };
            bases += 1;
            let digest = image.split_once("@sha256:").map(|(_, d)| d).unwrap_or_default();
            assert!(
                digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
                "{dockerfile}: {image} is not pinned by digest"
            );
        }
        assert_eq!(bases, 2, "{dockerfile}: the builder and the runtime");
    }
}
