//! Several `bouquet-server` processes on one PostgreSQL database (the scale-out setup),
//! started through the real binary and CLI: a conversion sent to both at once, many
//! times over, is counted once.

mod common;

use bouquet_core::api::{EventOutcome, ReferralView, SessionView, StatsView};
use chrono::Utc;
use common::TestDb;
use common::process::{ServerProcess, cli};
use serde_json::json;

/// Two server processes started together on one database (they migrate it at once).
fn start_two(database_url: &str) -> (ServerProcess, ServerProcess) {
    std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start(database_url));
        let b = s.spawn(|| ServerProcess::start(database_url));
        (a.join().unwrap(), b.join().unwrap())
    })
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_count_a_racing_conversion_once() {
    let Some(db) = TestDb::postgres().await else { return };
    // Both processes start together and migrate the same empty database.
    let (a, b) = start_two(&db.url);
    let key = cli(&["api-key", "create", "--name", "wedsync", "--database-url", &db.url]);
    assert!(key.starts_with("bqk_"));
    let admin = cli(&["admin", "create", "--email", "ops@bouquet.example", "--password", "a long admin password", "--database-url", &db.url]);
    assert!(admin.contains("ops@bouquet.example"));

    let http = reqwest::Client::new();
    http.post(format!("{}/api/v1/accounts", a.url))
        .json(&json!({"kind": "supplier", "email": "flo@example.com", "password": "correct horse battery",
                      "business_name": "Petal & Stem", "vendor_type": "florist"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // Sign in on one process, use the token on the other: the servers are stateless.
    let session: SessionView = http
        .post(format!("{}/api/v1/sessions", a.url))
        .json(&json!({"email": "flo@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let referral: ReferralView = http
        .post(format!("{}/api/v1/referrals", b.url))
        .bearer_auth(&session.token)
        .json(&json!({"method": "qr"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phone = reqwest::Client::builder().user_agent("Mozilla/5.0 (iPhone) Mobile Safari").redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let rounds = 5;
    for round in 0..rounds {
        let user = format!("u{round}");
        let email = format!("couple{round}@example.com");
        let lead = phone
            .post(format!("{}/r/{}", a.url, referral.code))
            .form(&[("couple_names", "Anna & Ben"), ("email", email.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(lead.status(), 303);
        let at = Utc::now();
        let mut racing = Vec::new();
        for i in 0..8 {
            let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
            // Half replay one key; half are retries under new keys (the platform's own retries).
            let idem = if i < 4 { format!("convert-{user}") } else { format!("convert-{user}-{i}") };
            let event = json!({"idempotency_key": idem, "type": "convert", "occurred_at": at, "plan": "pro",
                "user": {"id": user, "kind": "couple", "email": email},
                "value": {"amount_minor": 4900, "currency": "GBP"}});
            let (http, key) = (http.clone(), key.clone());
            racing.push(tokio::spawn(async move {
                let resp = http.post(format!("{url}/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.json::<EventOutcome>().await.unwrap()
            }));
        }
        let mut conversion_ids = std::collections::HashSet::new();
        for r in racing {
            let outcome = r.await.unwrap();
            conversion_ids.insert(outcome.conversion.expect("attributed to the lead's touch").id);
        }
        assert_eq!(conversion_ids.len(), 1, "every answer names the same single conversion");
    }
    let stats: StatsView =
        http.get(format!("{}/api/v1/me/stats", b.url)).bearer_auth(&session.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats.successful_referrals, rounds);
    assert_eq!(stats.value_generated.len(), 1);
    assert_eq!(stats.value_generated[0].amount_minor, 4900 * rounds);
    assert_eq!(stats.leads, rounds);
    drop((a, b));
}

/// Two processes take 200 conversions at once for one supplier's code; a third of them
/// are replays of an earlier event or the same user converting again under a new key.
/// Each user's conversion is rewarded exactly once, the new-referrer bonus goes to
/// exactly the first three (0, 1 and 2 earlier successes), and the books balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_reward_each_conversion_exactly_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let (a, b) = start_two(&db.url);
    let key = cli(&["api-key", "create", "--name", "wedsync", "--database-url", &db.url]);
    let http = reqwest::Client::new();
    http.post(format!("{}/api/v1/accounts", a.url))
        .json(&json!({"kind": "supplier", "email": "flo@example.com", "password": "correct horse battery",
                      "business_name": "Petal & Stem", "vendor_type": "florist"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let session: SessionView = http
        .post(format!("{}/api/v1/sessions", b.url))
        .json(&json!({"email": "flo@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let referral: ReferralView = http
        .post(format!("{}/api/v1/referrals", a.url))
        .bearer_auth(&session.token)
        .json(&json!({"method": "link", "incentive_amount": {"amount_minor": 500, "currency": "GBP"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // 134 users; events 134..200 repeat one of them: even ones replay its key, odd ones
    // are a second conversion under a new key.
    let users = 134;
    let at = Utc::now();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
    let mut racing = Vec::new();
    for i in 0..200usize {
        let (user, idem) = if i < users {
            (i, format!("convert-{i}"))
        } else if i % 2 == 0 {
            (i % users, format!("convert-{}", i % users))
        } else {
            (i % users, format!("convert-{}-again", i % users))
        };
        let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let event = json!({"idempotency_key": idem, "type": "convert", "occurred_at": at, "plan": "starter",
            "user": {"id": format!("user-{user}"), "kind": "couple"}, "code": referral.code.as_str(),
            "value": {"amount_minor": 2900, "currency": "GBP"}});
        let (http, key, limit) = (http.clone(), key.clone(), limit.clone());
        racing.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let resp = http.post(format!("{url}/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
            resp.json::<EventOutcome>().await.unwrap()
        }));
    }
    for r in racing {
        let outcome = r.await.unwrap();
        assert!(outcome.conversion.is_some());
    }
    let store = db.open().await;
    let rewards = store.rewards_of(session.account.id, None, 1000).await.unwrap();
    let referrer: Vec<_> = rewards.iter().filter(|r| r.role == bouquet_core::rewards::RewardRole::Referrer).collect();
    assert_eq!(referrer.len(), users, "one referrer reward per converted user");
    let conversions: std::collections::HashSet<_> = referrer.iter().map(|r| r.conversion_id).collect();
    assert_eq!(conversions.len(), users, "no conversion rewarded twice");
    // Starter: 10.00, ×1.5 while fewer than 3 earlier successes — whichever three won.
    assert_eq!(referrer.iter().filter(|r| r.amount.amount_minor == 1500).count(), 3);
    assert_eq!(referrer.iter().filter(|r| r.amount.amount_minor == 1000).count(), users - 3);
    let pending: i64 = store
        .balances_of(session.account.id)
        .await
        .unwrap()
        .iter()
        .filter(|(b, _)| *b == bouquet_core::ledger::LedgerBucket::Pending)
        .map(|(_, m)| m.amount_minor)
        .sum();
    assert_eq!(pending, 3 * 1500 + (users as i64 - 3) * 1000);
    let audit = store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    // Each referee got their incentive once.
    for user in [0, 67, 133] {
        let owed: bouquet_core::api::PlatformUserRewards = http
            .get(format!("{}/api/v1/platform/users/user-{user}/rewards", b.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(owed.items.len(), 1);
        assert_eq!(owed.items[0].amount.amount_minor, 500);
    }
    drop((a, b));
}

/// Two processes take 300 conversions at once under a campaign whose budget covers about a
/// third of them: spend never passes the cap, every conversion is rewarded exactly once
/// (under the campaign or at the standing rate), and the books balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_spend_past_a_campaign_cap() {
    let Some(db) = TestDb::postgres().await else { return };
    let (a, b) = start_two(&db.url);
    let key = cli(&["api-key", "create", "--name", "wedsync", "--database-url", &db.url]);
    cli(&["admin", "create", "--email", "ops@bouquet.example", "--password", "a long admin password", "--database-url", &db.url]);
    let http = reqwest::Client::new();
    let sign_in = |email: &'static str, password: &'static str, url: String| {
        let http = http.clone();
        async move {
            let s: SessionView = http.post(format!("{url}/api/v1/sessions")).json(&json!({"email": email, "password": password}))
                .send().await.unwrap().json().await.unwrap();
            s
        }
    };
    http.post(format!("{}/api/v1/accounts", a.url))
        .json(&json!({"kind": "supplier", "email": "flo@example.com", "password": "correct horse battery", "business_name": "Petal & Stem", "vendor_type": "florist"}))
        .send().await.unwrap().error_for_status().unwrap();
    let flo = sign_in("flo@example.com", "correct horse battery", a.url.clone()).await;
    let ops = sign_in("ops@bouquet.example", "a long admin password", b.url.clone()).await;
    let now = Utc::now();
    // Grants are 10.00 × 1.5 × 2 = 30.00 for the first three, then 20.00: 2,000.00 covers ~100 of 300.
    let campaign: bouquet_core::api::CampaignView = http
        .post(format!("{}/api/v1/admin/campaigns", b.url))
        .bearer_auth(&ops.token)
        .json(&json!({"name": "Cap race", "kind": "targeted", "starts_at": now - chrono::Duration::hours(1), "ends_at": now + chrono::Duration::days(1),
            "multiplier_bp": 20000, "budget": {"amount_minor": 200000, "currency": "CRD"}}))
        .send().await.unwrap().error_for_status().unwrap().json().await.unwrap();
    let referral: ReferralView = http
        .post(format!("{}/api/v1/referrals", a.url))
        .bearer_auth(&flo.token)
        .json(&json!({"method": "link", "campaign_id": campaign.id}))
        .send().await.unwrap().error_for_status().unwrap().json().await.unwrap();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
    let mut racing = Vec::new();
    for i in 0..300usize {
        let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let event = json!({"idempotency_key": format!("cap-{i}"), "type": "convert", "occurred_at": now, "plan": "starter",
            "user": {"id": format!("cap-user-{i}"), "kind": "couple"}, "code": referral.code.as_str()});
        let (http, key, limit) = (http.clone(), key.clone(), limit.clone());
        racing.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let resp = http.post(format!("{url}/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
            resp.json::<EventOutcome>().await.unwrap()
        }));
    }
    let mut granted_under_campaign = 0;
    for r in racing {
        let outcome = r.await.unwrap();
        let reward = outcome.rewards.iter().find(|r| r.role == bouquet_core::rewards::RewardRole::Referrer).expect("rewarded");
        if reward.reason.contains("campaign \"Cap race\" ×") {
            granted_under_campaign += reward.amount.amount_minor;
        }
    }
    let view: bouquet_core::api::CampaignView = http
        .get(format!("{}/api/v1/admin/campaigns/{}", a.url, campaign.id))
        .bearer_auth(&ops.token)
        .send().await.unwrap().json().await.unwrap();
    assert!(view.spent.amount_minor <= 200000, "spend {} passed the cap", view.spent.amount_minor);
    assert_eq!(view.spent.amount_minor, granted_under_campaign);
    assert!(view.spent.amount_minor > 200000 - 3000, "the budget is used up to less than one grant: {}", view.spent.amount_minor);
    let store = db.open().await;
    let rewards = store.rewards_of(flo.account.id, None, 1000).await.unwrap();
    let referrer: Vec<_> = rewards.iter().filter(|r| r.role == bouquet_core::rewards::RewardRole::Referrer).collect();
    assert_eq!(referrer.len(), 300, "every conversion rewarded exactly once");
    assert_eq!(referrer.iter().filter(|r| r.campaign_id.is_some()).count() as i64, view.conversions);
    let audit = store.audit_ledger().await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    drop((a, b));
}

/// Two processes' webhook dispatchers share one outbox: every event of 30 referrals made
/// on either process reaches the receiver, and (nothing failing) each exactly once — the
/// claims skip what the other process holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_each_webhook_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let (a, b) = start_two(&db.url);
    cli(&["admin", "create", "--email", "ops@bouquet.example", "--password", "a long admin password", "--database-url", &db.url]);

    // The receiver counts what arrives under each webhook-id.
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let log = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let http = reqwest::Client::new();
    let sign_in = |url: String, email: &'static str, password: &'static str| {
        let http = http.clone();
        async move {
            let s: SessionView = http.post(format!("{url}/api/v1/sessions")).json(&json!({"email": email, "password": password})).send().await.unwrap().json().await.unwrap();
            s.token
        }
    };
    let ops = sign_in(a.url.clone(), "ops@bouquet.example", "a long admin password").await;
    let created = http.post(format!("{}/api/v1/admin/webhooks", b.url)).bearer_auth(&ops).json(&json!({"url": hook, "event_types": ["referral.created"]})).send().await.unwrap();
    assert_eq!(created.status(), 201);
    http.post(format!("{}/api/v1/accounts", a.url))
        .json(&json!({"kind": "supplier", "email": "flo@example.com", "password": "correct horse battery", "business_name": "Petal & Stem", "vendor_type": "florist"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let flo = sign_in(b.url.clone(), "flo@example.com", "correct horse battery").await;
    let referrals = 30;
    for i in 0..referrals {
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        let resp = http.post(format!("{url}/api/v1/referrals")).bearer_auth(&flo).json(&json!({"method": "link"})).send().await.unwrap();
        assert_eq!(resp.status(), 201);
    }
    let start = std::time::Instant::now();
    while got.lock().unwrap().len() < referrals {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "only {} of {referrals} arrived", got.lock().unwrap().len());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Both dispatchers tick every second: give a duplicate the time to show.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let ids = got.lock().unwrap().clone();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (referrals, referrals), "each event once");
    drop((a, b));
}
