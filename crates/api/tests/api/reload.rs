//! Models dropped in, replaced, broken, versioned and removed while the API
//! serves: cardless files inferred from their graphs, swaps under steady
//! load with no failed request, and a bad file never replacing a good model.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api::config::Settings;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, iris_row, models_dir, spawn_app_with};

/// Model control on, behind an admin key, and the header that carries it.
const CONTROL: &str = "--model-control=true";
const ADMIN: &str = "--admin-key=boss";
const BOSS: &str = "Bearer boss";

fn zoo(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../onnx-ml/tests").join(file)
}

fn expected(set: &str) -> Value {
    let text = fs::read_to_string(zoo(&format!("{set}/expected.json"))).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

/// Copies `src` to `dst` the way a careful operator does: under a temporary
/// name, then renamed into place, so the watcher never sees half a file.
fn copy_in(src: &Path, dst: &Path) {
    fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
    let part = dst.with_extension("part");
    fs::copy(src, &part).expect("copy");
    fs::rename(&part, dst).expect("rename");
}

/// A models directory holding a copy of the shipped iris (card, golden rows, background).
fn models_with_iris() -> TempDir {
    let tmp = TempDir::new().expect("temp dir");
    for file in ["model.onnx", "card.toml", "golden.json", "background.csv"] {
        copy_in(&models_dir().join("iris").join(file), &tmp.path().join("iris").join(file));
    }
    tmp
}

async fn spawn_on(dir: &Path, extra: &[&str]) -> TestApp {
    let mut args =
        vec!["--host=127.0.0.1".to_owned(), "--port=0".to_owned(), format!("--models-dir={}", dir.display())];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    spawn_app_with(Settings::from_args(args).expect("settings")).await
}

/// Polls `GET path` until `done` holds, for at most 10 s.
async fn eventually(
    app: &TestApp,
    path: &str,
    done: impl Fn(&crate::helpers::Reply) -> bool,
) -> crate::helpers::Reply {
    let started = Instant::now();
    loop {
        let reply = app.get(path).await;
        if done(&reply) {
            return reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} never got there: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The expected rows of one zoo export as JSON instances: matrix columns
/// named `f0…`, or one key per graph input.
fn instances(e: &Value) -> Vec<Value> {
    match &e["rows"] {
        Value::Array(rows) => rows
            .iter()
            .map(|row| {
                let cells = row.as_array().expect("row");
                Value::Object(cells.iter().enumerate().map(|(i, v)| (format!("f{i}"), v.clone())).collect())
            })
            .collect(),
        Value::Object(columns) => {
            let n = columns.values().next().and_then(Value::as_array).map_or(0, Vec::len);
            (0..n)
                .map(|i| Value::Object(columns.iter().map(|(k, v)| (k.clone(), v[i].clone())).collect()))
                .collect()
        }
        other => panic!("rows: {other}"),
    }
}

fn assert_probabilities_match(name: &str, answer: &Value, want: &Value, skip: &[usize]) {
    let predictions = answer["predictions"].as_array().expect("predictions");
    let want = want.as_array().expect("probabilities");
    assert_eq!(predictions.len(), want.len(), "{name}");
    for (i, (got, want)) in predictions.iter().zip(want).enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let got = got["probabilities"].as_object().expect("probabilities");
        let got: Vec<f64> = got.values().map(|p| p.as_f64().expect("number")).collect();
        let want: Vec<f64> =
            want.as_array().expect("row").iter().map(|p| p.as_f64().expect("number")).collect();
        assert_eq!(got.len(), want.len(), "{name} row {i}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "{name} row {i}: {got:?} vs onnxruntime {want:?}");
        }
    }
}

#[tokio::test]
async fn cardless_files_dropped_in_are_served_within_seconds_and_match_onnxruntime() {
    let tmp = models_with_iris();
    let app = spawn_on(tmp.path(), &[]).await;

    // A bare file (a matrix input), and a DataFrame pipeline in a directory
    // (one input per column, text categories from its encoders).
    copy_in(&zoo("zoo/iris_forest_default_op17.onnx"), &tmp.path().join("forest.onnx"));
    let pipeline = "penguins_cols_const_std_const_ohe_rf";
    copy_in(&zoo(&format!("pipelines/{pipeline}.onnx")), &tmp.path().join("penguin-rf/model.onnx"));
    let started = Instant::now();
    let details = eventually(&app, "/models/penguin-rf", |r| r.status == 200).await;
    eventually(&app, "/models/forest", |r| r.status == 200).await;
    let took = started.elapsed();

    assert!(took < Duration::from_secs(10), "served after {took:?}");
    let doc = app.get("/openapi.json").await.body;
    let names = &doc["paths"]["/models/{name}/predict"]["post"]["parameters"][0]["schema"]["enum"];
    assert_eq!(names, &json!(["forest", "iris", "penguin-rf"]), "the document lists what is loaded now");
    let v2 = app.get_v2("/models/penguin-rf").await;
    assert_eq!(v2.body["inputs"][4], json!({"name": "island", "datatype": "BYTES", "shape": [-1, 1]}));
    assert_eq!(details.body["status"]["card_source"], "inferred");
    assert_eq!(details.body["classes"], json!(["Adelie", "Chinstrap", "Gentoo"]));
    let island = &details.body["features"][4];
    assert_eq!(island["name"], "island");
    assert_eq!(island["categories"], json!(["Biscoe", "Dream", "Torgersen"]));
    let zoo_expected = expected("zoo");
    let e = &zoo_expected["iris_forest_default_op17"];
    let answer = app.post_model_batch("forest", &json!({ "instances": instances(e) })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_probabilities_match("forest", &answer.body, &e["probabilities"], &[]);

    let pipelines = expected("pipelines");
    let e = &pipelines[pipeline];
    let skip: Vec<usize> = e["unknown_category_rows"]
        .as_array()
        .map_or_else(Vec::new, |r| r.iter().filter_map(Value::as_u64).map(|i| i as usize).collect());
    let rows: Vec<Value> =
        instances(e).into_iter().enumerate().filter(|(i, _)| !skip.contains(i)).map(|(_, r)| r).collect();
    let want: Vec<Value> = e["probabilities"]
        .as_array()
        .expect("probabilities")
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(i))
        .map(|(_, p)| p.clone())
        .collect();
    let answer = app.post_model_batch("penguin-rf", &json!({ "instances": rows })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_probabilities_match(pipeline, &answer.body, &Value::Array(want), &[]);
}

#[tokio::test]
async fn the_card_toml_of_a_cardless_model_is_a_complete_card_and_a_partial_card_overrides_only_what_it_states()
 {
    let tmp = TempDir::new().expect("temp dir");
    copy_in(&zoo("zoo/iris_logistic_default_op17.onnx"), &tmp.path().join("flower/model.onnx"));
    let app = spawn_on(tmp.path(), &["--default-model=flower", "--models-watch=off", CONTROL, ADMIN]).await;

    let toml = app.get("/models/flower/card.toml").await;
    assert_eq!(toml.status, 200);
    assert!(toml.content_type.starts_with("application/toml"), "{}", toml.content_type);
    let text = toml.body.as_str().expect("text body").to_owned();
    assert!(text.contains("name = \"flower\""), "{text}");

    // The served card, saved as is, is a complete card.
    fs::write(tmp.path().join("flower/card.toml"), &text).expect("write");
    let reload = app.post_predict_authorized_path("/admin/reload", BOSS).await;
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert_eq!(reload.body["loaded"], json!(["flower"]));
    let details = app.get_model("flower").await;
    assert_eq!(details.body["status"]["card_source"], "file");

    // A card naming the first feature and the title only: the rest is the graph's.
    let partial = "title = \"Flowers\"\n[[features]]\nname = \"f0\"\nlabel = \"Sepal length\"\nunit = \"cm\"\nmin = 0.0\nmax = 10.0\n";
    fs::write(tmp.path().join("flower/card.toml"), partial).expect("write");
    app.post_predict_authorized_path("/admin/reload", BOSS).await;
    let details = app.get_model("flower").await;

    assert_eq!(details.body["status"]["card_source"], "partial");
    assert_eq!(details.body["title"], "Flowers");
    assert_eq!(details.body["classes"], json!(["0", "1", "2"]), "from the graph");
    let names: Vec<&str> = details.body["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["f0", "f1", "f2", "f3"]);
    assert_eq!(details.body["features"][0]["unit"], "cm");
    let out_of_range = app.post_predict(&json!({"f0": 11.0, "f1": 1.0, "f2": 1.0, "f3": 1.0})).await;
    out_of_range.assert_problem(422);
}

/// Clients posting the iris row as fast as they can until told to stop;
/// counts answers that are not 200 and every distinct answer seen.
struct SteadyLoad {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
    answers: Arc<std::sync::Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SteadyLoad {
    fn start(app: &TestApp, path: &str, body: &Value, clients: usize) -> Self {
        let load = Self {
            stop: Arc::new(AtomicBool::new(false)),
            ok: Arc::new(AtomicUsize::new(0)),
            failed: Arc::default(),
            answers: Arc::default(),
            tasks: Vec::new(),
        };
        let tasks = (0..clients)
            .map(|_| {
                let (stop, ok, failed, answers) =
                    (load.stop.clone(), load.ok.clone(), load.failed.clone(), load.answers.clone());
                let url = format!("http://{}{path}", app.socket_addr());
                let body = body.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    while !stop.load(Ordering::Relaxed) {
                        match client.post(&url).json(&body).send().await {
                            Ok(r) if r.status() == 200 => {
                                let text = r.text().await.unwrap_or_default();
                                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                                let label = format!("{}|{}", v["label"], v["model_version"]);
                                ok.fetch_add(1, Ordering::Relaxed);
                                let mut seen = answers.lock().expect("lock");
                                if seen.last() != Some(&label) {
                                    seen.push(label);
                                }
                            }
                            Ok(r) => {
                                let line = format!("{} {}", r.status(), r.text().await.unwrap_or_default());
                                failed.lock().expect("lock").push(line);
                            }
                            Err(e) => failed.lock().expect("lock").push(e.to_string()),
                        }
                    }
                })
            })
            .collect();
        Self { tasks, ..load }
    }

    /// Waits until the clients have had `answers` more 200s, for at most 30 s.
    async fn wait_for(&self, answers: usize) {
        let floor = self.ok.load(Ordering::Relaxed) + answers;
        let started = Instant::now();
        while self.ok.load(Ordering::Relaxed) < floor {
            let failed = self.failed.lock().expect("lock").clone();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the load never got {answers} more answers; failures: {:?}",
                &failed[..failed.len().min(5)]
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the clients, asserts every request was answered 200, and
    /// gives the distinct answers in the order they came.
    async fn stop_with_none_failed(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("client task");
        }
        let failed = self.failed.lock().expect("lock").clone();
        let ok = self.ok.load(Ordering::Relaxed);
        assert!(
            failed.is_empty(),
            "{} of {} requests failed: {:?}",
            failed.len(),
            ok + failed.len(),
            &failed[..failed.len().min(5)]
        );
        self.answers.lock().expect("lock").clone()
    }
}

#[tokio::test]
async fn a_corrupt_replacement_under_steady_load_fails_no_request_and_the_old_model_keeps_answering() {
    let tmp = models_with_iris();
    let app = spawn_on(tmp.path(), &[]).await;
    let before = app.post_predict(&iris_row()).await.body;
    let load = SteadyLoad::start(&app, "/predict", &iris_row(), 4);
    load.wait_for(200).await;

    let mut truncated = fs::read(models_dir().join("iris/model.onnx")).expect("read");
    truncated.truncate(truncated.len() / 2);
    let part = tmp.path().join("iris/model.part");
    fs::write(&part, truncated).expect("write");
    fs::rename(&part, tmp.path().join("iris/model.onnx")).expect("rename");
    let models =
        eventually(&app, "/models", |r| r.body["failures"].as_array().is_some_and(|f| !f.is_empty())).await;
    load.wait_for(200).await;
    let answers = load.stop_with_none_failed().await;

    assert_eq!(answers.len(), 1, "the answer never changed: {answers:?}");
    assert_eq!(app.post_predict(&iris_row()).await.body["probabilities"], before["probabilities"]);
    let failure = &models.body["failures"][0];
    assert_eq!(failure["model"], "iris");
    assert_eq!(failure["file"], "iris/model.onnx");
    assert_eq!(failure["still_serving"], true);
    assert!(
        failure["reason"].as_str().unwrap_or_default().contains("not a readable ONNX model"),
        "{failure}"
    );
    let details = app.get_model("iris").await;
    assert_eq!(details.body["status"]["last_error"]["file"], "iris/model.onnx");
    let ready = app.get_ready().await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["failures"][0]["model"], "iris");
    let metrics = app.get_metrics().await;
    let text = metrics.body.as_str().unwrap_or_default();
    assert!(text.contains(r#"model_loads_total{model="iris",outcome="failed"} 1"#), "{text}");
}

#[tokio::test]
async fn a_good_new_file_under_steady_load_changes_the_answers_with_no_failed_request_between() {
    let tmp = TempDir::new().expect("temp dir");
    copy_in(&zoo("zoo/iris_logistic_default_op17.onnx"), &tmp.path().join("flower/model.onnx"));
    let app = spawn_on(tmp.path(), &["--default-model=flower"]).await;
    let row = json!({"f0": 6.3, "f1": 2.8, "f2": 5.1, "f3": 1.5});
    let before = app.post_predict(&row).await.body;
    let load = SteadyLoad::start(&app, "/predict", &row, 4);
    load.wait_for(200).await;

    copy_in(&zoo("zoo/iris_gboost_default_op17.onnx"), &tmp.path().join("flower/model.onnx"));
    let started = Instant::now();
    loop {
        let now = app.post_predict(&row).await.body;
        if now["probabilities"] != before["probabilities"] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the new file never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    load.wait_for(200).await;
    load.stop_with_none_failed().await;

    let models = app.get_models().await;
    assert_eq!(models.body["failures"], json!([]));
}

#[tokio::test]
async fn a_removed_model_is_unloaded_and_answers_404_naming_the_rest() {
    let tmp = models_with_iris();
    copy_in(&zoo("zoo/iris_forest_default_op17.onnx"), &tmp.path().join("forest.onnx"));
    let app = spawn_on(tmp.path(), &[]).await;
    assert_eq!(app.get_model("forest").await.status, 200);

    fs::remove_file(tmp.path().join("forest.onnx")).expect("rm");
    let gone = eventually(&app, "/models/forest", |r| r.status == 404).await;

    gone.assert_problem(404);
    let detail = gone.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("available models: iris"), "{detail}");
    let answer = app.post_model_predict("forest", &json!({"f0": 1.0, "f1": 1.0, "f2": 1.0, "f3": 1.0})).await;
    answer.assert_problem(404);
}

#[tokio::test]
async fn version_directories_serve_the_newest_by_default_and_each_one_by_path() {
    let tmp = TempDir::new().expect("temp dir");
    copy_in(&zoo("zoo/iris_logistic_default_op17.onnx"), &tmp.path().join("flower/1/model.onnx"));
    copy_in(&zoo("zoo/iris_gboost_default_op17.onnx"), &tmp.path().join("flower/10/model.onnx"));
    copy_in(&zoo("zoo/iris_forest_default_op17.onnx"), &tmp.path().join("flower/9/model.onnx"));
    let app = spawn_on(tmp.path(), &["--default-model=flower", "--models-watch=off"]).await;
    let row = json!({"f0": 6.3, "f1": 2.8, "f2": 5.1, "f3": 1.5});

    let details = app.get_model("flower").await;
    let by_default = app.post_model_predict("flower", &row).await;
    let v10 = app.post_json("/models/flower/versions/10/predict", &row).await;
    let v1 = app.post_json("/models/flower/versions/1/predict", &row).await;
    let missing = app.post_json("/models/flower/versions/2/predict", &row).await;
    let v2 = app.get_v2("/models/flower").await;

    assert_eq!(details.body["status"]["versions"], json!(["1", "9", "10"]), "ordered as numbers");
    assert_eq!(details.body["version"], "10");
    assert_eq!(by_default.body["model_version"], "10");
    assert_eq!(by_default.body["probabilities"], v10.body["probabilities"]);
    assert_eq!(v1.body["model_version"], "1");
    assert!(v1.body["probabilities"].is_object(), "{}", v1.body);
    assert_ne!(v1.body["probabilities"], v10.body["probabilities"]);
    missing.assert_problem(404);
    assert!(
        missing.body["detail"].as_str().unwrap_or_default().contains("versions 1, 9, 10"),
        "{}",
        missing.body
    );
    assert_eq!(v2.body["versions"], json!(["1", "9", "10"]));
}

#[tokio::test]
async fn a_bad_file_at_start_up_is_reported_and_the_rest_served_unless_strict() {
    let tmp = models_with_iris();
    fs::create_dir_all(tmp.path().join("broken")).expect("mkdir");
    fs::write(tmp.path().join("broken/model.onnx"), b"not protobuf").expect("write");

    let app = spawn_on(tmp.path(), &["--models-watch=off"]).await;
    let ready = app.get_ready().await;
    let predicted = app.post_predict(&iris_row()).await;
    let broken = app.post_model_predict("broken", &iris_row()).await;
    let strict = api::startup::App::build(
        Settings::from_args([
            "--port=0",
            "--host=127.0.0.1",
            &format!("--models-dir={}", tmp.path().display()),
            "--strict-models=true",
        ])
        .expect("settings"),
    )
    .await
    .map(drop)
    .expect_err("strict refuses");

    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["models"], json!(["iris"]));
    assert_eq!(ready.body["failures"][0]["file"], "broken/model.onnx");
    assert_eq!(predicted.status, 200);
    broken.assert_problem(404);
    let detail = broken.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("broken/model.onnx failed to load"), "{detail}");
    let strict = format!("{strict:#}");
    assert!(strict.contains("STRICT_MODELS") && strict.contains("broken/model.onnx"), "{strict}");
}

#[tokio::test]
async fn without_its_default_model_the_api_serves_the_rest_and_is_not_ready() {
    let tmp = TempDir::new().expect("temp dir");
    copy_in(&zoo("zoo/iris_forest_default_op17.onnx"), &tmp.path().join("forest.onnx"));

    let app = spawn_on(tmp.path(), &["--models-watch=off"]).await;
    let ready = app.get_ready().await;
    let predict = app.post_predict(&iris_row()).await;
    let named = app.post_model_predict("forest", &json!({"f0": 1.0, "f1": 1.0, "f2": 1.0, "f3": 1.0})).await;

    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["models"], json!(["forest"]));
    predict.assert_problem(404);
    assert_eq!(named.status, 200);
}

#[tokio::test]
async fn the_v2_repository_lists_loads_and_unloads_models() {
    let tmp = models_with_iris();
    let app = spawn_on(tmp.path(), &["--models-watch=off", CONTROL, ADMIN]).await;
    copy_in(&zoo("zoo/iris_forest_default_op17.onnx"), &tmp.path().join("forest.onnx"));
    let post = |path: &'static str| app.post_predict_authorized_path(path, BOSS);

    let index = post("/v2/repository/index").await;
    let load = post("/v2/repository/models/forest/load").await;
    let ready = app.get_v2("/models/forest/ready").await;
    let unload = post("/v2/repository/models/iris/unload").await;
    let after = post("/v2/repository/index").await;
    let gone = app.get_v2("/models/iris").await;
    let unknown = post("/v2/repository/models/tulip/load").await;
    let reload = post("/admin/reload").await;
    let back = post("/v2/repository/models/iris/load").await;

    assert_eq!(index.body, json!([{"name": "iris", "version": "1.0.0", "state": "READY"}]));
    assert_eq!(load.status, 200);
    assert_eq!(ready.body["ready"], true, "{} {}", ready.status, ready.body);
    assert_eq!(unload.status, 200);
    assert_eq!(
        after.body,
        json!([
            {"name": "forest", "version": "1", "state": "READY"},
            {"name": "iris", "state": "UNAVAILABLE", "reason": "unloaded"},
        ])
    );
    assert_eq!(gone.status, 404);
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["error"].as_str().unwrap_or_default().contains("tulip"), "{}", unknown.body);
    assert_eq!(reload.body["models"], json!(["forest"]), "an unloaded model stays unloaded on rescans");
    assert_eq!(back.status, 200);
    assert_eq!(app.get_model("iris").await.status, 200);
}

#[tokio::test]
async fn a_broken_file_asked_for_through_the_v2_repository_is_a_400_saying_why() {
    let tmp = models_with_iris();
    let app = spawn_on(tmp.path(), &["--models-watch=off", CONTROL, ADMIN]).await;
    fs::write(tmp.path().join("junk.onnx"), b"\x08\x07garbage").expect("write");

    let load = app.post_predict_authorized_path("/v2/repository/models/junk/load", BOSS).await;

    assert_eq!(load.status, 400);
    let error = load.body["error"].as_str().unwrap_or_default();
    assert!(error.contains("junk.onnx"), "{error}");
}
