//! The real `bouquet-server` binary: started as a process, and its CLI run.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_bouquet-server");

pub struct ServerProcess {
    child: Child,
    pub url: String,
    config: std::path::PathBuf,
}

impl ServerProcess {
    pub fn start(database_url: &str) -> Self {
        // These tests fire bursts of identical scripted conversions at one referrer — what
        // fraud rules rightly hold — to prove exactly-once rewards; scoring is off here
        // (fraud has its own tests, tests/fraud_api.rs).
        // One file per process: two starting at once must not read each other's half-written one.
        let config = std::env::temp_dir().join(format!("bouquet-multi-process-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&config, "[fraud]\nenabled = false\n").expect("write the config file");
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", database_url, "--config", config.to_str().unwrap()])
            .env("BOUQUET_LOG", "warn")
            // No seasonal calendar: the rewards asserted here must not depend on the date.
            .env("BOUQUET_SEED_CALENDAR", "false")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start bouquet-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the listening line");
        let url = line.trim().rsplit(' ').next().expect("url").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line: {line}");
        Self { child, url, config }
    }

    /// Stops the process at once (SIGKILL), as a crash or `kill -9` would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// Registers the studio@example.com supplier on the server at `url` and signs a device in.
pub async fn studio_session(url: &str) -> bouquet_core::api::SessionView {
    let http = reqwest::Client::new();
    let registered = http
        .post(format!("{url}/api/v1/accounts"))
        .json(&serde_json::json!({"kind": "supplier", "email": "studio@example.com", "password": "correct horse battery",
                      "business_name": "Golden Hour Studio", "vendor_type": "photographer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let session = http
        .post(format!("{url}/api/v1/sessions"))
        .json(&serde_json::json!({"email": "studio@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 201);
    session.json().await.unwrap()
}

/// Runs a CLI command that must succeed; its stdout, trimmed.
pub fn cli(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs a CLI command, whatever its outcome.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run bouquet-server")
}
