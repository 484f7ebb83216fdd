//! The two hot paths, through the full router and middleware stack on a SQLite file:
//! `GET /r/{code}` (a couple opening a referral link) and the attribution of one
//! conversion (`POST /api/v1/events`, type convert). Each is reported against a
//! baseline measured in the same run — `GET /welcome`, a static server-rendered page
//! through the same stack — because seconds on a shared 2-core machine are noise but
//! ratios are not. Run: `cargo bench -p bouquet-server`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use bouquet_core::attribution::{AttributionRules, Touch, attribute};
use bouquet_core::{AttributionModel, Channel};
use bouquet_server::config::Settings;
use bouquet_server::http::{AppState, router};
use bouquet_server::service::accounts;
use chrono::Utc;
use criterion::{Criterion, criterion_group};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";

struct Fixture {
    app: Router,
    store: Arc<dyn bouquet_server::store::Store>,
    code: String,
    api_key: String,
    _dir: tempfile::TempDir,
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Bytes) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap())
}

fn json_req(method: &str, uri: &str, token: Option<&str>, body: Value) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = bouquet_server::store::open(&url).await.unwrap();
    let state = AppState::new(store.clone(), Settings::for_tests(&url)).await.unwrap();
    let app = router(state);
    let register = json!({"kind": "supplier", "email": "bench@example.com", "password": "correct horse battery",
        "business_name": "Bench Florals", "vendor_type": "florist"});
    assert_eq!(send(&app, json_req("POST", "/api/v1/accounts", None, register)).await.0, StatusCode::CREATED);
    let (_, session) = send(&app, json_req("POST", "/api/v1/sessions", None,
        json!({"email": "bench@example.com", "password": "correct horse battery"}))).await;
    let token = serde_json::from_slice::<Value>(&session).unwrap()["token"].as_str().unwrap().to_string();
    let (_, referral) = send(&app, json_req("POST", "/api/v1/referrals", Some(&token),
        json!({"method": "qr", "message": "Hello from the fair", "incentive_offered": "10% off"}))).await;
    let code = serde_json::from_slice::<Value>(&referral).unwrap()["code"].as_str().unwrap().to_string();
    let api_key = accounts::create_api_key(&store, "bench").await.unwrap();
    Fixture { app, store, code, api_key, _dir: dir }
}

fn get(uri: &str, ua: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri(uri).header("user-agent", ua);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Body::empty()).unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let f = Arc::new(rt.block_on(fixture()));
    let landing = format!("/r/{}?via=qr", f.code);

    let mut group = c.benchmark_group("landing");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("baseline_static_page", |b| {
        b.to_async(&rt).iter(|| async { assert_eq!(send(&f.app, get("/welcome", PHONE, None)).await.0, StatusCode::OK) })
    });
    group.bench_function("r_code_new_visitor", |b| {
        // No cookie: every request is a new visitor, so every one is a counted, unique scan.
        b.to_async(&rt).iter(|| async { assert_eq!(send(&f.app, get(&landing, PHONE, None)).await.0, StatusCode::OK) })
    });
    group.bench_function("r_code_repeat_visitor", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(send(&f.app, get(&landing, PHONE, Some("bq_vid=bench-visitor"))).await.0, StatusCode::OK)
        })
    });
    group.bench_function("r_code_link_preview_bot", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(send(&f.app, get(&landing, "WhatsApp/2.23.20.0", None)).await.0, StatusCode::OK)
        })
    });
    // Someone subscribes to touch.recorded: each visit and its outbox event commit together
    // (nobody delivers them here; only the write is measured).
    let types = [bouquet_core::webhooks::EventType::TouchRecorded];
    rt.block_on(f.store.create_webhook("https://hooks.example/bouquet", &types, None, "whsec_YmVuY2g=", Utc::now())).unwrap();
    group.bench_function("r_code_new_visitor_touch_webhook", |b| {
        b.to_async(&rt).iter(|| async { assert_eq!(send(&f.app, get(&landing, PHONE, None)).await.0, StatusCode::OK) })
    });
    group.finish();

    let mut group = c.benchmark_group("attribution");
    group.measurement_time(Duration::from_secs(5));
    let touches: Vec<Touch> = (0..5)
        .map(|i| Touch {
            id: Uuid::from_u128(i),
            referral_id: Uuid::from_u128(100 + i),
            referrer_id: Uuid::from_u128(200 + i),
            channel: Channel::Link,
            at: Utc::now() - chrono::Duration::days(5 - i as i64),
        })
        .collect();
    group.bench_function("model_only_time_decay_5_touches", |b| {
        let rules = AttributionRules { model: AttributionModel::TimeDecay, ..Default::default() };
        b.iter(|| attribute(&touches, Utc::now(), 4900, &rules).unwrap())
    });
    let users = Arc::new(AtomicU64::new(0));
    group.bench_function("convert_event_end_to_end", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (f, users) = (f.clone(), users.clone());
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    // Untimed: a couple leaves a lead, so the conversion has a touch to credit.
                    let n = users.fetch_add(1, Ordering::Relaxed);
                    let email = format!("couple{n}@example.com");
                    let lead = Request::builder()
                        .method("POST")
                        .uri(format!("/r/{}", f.code))
                        .header("user-agent", PHONE)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(format!("couple_names=A+%26+B&email={email}")))
                        .unwrap();
                    assert_eq!(send(&f.app, lead).await.0, StatusCode::SEE_OTHER);
                    let event = json!({"idempotency_key": format!("convert-{n}"), "type": "convert",
                        "occurred_at": Utc::now(), "user": {"id": format!("user-{n}"), "kind": "couple", "email": email},
                        "plan": "pro", "value": {"amount_minor": 4900, "currency": "GBP"}});
                    let started = Instant::now();
                    let (status, body) = send(&f.app, json_req("POST", "/api/v1/events", Some(&f.api_key), event)).await;
                    spent += started.elapsed();
                    assert_eq!(status, StatusCode::OK);
                    assert!(!serde_json::from_slice::<Value>(&body).unwrap()["conversion"].is_null());
                }
                spent
            }
        })
    });
    group.finish();
}

/// Reads criterion's estimates back and prints each path as a multiple of the baseline.
fn report_ratios() {
    let mean = bouquet_server::testing::criterion_mean;
    let Some(base) = mean("landing", "baseline_static_page") else { return };
    println!("\nratios against GET /welcome (static page, same stack), measured in this run:");
    for (group, name) in [
        ("landing", "r_code_new_visitor"),
        ("landing", "r_code_new_visitor_touch_webhook"),
        ("landing", "r_code_repeat_visitor"),
        ("landing", "r_code_link_preview_bot"),
        ("attribution", "convert_event_end_to_end"),
        ("attribution", "model_only_time_decay_5_touches"),
    ] {
        if let Some(m) = mean(group, name) {
            println!("  {group}/{name}: {:.1} µs = {:.2}× baseline ({:.1} µs)", m / 1e3, m / base, base / 1e3);
        }
    }
}

criterion_group!(all, benches);

fn main() {
    all();
    Criterion::default().configure_from_args().final_summary();
    report_ratios();
}
