//! Fuzz targets for the bodies the internet sends (bolero's test engine under `cargo
//! test`: the committed corpus in `tests/__fuzz__/<target>/corpus/`, then random inputs for
//! a bounded time), posted to a real server on a real SQLite file: whatever arrives, the
//! answer is never a 5xx — a bad body is a 4xx with `{code, message}`.

mod common;

use std::time::Duration;

use bouquet_core::api::SessionView;
use common::people::{Platform, account, code};
use common::{TestDb, TestServer, api};
use serde_json::{Value, json};

const BUDGET: Duration = Duration::from_secs(3);

struct Target {
    rt: tokio::runtime::Runtime,
    server: TestServer,
    platform: Platform,
    device: SessionView,
    code: String,
    _db: TestDb,
}

fn target() -> Target {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = TestDb::sqlite();
    let (server, platform, device, code) = rt.block_on(async {
        let server = TestServer::start(&db).await;
        let platform = Platform::new(&server).await;
        let device = account(&server, "supplier", "flo@example.com", "Petal & Stem").await;
        let code = code(&server, &device).await;
        (server, platform, device, code)
    });
    Target { rt, server, platform, device, code, _db: db }
}

impl Target {
    /// Posts `body` and checks the answer: below 500, and a 4xx says what was wrong.
    fn post(&self, path: &str, token: &str, body: Vec<u8>) -> u16 {
        self.rt.block_on(async {
            let resp = api()
                .post(format!("{}{path}", self.server.url))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert!(status < 500, "{path} answered {status} to {}: {text}", String::from_utf8_lossy(&body));
            if status >= 400 {
                let error: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path} {status} is not JSON: {text}"));
                assert!(error["code"].is_string() && error["message"].is_string(), "{text}");
            }
            status
        })
    }
}

/// Raw bytes as a platform event.
#[test]
fn events_body() {
    // The server is shared across inputs; a panic fails the test at once, so nothing
    // reads a half-changed target afterwards.
    let t = &std::panic::AssertUnwindSafe(target());
    bolero::check!().with_test_time(BUDGET).for_each(|bytes: &[u8]| {
        t.post("/api/v1/events", &t.platform.key, bytes.to_vec());
    });
}

/// Events shaped like the platform's, every field drawn at random: the validation and the
/// attribution, rewards and fraud behind it see plausible and implausible values alike.
#[test]
fn events_shaped() {
    // The server is shared across inputs; a panic fails the test at once, so nothing
    // reads a half-changed target afterwards.
    let t = &std::panic::AssertUnwindSafe(target());
    let kinds = ["signup", "activate", "convert", "churn", "refund", "", "CONVERT"];
    bolero::check!()
        .with_type::<(u8, String, u8, Option<String>, Option<String>, Option<i64>, Option<String>, i32, bool, Option<String>)>()
        .with_test_time(BUDGET)
        .for_each(|(kind, user, user_kind, email, ip, amount, currency, offset_minutes, use_code, plan)| {
            let user_kind = ["couple", "supplier", "admin", "robot"][*user_kind as usize % 4];
            let mut event = json!({
                "idempotency_key": format!("k-{user}-{kind}-{amount:?}"),
                "type": kinds[*kind as usize % kinds.len()],
                "occurred_at": chrono::Utc::now() + chrono::Duration::minutes(i64::from(*offset_minutes % 100_000)),
                "user": {"id": user, "kind": user_kind, "email": email, "ip": ip},
                "plan": plan,
            });
            if let Some(amount) = amount {
                event["value"] = json!({"amount_minor": amount, "currency": currency.clone().unwrap_or_else(|| "GBP".into())});
            }
            if *use_code {
                event["code"] = json!(t.code);
            }
            t.post("/api/v1/events", &t.platform.key, serde_json::to_vec(&event).unwrap());
        });
}

/// Raw bytes as a device's sync push.
#[test]
fn sync_push_body() {
    // The server is shared across inputs; a panic fails the test at once, so nothing
    // reads a half-changed target afterwards.
    let t = &std::panic::AssertUnwindSafe(target());
    bolero::check!().with_test_time(BUDGET).for_each(|bytes: &[u8]| {
        t.post("/api/v1/sync/push", &t.device.token, bytes.to_vec());
    });
}
