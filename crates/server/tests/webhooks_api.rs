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
use common::people::{Platform, Via, account, code, scan};
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

/// The receiver's events by type, in arrival order.
fn events_of(got: &[Received]) -> Vec<(String, Value)> {
    got.iter()
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (body["type"].as_str().unwrap().to_string(), body["data"].clone())
        })
        .collect()
}

fn first<'a>(events: &'a [(String, Value)], kind: &str) -> &'a Value {
    &events.iter().find(|(t, _)| t == kind).unwrap_or_else(|| panic!("no {kind} among {:?}", events.iter().map(|(t, _)| t).collect::<Vec<_>>())).1
}

/// A referral's whole life reaches a receiver subscribed to everything: the visit, the
/// lead, the conversion and its attribution, the rewards, the fraud review and its
/// decision, the tier; and the supplier hears in the app what concerns them.
async fn every_step_of_a_referral_reaches_the_platform(db: &TestDb) {
    let server = TestServer::start_with(db, |s| {
        s.webhooks.tick = StdDuration::from_millis(100);
        // Instant conversions are held for review (as the fraud tests' sensitive policy).
        s.fraud = bouquet_core::fraud::FraudPolicy { medium_from: 0.1, ..Default::default() };
    })
    .await;
    let ops = account(&server, "admin", "ops@bouquet.example", "").await;
    let flo = account(&server, "supplier", "flo@petalandstem.example", "Petal & Stem").await;
    let hook = receiver(vec![]).await;
    let all: Vec<&str> = bouquet_core::webhooks::EventType::ALL.iter().map(|t| t.as_str()).collect();
    subscribe(&server, &ops.token, &hook.url, &all).await;
    let platform = Platform::new(&server).await;
    let c = code(&server, &flo).await;

    // A phone opens the link and leaves its details.
    let touch = scan(&server, &c, "203.0.113.9", 1).await;
    let form = [("couple_names", "Amy & Ben"), ("email", "amy.ben@mail.example"), ("wedding_date", "2027-06-12"), ("touch", touch.as_str())];
    // The form answers with a redirect to the platform's sign-up, which is not followed here.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = browser.post(format!("{}/r/{c}", server.url)).form(&form).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{}: {}", resp.status(), resp.text().await.unwrap());
    // Two couples convert at once (held for review); one is approved, one rejected.
    let now = chrono::Utc::now();
    for (user, at) in [("old", now - chrono::Duration::days(20)), ("fake", now - chrono::Duration::minutes(5))] {
        platform.signup(&server, user, &format!("{user}.couple@mail.example"), Via::Code(&c), "198.51.100.7", at - chrono::Duration::seconds(30)).await;
        platform.convert(&server, user, at).await;
    }
    let queue: Value = json_of(api().get(format!("{}/api/v1/admin/fraud/reviews?status=pending", server.url)).bearer_auth(&ops.token).send().await.unwrap(), StatusCode::OK).await;
    for case in queue["items"].as_array().unwrap() {
        let decision = if case["platform_user_id"] == "old" { "approve" } else { "reject" };
        let url = format!("{}/api/v1/admin/fraud/reviews/{}/decision", server.url, case["id"].as_str().unwrap());
        json_of(api().post(url).bearer_auth(&ops.token).json(&json!({"decision": decision})).send().await.unwrap(), StatusCode::OK).await;
    }

    let expected = ["referral.created", "touch.recorded", "lead.created", "conversion.attributed", "reward.created", "fraud.flagged", "fraud.decided", "reward.eligible", "tier.reached", "reward.voided"];
    let start = Instant::now();
    let events = loop {
        let events = events_of(&hook.received());
        if expected.iter().all(|t| events.iter().any(|(k, _)| k == t)) {
            break events;
        }
        assert!(start.elapsed() < StdDuration::from_secs(30), "missing: {:?}", expected.iter().filter(|t| !events.iter().any(|(k, _)| k == *t)).collect::<Vec<_>>());
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    // The visit: which referral and channel, never the visitor's traces.
    let visit = first(&events, "touch.recorded");
    assert_eq!((visit["touch_id"].as_str(), visit["channel"].as_str(), visit["unique"].as_bool()), (Some(touch.as_str()), Some("qr"), Some(true)));
    for private in ["ip_hash", "visitor_key", "user_agent"] {
        assert!(visit.get(private).is_none(), "{visit}");
    }
    let lead = first(&events, "lead.created");
    assert_eq!((lead["touch_id"].as_str(), lead["source"].as_str(), lead["wedding_date"].as_str()), (Some(touch.as_str()), Some("landing_page"), Some("2027-06-12")));
    assert!(!lead.to_string().contains("amy.ben@mail.example"), "the couple's address stays in Bouquet: {lead}");
    let attributed: Vec<&Value> = events.iter().filter(|(t, _)| t == "conversion.attributed").map(|(_, d)| d).collect();
    assert_eq!(attributed.len(), 2);
    assert!(attributed.iter().all(|d| d["referrer_id"] == json!(flo.account.id) && d["credits"].as_array().is_some_and(|c| !c.is_empty())));
    let flagged: Vec<&Value> = events.iter().filter(|(t, _)| t == "fraud.flagged").map(|(_, d)| d).collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged.iter().all(|d| d["action"] == "review"));
    let mut decided: Vec<(String, String)> = events
        .iter()
        .filter(|(t, _)| t == "fraud.decided")
        .map(|(_, d)| (d["platform_user_id"].as_str().unwrap().to_string(), d["decision"].as_str().unwrap().to_string()))
        .collect();
    decided.sort();
    assert_eq!(decided, vec![("fake".to_string(), "rejected".to_string()), ("old".to_string(), "approved".to_string())]);
    // Approved after its holding period: eligible at once, and the success reaches bronze.
    let eligible = events.iter().find(|(t, d)| t == "reward.eligible" && d["role"] == "referrer").expect("the referrer's reward eligible").1.clone();
    assert_eq!((eligible["referee_user_id"].as_str(), eligible["account_id"].clone()), (Some("old"), json!(flo.account.id)));
    let tier = first(&events, "tier.reached");
    assert_eq!((tier["tier"].as_str(), tier["account_id"].clone()), (Some("bronze"), json!(flo.account.id)));
    // Rejected: the referrer's reward and the couple's incentive are voided.
    let voided: Vec<&Value> = events.iter().filter(|(t, _)| t == "reward.voided").map(|(_, d)| d).collect();
    assert_eq!(voided.len(), 2, "{voided:?}");
    assert!(voided.iter().all(|d| d["status"] == "voided" && d["referee_user_id"] == "fake"), "{voided:?}");
    assert!(voided.iter().any(|d| d["role"] == "referee" && d["platform_user_id"] == "fake"), "the couple's incentive: {voided:?}");
    assert!(!events.iter().any(|(t, _)| t.starts_with("invitation.")));

    // The supplier's own notifications say the same, without the fraud evidence.
    let mine: Value = json_of(api().get(format!("{}/api/v1/me/notifications", server.url)).bearer_auth(&flo.token).send().await.unwrap(), StatusCode::OK).await;
    let kinds: Vec<&str> = mine.as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!((count("referral_held"), count("review_decided"), count("reward_eligible"), count("tier_reached")), (2, 2, 1, 1), "{kinds:?}");
    assert_eq!(count("reward_earned"), 0, "held conversions are told as held, not earned: {kinds:?}");
    let titles: Vec<&str> = mine.as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Your referral was approved") && titles.contains(&"Your referral was not approved"), "{titles:?}");
    assert!(!mine.to_string().contains("198.51.100.7") && !mine.to_string().contains("score"), "no evidence: {mine}");
    // Another account sees none of it.
    let other = account(&server, "supplier", "other@studio.example", "Other Studio").await;
    let theirs: Value = json_of(api().get(format!("{}/api/v1/me/notifications", server.url)).bearer_auth(&other.token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(theirs, json!([]));
    server.stop().await;
}

on_both_backends!(
    a_referral_reaches_the_receiver_signed_and_is_retried_with_the_same_id,
    a_receiver_failing_past_the_limit_is_disabled,
    every_step_of_a_referral_reaches_the_platform
);
