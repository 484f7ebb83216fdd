//! Outgoing webhooks over real HTTP on SQLite and PostgreSQL (docs/webhooks.md): an
//! operator subscribes a receiver (a real HTTP server started by the test), referral
//! events reach it signed as Standard Webhooks does — checked by an independent
//! implementation in Python's standard library — with the same id on every retry; a
//! receiver answering 500 is retried, and one failing past the limit is disabled.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use bouquet_server::on_both_backends;
use common::people::{account, code};
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the receiver got: headers of interest and the body.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A real HTTP receiver on a random port that answers with `answers` in turn (then 200).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

async fn receiver(answers: Vec<u16>) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let (log, script) = (got.clone(), answers.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (log, script) = (log.clone(), script.clone());
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                log.lock().unwrap().push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                let code = script.lock().unwrap().next().unwrap_or(200);
                AxumStatus::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got }
}

impl Receiver {
    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(start.elapsed() < StdDuration::from_secs(30), "only {} of {count} requests arrived", got.len());
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}

/// Verifies a request as the Standard Webhooks specification says, in Python's standard
/// library (hmac, hashlib, base64): nothing shared with the server's code.
fn python_verifies(secret: &str, r: &Received) -> bool {
    let script = r#"
import base64, hashlib, hmac, sys
secret, msg_id, ts, sig, body = sys.argv[1:6]
key = base64.b64decode(secret.split("_", 1)[1])
expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
ok = any(hmac.compare_digest(expected, s.split(",", 1)[1]) for s in sig.split() if s.startswith("v1,"))
sys.exit(0 if ok else 1)
"#;
    let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    std::process::Command::new(python)
        .args(["-c", script, secret, &r.id, &r.timestamp, &r.signature, &r.body])
        .status()
        .expect("python3")
        .success()
}

async fn start(db: &TestDb) -> TestServer {
    TestServer::start_with(db, |s| {
        s.webhooks.tick = StdDuration::from_millis(100);
        s.webhooks.first_retry = chrono::Duration::seconds(1);
        s.webhooks.give_up_after = chrono::Duration::seconds(4);
    })
    .await
}

async fn subscribe(server: &TestServer, token: &str, url: &str, types: &[&str]) -> Value {
    let resp = api().post(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(token).json(&json!({"url": url, "event_types": types})).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await
}

async fn deliveries(server: &TestServer, token: &str, id: &str) -> Vec<Value> {
    let resp = api().get(format!("{}/api/v1/admin/webhooks/{id}/deliveries", server.url)).bearer_auth(token).send().await.unwrap();
    json_of(resp, StatusCode::OK).await.as_array().unwrap().clone()
}

async fn a_referral_reaches_the_receiver_signed_and_is_retried_with_the_same_id(db: &TestDb) {
    let server = start(db).await;
    let ops = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@example.com", "Golden Hour Studio").await;
    // The receiver fails twice, then takes it.
    let hook = receiver(vec![500, 503]).await;

    // Only operators manage subscriptions; bad addresses are refused with a reason.
    let refused = api().post(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(&studio.token)
        .json(&json!({"url": hook.url, "event_types": ["referral.created"]})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let plain = api().post(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(&ops.token)
        .json(&json!({"url": "http://hooks.wedsync.example/x", "event_types": ["referral.created"]})).send().await.unwrap();
    assert_eq!(json_of(plain, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "invalid_url");
    let unknown = api().post(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(&ops.token)
        .json(&json!({"url": hook.url, "event_types": ["referral.exploded"]})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let sub = subscribe(&server, &ops.token, &hook.url, &["referral.created"]).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "shown once, at creation");
    let listed = json_of(api().get(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(&ops.token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "never shown again");

    let made = code(&server, &studio).await;
    let got = hook.wait_for(3).await;
    // One event, three attempts, one id: a receiver deduplicates replays by it.
    assert!(got.iter().all(|r| r.id == got[0].id && !r.id.is_empty()));
    for r in &got {
        assert!(python_verifies(&secret, r), "the signature does not verify: {r:?}");
        let mut tampered = r.clone();
        tampered.body = tampered.body.replace(&made, "LOVE-AAAAAAAAAA");
        assert!(!python_verifies(&secret, &tampered), "a changed body must not verify");
    }
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "referral.created");
    assert_eq!(body["data"]["code"], made.as_str());
    assert_eq!(body["data"]["referrer_id"], studio.account.id.to_string());
    // The retries waited: 1 s, then 2 s.
    let ts: Vec<i64> = got.iter().map(|r| r.timestamp.parse().unwrap()).collect();
    assert!(ts[1] - ts[0] >= 1 && ts[2] - ts[1] >= 2, "{ts:?}");

    // The delivery log: three attempts with their status codes, delivered.
    let start = Instant::now();
    let log = loop {
        let log = deliveries(&server, &ops.token, sub["id"].as_str().unwrap()).await;
        if log.first().is_some_and(|d| d["status"] == "delivered") {
            break log;
        }
        assert!(start.elapsed() < StdDuration::from_secs(10), "{log:?}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert_eq!(log.len(), 1);
    let codes: Vec<i64> = log[0]["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 200]);
    assert_eq!(log[0]["event_id"], got[0].id.as_str());
    // Nothing more arrives.
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 3);

    // Deleted: the next referral is not sent to it.
    let gone = api().delete(format!("{}/api/v1/admin/webhooks/{}", server.url, sub["id"].as_str().unwrap())).bearer_auth(&ops.token).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    code(&server, &studio).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 3);
}

async fn a_receiver_failing_past_the_limit_is_disabled(db: &TestDb) {
    let server = start(db).await;
    let ops = account(&server, "admin", "ops@bouquet.example", "").await;
    let studio = account(&server, "supplier", "studio@example.com", "Golden Hour Studio").await;
    let hook = receiver(vec![500; 100]).await;
    let other = receiver(vec![]).await;
    let sub = subscribe(&server, &ops.token, &hook.url, &["referral.created"]).await;
    // A second subscriber, to another event type only: it hears nothing of referrals.
    subscribe(&server, &ops.token, &other.url, &["invitation.sent"]).await;
    code(&server, &studio).await;
    let start = Instant::now();
    let listed = loop {
        let listed = json_of(api().get(format!("{}/api/v1/admin/webhooks", server.url)).bearer_auth(&ops.token).send().await.unwrap(), StatusCode::OK).await;
        let mine = listed.as_array().unwrap().iter().find(|s| s["id"] == sub["id"]).unwrap().clone();
        if !mine["disabled_at"].is_null() {
            break mine;
        }
        assert!(start.elapsed() < StdDuration::from_secs(30), "not disabled: {mine}");
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    };
    assert!(listed["disabled_reason"].as_str().unwrap().contains("the receiver answered 500"), "{listed}");
    let tries = hook.received().len();
    assert!(tries >= 3, "retried before giving up: {tries}");
    let log = deliveries(&server, &ops.token, sub["id"].as_str().unwrap()).await;
    assert_eq!(log[0]["status"], "failed");
    // Disabled: a new referral is not sent to it.
    code(&server, &studio).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), tries);
    assert!(other.received().is_empty());
}

on_both_backends!(a_referral_reaches_the_receiver_signed_and_is_retried_with_the_same_id, a_receiver_failing_past_the_limit_is_disabled);
