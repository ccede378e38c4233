//! A headless Chromium driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`), one private driver and profile per test.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A browser session; the driver process dies with it.
pub(crate) struct Browser {
    pub(crate) client: Client,
    _driver: Child,
    _profile: PathBuf,
    // One browser at a time: two cores cannot run several without timeouts.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether pages may run JavaScript (ours never need it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scripts {
    Enabled,
    Disabled,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1280×900.
    pub(crate) async fn start(scripts: Scripts) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let chrome_bin = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("Failed to start {driver_bin} ({e}): install Debian's chromium and chromium-driver packages")
            });

        let profile = std::env::temp_dir().join(format!("e2e-chromium-{port}"));
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--window-size=1280,900".to_owned(),
            // Nothing but this machine is reachable: the pages must not need anything else.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if scripts == Scripts::Disabled {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let downloads = profile.join("downloads");
        let _ = std::fs::create_dir_all(&downloads);
        let prefs = json!({
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
            "download.directory_upgrade": true,
        });
        let capabilities =
            json!({"goog:chromeOptions": {"binary": chrome_bin, "args": args, "prefs": prefs}});
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object literal") };

        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        // chromedriver takes a moment to listen; give it up to 15 s.
        for _ in 0..150 {
            match ClientBuilder::new(connector.clone()).capabilities(capabilities.clone()).connect(&url).await
            {
                Ok(client) => {
                    return Self { client, _driver: driver, _profile: profile, _turn: turn };
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Failed to start a browser session through {driver_bin}: {last_error}");
    }

    /// Where the browser saves downloads.
    pub(crate) fn downloads(&self) -> PathBuf {
        self._profile.join("downloads")
    }

    /// Saves a screenshot under `target/screenshots/`.
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from)
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the session.
    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}
