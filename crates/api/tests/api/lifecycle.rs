//! The real binary's life: start, health check, SIGTERM with work in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{iris_row, models_dir};

/// The `api` binary, started on a free port with JSON logs.
struct Running {
    child: Child,
    port: u16,
    startup_ms: u64,
    /// Every log line, as JSON text.
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The thread reading them: it ends when the process closes its output.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Every line the process logged, once it has exited and closed its output.
    fn logs_after_exit(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader");
        }
        self.logs.lock().expect("logs").join("\n")
    }
}

fn start_binary() -> Running {
    start_binary_with(&[])
}

fn start_binary_with(env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("MODELS_DIR", models_dir())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Failed to start the api binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .inspect(|line| logs.lock().expect("logs").push(line.clone()))
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .find(|event| event["message"] == "ready")
        .expect("the binary never logged ready");
    // Keep draining the logs so the child never blocks on a full pipe.
    let kept = logs.clone();
    let reader = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().expect("logs").push(line);
        }
    });
    let addr: std::net::SocketAddr = ready["addr"].as_str().expect("addr").parse().expect("socket address");
    let startup_ms = ready["startup_ms"].as_u64().expect("startup_ms is logged");
    Running { child, port: addr.port(), startup_ms, logs, reader: Some(reader) }
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < until, "the process did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send_sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

