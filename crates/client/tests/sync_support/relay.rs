//! A real SMTP server for the email tests: aiosmtpd running `tests/smtp/relay.py`, which
//! parses what it accepts with Python's own email package and writes it out as JSON.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use bouquet_server::config::{Settings, SmtpRelay, SmtpTls};
use bouquet_server::testing::{TestDb, TestServer};
use serde_json::Value;

const RELAY_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/relay.py");

/// A real SMTP server on a free port, writing what it accepts to a folder.
pub struct Relay {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Relay {
    pub fn start() -> Relay {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        // Debian's Python, where python3-aiosmtpd is installed (not a pyenv or venv one
        // that may come first on PATH).
        let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        let mut child = Command::new(python)
            .args([RELAY_SCRIPT, &port.to_string(), dir.path().to_str().unwrap()])
            .env("RELAY_SLOW_SECONDS", "6")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (Debian: python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP relay did not start");
        Relay { child, dir, port }
    }

    /// A server whose mail goes to this relay, looking for mail to send every 100 ms, with
    /// whatever else the test changes in `tweak`.
    pub async fn server(&self, db: &TestDb, tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let port = self.port;
        TestServer::start_with(db, move |s| {
            s.email.relay = Some(SmtpRelay { host: "127.0.0.1".into(), port, tls: SmtpTls::None, credentials: None });
            s.email.tick = StdDuration::from_millis(100);
            tweak(s);
        })
        .await
    }

    /// How many times a recipient was refused for good (550).
    pub fn refusals(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("refused.txt")).map_or(0, |t| t.lines().count())
    }

    /// Everything accepted so far, in arrival order.
    pub fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        files.sort();
        files.iter().map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()).collect()
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(start.elapsed() < StdDuration::from_secs(90), "only {} of {count} emails arrived", got.len());
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

