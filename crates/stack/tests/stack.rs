//! The `stack` binary honours each service's settings from the environment.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The stack, started on free ports with JSON logs; its API's and UI's addresses.
struct Stack {
    child: Child,
    api: String,
    ui: String,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &[(&str, &str)]) -> Stack {
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stack"))
        .envs(env.iter().copied())
        .env("API_PORT", "0")
        .env("UI_PORT", "0")
        .env("MODELS_DIR", models)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Failed to start the stack binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut api, mut ui) = (None, None);
    for line in lines.by_ref().map_while(Result::ok) {
        let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
        if event["message"] == "ready" {
            let addr = format!("http://{}", event["addr"].as_str().expect("addr"));
            if event.get("api").is_some() { ui = Some(addr) } else { api = Some(addr) }
        }
        if api.is_some() && ui.is_some() {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Stack { child, api: api.expect("the API logged ready"), ui: ui.expect("the UI logged ready") }
}

#[tokio::test]
async fn with_api_key_set_the_stacks_api_refuses_a_prediction_without_it_and_its_ui_sends_it() {
    let stack = start(&[("API_KEY", "stack-s3cret"), ("MAX_BATCH", "3")]);
    let client = reqwest::Client::new();
    let row =
        serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2});

    let anonymous = client.post(format!("{}/predict", stack.api)).json(&row).send().await.expect("POST");
    let keyed = client
        .post(format!("{}/predict/batch", stack.api))
        .bearer_auth("stack-s3cret")
        .json(&serde_json::json!({"instances": [row, row, row, row]}))
        .send()
        .await
        .expect("POST");
    let page = client
        .get(format!(
            "{}/models/iris?sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2",
            stack.ui
        ))
        .send()
        .await
        .expect("GET");

    assert_eq!(anonymous.status(), 401, "API_KEY reached the API");
    let keyed_status = keyed.status();
    let keyed_body: Value = keyed.json().await.expect("problem");
    assert_eq!(keyed_status, 422, "MAX_BATCH=3 reached the API: {keyed_body}");
    assert_eq!(keyed_body["errors"][0]["allowed"]["max_items"], 3);
    assert_eq!(page.status(), 200, "the UI sent the key it read from API_KEY");
    assert!(page.text().await.expect("html").contains("setosa"));
}