fn healthcheck(port: u16) -> bool {
    Command::new(env!("CARGO_BIN_EXE_api"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .status()
        .expect("run healthcheck")
        .success()
}

#[test]
fn the_binary_logs_its_startup_time_and_passes_its_own_healthcheck() {
    let mut api = start_binary();

    assert!(api.startup_ms < 60_000);
    assert!(healthcheck(api.port));

    send_sigterm(&api.child);
    assert!(wait_for_exit(&mut api.child, Duration::from_secs(30)).success());
    assert!(!healthcheck(api.port), "nothing answers once it has stopped");
}

#[test]
fn sigterm_lets_an_in_flight_batch_finish_with_200_then_exits_0() {
    let mut api = start_binary();
    let body = json!({"instances": vec![iris_row(); 1000]}).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", api.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    write!(
        stream,
        "POST /predict/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("headers");
    stream.write_all(first).expect("first half");
    stream.flush().expect("flush");
    wait_until("the server has the request in hand", || requests_in_flight(api.port) == Some(2));

    send_sigterm(&api.child);
    wait_until("new connections are refused", || {
        TcpStream::connect_timeout(&([127, 0, 0, 1], api.port).into(), Duration::from_secs(1)).is_err()
    });
    stream.write_all(rest).expect("rest of the body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");

    assert!(response.starts_with("HTTP/1.1 200"), "{}", response.lines().next().unwrap_or_default());
    assert!(response.contains(r#""predictions":[{"label":"setosa""#));
    let status = wait_for_exit(&mut api.child, Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn after_sigterm_a_keep_alive_connection_gets_its_next_answer_with_connection_close() {
    let mut api = start_binary_with(&[("SHUTDOWN_GRACE_MS", "30000")]);
    let mut stream = TcpStream::connect(("127.0.0.1", api.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let body = iris_row().to_string();
    let ask = |stream: &mut TcpStream| {
        write!(
            stream,
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("request");
        read_response(stream)
    };

    let before = ask(&mut stream);
    send_sigterm(&api.child);
    wait_until("new connections are refused", || {
        TcpStream::connect_timeout(&([127, 0, 0, 1], api.port).into(), Duration::from_secs(1)).is_err()
    });
    let during = ask(&mut stream);
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest);

    assert!(
        before.starts_with("HTTP/1.1 200") && !before.to_ascii_lowercase().contains("connection: close"),
        "{before}"
    );
    assert!(during.starts_with("HTTP/1.1 200"), "the request sent during the drain is answered: {during}");
    assert!(during.to_ascii_lowercase().contains("connection: close"), "{during}");
    assert!(matches!(closed, Ok(0)), "then the server closes the connection: {closed:?}");
    let status = wait_for_exit(&mut api.child, Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
}

/// One HTTP/1.1 response with a `Content-Length`, head and body, read off `stream`.
fn read_response(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("utf8 head");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().expect("length"))
        })
        .expect("content-length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("response body");
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn a_request_that_never_finishes_holds_the_exit_until_the_shutdown_timeout_and_no_longer() {
    let mut api = start_binary_with(&[("SHUTDOWN_TIMEOUT_SECS", "2")]);
    let mut stream = TcpStream::connect(("127.0.0.1", api.port)).expect("connect");
    write!(stream, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{")
        .expect("headers");
    wait_until("the server has the request in hand", || requests_in_flight(api.port) == Some(2));

    let signalled = Instant::now();
    send_sigterm(&api.child);

    let status = wait_for_exit(&mut api.child, Duration::from_secs(15));
    let drained_for = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    // A lower bound only: the server waited for the request it had in hand
    // instead of dropping it (an upper bound would measure the machine).
    assert!(drained_for >= Duration::from_millis(1_500), "exited after {drained_for:?}: nothing was drained");
}

/// The `http_requests_in_flight` gauge of the API on `port`, the asking request included.
fn requests_in_flight(port: u16) -> Option<u64> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines().find_map(|l| l.strip_prefix("http_requests_in_flight ")).and_then(|n| n.trim().parse().ok())
}

/// Polls `condition` until it holds, for at most 10 s.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The status line of `GET path` on the API at `port`.
fn status_of(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines().next().map(str::to_owned)
}

#[test]
fn sighup_reloads_the_models_directory_when_nothing_watches_it() {
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let iris = tmp.path().join("iris");
    std::fs::create_dir(&iris).expect("mkdir");
    for file in ["model.onnx", "card.toml"] {
        std::fs::copy(models_dir().join("iris").join(file), iris.join(file)).expect("copy");
    }
    let dir = tmp.path().to_str().expect("utf8 path");
    let mut api = start_binary_with(&[("MODELS_DIR", dir), ("MODELS_WATCH", "off")]);
    let zoo = models_dir().join("../crates/onnx-ml/tests/zoo/iris_forest_default_op17.onnx");
    std::fs::copy(zoo, tmp.path().join("forest.onnx")).expect("copy");
    assert!(
        api.logs.lock().expect("logs").iter().any(|l| l.contains("is not watched (MODELS_WATCH=off)")),
        "the directory is not watched"
    );

    let status = Command::new("kill").args(["-HUP", &api.child.id().to_string()]).status().expect("kill");
    assert!(status.success());

    wait_until("the model is served", || {
        status_of(api.port, "/models/forest").as_deref() == Some("HTTP/1.1 200 OK")
    });
    send_sigterm(&api.child);
    assert!(wait_for_exit(&mut api.child, Duration::from_secs(30)).success());
    let logs = api.logs_after_exit();
    let hangup = logs.find("SIGHUP: reloading the models").expect("the hangup is logged");
    let rescan = logs.find("models rescanned").expect("a rescan is logged");
    assert!(hangup < rescan, "the only rescan came after the hangup: {logs}");
}

#[test]
fn no_value_of_a_predicted_row_reaches_the_logs_even_at_debug_level() {
    let mut api = start_binary_with(&[("RUST_LOG", "debug")]);
    let row =
        r#"{"sepal_length":6.54321,"sepal_width":3.04159,"petal_length":4.27183,"petal_width":1.61803}"#;
    for path in ["/predict", "/models/iris/explain"] {
        let mut stream = TcpStream::connect(("127.0.0.1", api.port)).expect("connect");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{row}",
            row.len()
        )
        .expect("request");
        assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
    }
    assert!(status_of(api.port, "/models/iris/monitoring").is_some_and(|s| s.contains("200")));
    send_sigterm(&api.child);
    assert!(wait_for_exit(&mut api.child, Duration::from_secs(30)).success());

    let logs = api.logs_after_exit();
    assert!(logs.contains("answered"), "debug logs were written: {logs}");
    for value in ["6.54321", "3.04159", "4.27183", "1.61803"] {
        assert!(!logs.contains(value), "{value} is in the logs");
    }
}

#[test]
fn pretty_logs_written_to_a_pipe_carry_no_colour_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_api"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("MODELS_DIR", models_dir())
        .env("LOG_FORMAT", "pretty")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Failed to start the api binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let ready = line.contains("ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    send_sigterm(&child);
    wait_for_exit(&mut child, Duration::from_secs(30));

    assert!(seen.iter().any(|l| l.contains("ready")), "the binary never logged ready: {seen:?}");
    assert!(seen.iter().any(|l| l.contains("model loaded")), "{seen:?}");
    let coloured: Vec<&String> = seen.iter().filter(|l| l.contains('\u{1b}')).collect();
    assert!(coloured.is_empty(), "escape sequences in piped logs: {coloured:?}");
}
