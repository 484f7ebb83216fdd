//! The whole story over real HTTP on a random port, on SQLite and on PostgreSQL: a
//! supplier registers and makes referrals, a couple's phone opens the link, leaves a
//! lead, the platform reports sign-up and conversion, and the conversion is attributed.

mod common;
use bouquet_server::on_both_backends;

use bouquet_core::api::{EventOutcome, EventStatus, ReferralPage, ReferralView, SessionView, StatsView};
use bouquet_core::{AccountKind, AttributionModel, Channel, Money, ReferralCode};
use chrono::{Duration, Utc};
use common::{TestDb, TestServer};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const PREVIEW_BOT: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";

fn api() -> reqwest::Client {
    reqwest::Client::new()
}

/// A phone's browser: keeps cookies, does not follow redirects (so we can read them).
fn phone() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).user_agent(IPHONE).redirect(Policy::none()).build().unwrap()
}

async fn json_of(resp: reqwest::Response, expected: StatusCode) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, expected, "{body}");
    body
}

async fn supplier(server: &TestServer, email: &str, business: &str) -> SessionView {
    let created = api()
        .post(format!("{}/api/v1/accounts", server.url))
        .json(&json!({"kind": "supplier", "email": email, "password": "correct horse battery",
                      "business_name": business, "vendor_type": "photographer"}))
        .send()
        .await
        .unwrap();
    json_of(created, StatusCode::CREATED).await;
    let session = api()
        .post(format!("{}/api/v1/sessions", server.url))
        .json(&json!({"email": email, "password": "correct horse battery", "device_name": "studio laptop"}))
        .send()
        .await
        .unwrap();
    serde_json::from_value(json_of(session, StatusCode::CREATED).await).unwrap()
}

async fn create_referral(server: &TestServer, session: &SessionView, body: Value) -> reqwest::Response {
    api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&session.token).json(&body).send().await.unwrap()
}

async fn referral_by_id(server: &TestServer, session: &SessionView, id: uuid::Uuid) -> ReferralView {
    let page: ReferralPage = api()
        .get(format!("{}/api/v1/referrals?limit=200", server.url))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page.items.into_iter().find(|r| r.id == id).expect("referral listed")
}

async fn platform_key(server: &TestServer) -> String {
    // What `bouquet-server api-key create` does, on the same store.
    bouquet_server::service::accounts::create_api_key(&server.store, &format!("wedsync-{}", uuid::Uuid::new_v4())).await.unwrap()
}

async fn send_event(server: &TestServer, key: &str, event: Value) -> reqwest::Response {
    api().post(format!("{}/api/v1/events", server.url)).bearer_auth(key).json(&event).send().await.unwrap()
}

async fn stats(server: &TestServer, session: &SessionView) -> StatsView {
    let resp = api().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&session.token).send().await.unwrap();
    serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
}

async fn whole_story(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = supplier(&server, "flo@example.com", "Petal & Stem").await;
    assert_eq!(flo.account.kind, AccountKind::Supplier);

    // A referral with a server-made code, and one the device made offline in its namespace.
    let resp = create_referral(&server, &flo, json!({"method": "qr", "message": "Lovely to meet you at the fair!",
        "incentive_offered": "10% off your engagement shoot", "utm_source": "spring-fair"}))
    .await;
    let referral: ReferralView = serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap();
    assert!(referral.link.starts_with(&format!("{}/r/{}", server.url, referral.code)));
    assert!(referral.qr_link.contains("via=qr"));
    let offline = ReferralCode::generate(AccountKind::Supplier, &flo.code_namespace, 2);
    let resp = create_referral(&server, &flo, json!({"code": offline.as_str(), "method": "email"})).await;
    let offline_view: ReferralView = serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap();
    assert_eq!(offline_view.code, offline);
    let again = create_referral(&server, &flo, json!({"code": offline.as_str(), "method": "email"})).await;
    assert_eq!(json_of(again, StatusCode::CONFLICT).await["code"], "conflict");

    // The couple's phone scans the QR code: counted once, cookie set.
    let couple = phone();
    let page = couple.get(&referral.qr_link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookies: Vec<String> =
        page.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let touch_cookie = cookies.iter().find(|c| c.starts_with("bq_touch=")).expect("bq_touch cookie");
    assert!(touch_cookie.contains("Max-Age=7776000") && touch_cookie.contains("HttpOnly"), "{touch_cookie}");
    let html = page.text().await.unwrap();
    assert!(html.contains("Petal &#38; Stem invited you") || html.contains("Petal &amp; Stem invited you"), "{html}");
    assert!(html.contains("10% off your engagement shoot"));
    couple.get(&referral.qr_link).send().await.unwrap();
    // A link preview fetched by a chat app: page served, nothing counted, no cookie.
    let bot = api().get(&referral.link).header("user-agent", PREVIEW_BOT).send().await.unwrap();
    assert_eq!(bot.status(), StatusCode::OK);
    assert!(bot.headers().get("set-cookie").is_none());
    let counted = referral_by_id(&server, &flo, referral.id).await;
    assert_eq!((counted.unique_visits, counted.qr_scans), (1, 1), "repeat visit and bot not counted");
    assert!(counted.clicked_at.is_some());

    // The lead form: redirected to the platform's sign-up with the touch id.
    let lead = couple
        .post(format!("{}/r/{}", server.url, referral.code))
        .form(&[("couple_names", "Anna & Ben"), ("email", "Anna@Example.com"), ("wedding_date", "2027-06-12")])
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), StatusCode::SEE_OTHER);
    let location = lead.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("https://wedsync.example/signup?bq_touch="), "{location}");
    let touch_id = location.split("bq_touch=").nth(1).unwrap().split('&').next().unwrap().to_string();
    assert_eq!(referral_by_id(&server, &flo, referral.id).await.leads, 1);

    // The platform: sign-up (with the touch id), then conversion.
    let key = platform_key(&server).await;
    let when = Utc::now();
    let signup = send_event(&server, &key, json!({"idempotency_key": "signup-u1", "type": "signup",
        "occurred_at": when, "user": {"id": "u1", "kind": "couple", "email": "anna@example.com"}, "touch_id": touch_id}))
    .await;
    let signup: EventOutcome = serde_json::from_value(json_of(signup, StatusCode::OK).await).unwrap();
    assert_eq!(signup.touches_linked, 1, "the redirect's touch, found again by the lead's email, counts once");
    let convert = json!({"idempotency_key": "convert-u1", "type": "convert", "occurred_at": when + Duration::seconds(5),
        "user": {"id": "u1", "kind": "couple"}, "plan": "pro-annual", "annual": true,
        "value": {"amount_minor": 4900, "currency": "GBP"}});
    let outcome: EventOutcome =
        serde_json::from_value(json_of(send_event(&server, &key, convert.clone()).await, StatusCode::OK).await).unwrap();
    assert_eq!(outcome.status, EventStatus::Recorded);
    let conversion = outcome.conversion.clone().expect("attributed");
    assert_eq!(conversion.model, AttributionModel::LastTouch);
    assert_eq!((conversion.referral_id, conversion.referrer_id), (referral.id, flo.account.id));
    assert_eq!(conversion.credits.len(), 1);
    assert_eq!(conversion.credits[0].channel, Channel::Qr);
    assert_eq!(conversion.credits[0].value_minor, 4900);
    assert!(conversion.annual);

    // Replayed, sequentially and concurrently: the same answer, counted once.
    let replay: EventOutcome =
        serde_json::from_value(json_of(send_event(&server, &key, convert.clone()).await, StatusCode::OK).await).unwrap();
    assert_eq!(replay.status, EventStatus::Duplicate);
    assert_eq!(replay.conversion, outcome.conversion);
    let mut racing = Vec::new();
    for i in 0..6 {
        let (url, key) = (server.url.clone(), key.clone());
        let mut event = convert.clone();
        if i % 2 == 1 {
            event["idempotency_key"] = json!(format!("convert-u1-retry-{i}"));
        }
        racing.push(tokio::spawn(async move {
            api().post(format!("{url}/api/v1/events")).bearer_auth(key).json(&event).send().await.unwrap().status()
        }));
    }
    for r in racing {
        assert_eq!(r.await.unwrap(), StatusCode::OK);
    }
    let s = stats(&server, &flo).await;
    assert_eq!(s.successful_referrals, 1);
    assert_eq!(s.value_generated, vec![Money { amount_minor: 4900, currency: "GBP".into() }]);
    assert_eq!((s.unique_visits, s.qr_scans, s.leads, s.signups), (1, 1, 1, 1));
    assert_eq!(s.total_referrals, 2);
    assert_eq!(s.conversion_rate_bp, Some(10_000));
    let converted = referral_by_id(&server, &flo, referral.id).await;
    assert_eq!(converted.conversion_value, Some(Money { amount_minor: 4900, currency: "GBP".into() }));
    assert!(converted.signed_up_at.is_some() && converted.converted_at.is_some());

    // A mistyped code is rejected, never credited to a neighbour.
    let mut typo = referral.code.to_string().into_bytes();
    let last = typo.len() - 2;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let page = phone().get(format!("{}/r/{typo}", server.url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("typo"));
    let bad = send_event(&server, &key, json!({"idempotency_key": "signup-u2", "type": "signup", "occurred_at": when,
        "user": {"id": "u2", "kind": "couple"}, "code": typo}))
    .await;
    assert_eq!(json_of(bad, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "invalid_code");
    // The same event with the right code (typed in lower case) is taken.
    let good = send_event(&server, &key, json!({"idempotency_key": "signup-u2", "type": "signup", "occurred_at": when,
        "user": {"id": "u2", "kind": "couple"}, "code": offline.as_str().to_lowercase()}))
    .await;
    assert_eq!(json_of(good, StatusCode::OK).await["touches_linked"], 1);
    server.stop().await;
}

async fn pages_for_unknown_expired_and_odd_codes(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = supplier(&server, "flo@example.com", "Petal & Stem").await;
    let past = Utc::now() - Duration::days(40);
    let resp = create_referral(&server, &flo, json!({"method": "link", "created_at": past, "expires_at": past + Duration::days(30)})).await;
    let expired: ReferralView = serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap();
    let get = |path: String| async move { phone().get(path).send().await.unwrap() };
    let gone = get(expired.link.clone()).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.text().await.unwrap().contains("has expired"));
    let unknown = ReferralCode::generate(AccountKind::Supplier, &flo.code_namespace, 0);
    assert_eq!(get(format!("{}/r/{unknown}", server.url)).await.status(), StatusCode::NOT_FOUND);
    for odd in ["nonsense", "LOVE-", "%F0%9F%92%90", "LOVE-0000000000", &"A".repeat(3000)] {
        let resp = get(format!("{}/r/{odd}", server.url)).await;
        assert!(resp.status() == StatusCode::NOT_FOUND, "{odd}: {}", resp.status());
    }
    // Lower case goes to the one canonical URL.
    let live: ReferralView =
        serde_json::from_value(json_of(create_referral(&server, &flo, json!({})).await, StatusCode::CREATED).await).unwrap();
    let lower = get(format!("{}/r/{}?via=qr", server.url, live.code.as_str().to_lowercase())).await;
    assert_eq!(lower.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(lower.headers()["location"], format!("/r/{}?via=qr", live.code).as_str());
    // A lead with a bad email gets the form back with the typed names kept.
    let form = phone()
        .post(format!("{}/r/{}", server.url, live.code))
        .form(&[("couple_names", "Cat & Dan"), ("email", "not-an-email")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = form.text().await.unwrap();
    assert!(html.contains("doesn&#39;t look right") || html.contains("doesn&#x27;t look right") || html.contains("look right"), "{html}");
    assert!(html.contains("Cat &#38; Dan") || html.contains("Cat &amp; Dan"));
    // Typing a code by hand.
    let typed = get(format!("{}/r?code={}", server.url, live.code.as_str().to_lowercase())).await;
    assert_eq!(typed.status(), StatusCode::SEE_OTHER);
    // A visitor cookie that no server set (a space in it) is not taken as the visitor's:
    // the page answers with a visitor id of its own.
    for odd in ["a%20b", "a b"] {
        let page = phone().get(&live.link).header("cookie", format!("bq_vid={odd}")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let set: Vec<&str> = page.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
        let visitor = set.iter().find_map(|c| c.strip_prefix("bq_vid=")).expect("a visitor cookie");
        let id = visitor.split(';').next().unwrap();
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{odd}: {visitor}");
    }
    server.stop().await;
}

async fn bad_input_gets_clear_errors(db: &TestDb) {
    let server = TestServer::start_with(db, |s| s.body_limit_bytes = 4096).await;
    let flo = supplier(&server, "flo@example.com", "Petal & Stem").await;
    let url = |p: &str| format!("{}{p}", server.url);
    let post_raw = |path: &str, body: String, content_type: Option<&str>| {
        let mut req = api().post(url(path)).bearer_auth(&flo.token).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        ("/api/v1/referrals", "{not json".into(), Some("application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
        ("/api/v1/referrals", "{\"method\": 7}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        ("/api/v1/referrals", "{\"colour\": \"red\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        ("/api/v1/referrals", "{}".into(), None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("/api/v1/referrals", format!("{{\"message\": \"{}\"}}", "x".repeat(10_000)), Some("application/json"), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ("/api/v1/referrals", "{\"code\": \"LOVE-22222222223\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        ("/api/v1/referrals", "{\"message\": \"x\\u0000y\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("/api/v1/referrals", "{\"incentive_amount\": {\"amount_minor\": -5, \"currency\": \"GBP\"}}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("/api/v1/referrals", "{\"source_url\": \"javascript:alert(1)\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("/api/v1/accounts", "{\"kind\": \"supplier\", \"email\": \"x@example.com\", \"password\": \"short\", \"business_name\": \"X\", \"vendor_type\": \"venue\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("/api/v1/accounts", "{\"kind\": \"supplier\", \"email\": \"x@example.com\", \"password\": \"long enough pass\"}".into(), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "missing_field"),
        ("/api/v1/accounts", "{\"kind\": \"admin\", \"email\": \"x@example.com\", \"password\": \"long enough pass\"}".into(), Some("application/json"), StatusCode::FORBIDDEN, "forbidden"),
        ("/api/v1/accounts", "{\"kind\": \"couple\", \"email\": \"flo@example.com\", \"password\": \"long enough pass\", \"couple_names\": \"A & B\"}".into(), Some("application/json"), StatusCode::CONFLICT, "conflict"),
        ("/api/v1/sessions", "{\"email\": \"flo@example.com\", \"password\": \"wrong password!\"}".into(), Some("application/json"), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("/api/v1/events", "{}".into(), Some("application/json"), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("/api/v1/nowhere", "{}".into(), Some("application/json"), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (path, body, ct, status, code) in cases {
        let resp = post_raw(path, body.clone(), ct).await.unwrap();
        let got = resp.status();
        let json: Value = resp.json().await.unwrap_or_else(|e| panic!("{path} {body:.60}: not JSON: {e}"));
        assert_eq!((got, json["code"].as_str().unwrap()), (status, code), "{path} {body:.80}: {json}");
        assert!(!json["message"].as_str().unwrap().is_empty());
    }
    let unauth = api().get(url("/api/v1/referrals")).bearer_auth("bqd_forged").send().await.unwrap();
    assert_eq!(json_of(unauth, StatusCode::UNAUTHORIZED).await["code"], "unauthorized");
    let bad_cursor = api().get(url("/api/v1/referrals?after=zzz")).bearer_auth(&flo.token).send().await.unwrap();
    assert_eq!(json_of(bad_cursor, StatusCode::BAD_REQUEST).await["code"], "invalid_cursor");
    let bad_limit = api().get(url("/api/v1/referrals?limit=lots")).bearer_auth(&flo.token).send().await.unwrap();
    assert_eq!(json_of(bad_limit, StatusCode::BAD_REQUEST).await["code"], "invalid_query");

    // Nothing half-written: the refused requests left no referral behind.
    let page: ReferralPage =
        api().get(url("/api/v1/referrals")).bearer_auth(&flo.token).send().await.unwrap().json().await.unwrap();
    assert!(page.items.is_empty());

    // Another account's namespace cannot be used, and another account's data is not visible.
    let ivy = supplier(&server, "ivy@example.com", "Ivy Venue").await;
    let stolen = ReferralCode::generate(AccountKind::Supplier, &flo.code_namespace, 0);
    let resp = create_referral(&server, &ivy, json!({"code": stolen.as_str()})).await;
    assert_eq!(json_of(resp, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "foreign_code_namespace");
    create_referral(&server, &flo, json!({})).await;
    let ivy_page: ReferralPage =
        api().get(url("/api/v1/referrals")).bearer_auth(&ivy.token).send().await.unwrap().json().await.unwrap();
    assert!(ivy_page.items.is_empty());
    assert_eq!(stats(&server, &ivy).await.total_referrals, 0);

    // Events: wrong key, future time, bad email, unknown code.
    let key = platform_key(&server).await;
    let wrong = send_event(&server, "bqk_not-a-key", json!({})).await;
    assert_eq!(json_of(wrong, StatusCode::UNAUTHORIZED).await["code"], "unauthorized");
    let base = json!({"idempotency_key": "e1", "type": "signup", "occurred_at": Utc::now(), "user": {"id": "u1", "kind": "couple"}});
    let mut future = base.clone();
    future["occurred_at"] = json!(Utc::now() + Duration::days(1));
    let mut bad_email = base.clone();
    bad_email["user"]["email"] = json!("nope");
    let mut unknown = base.clone();
    unknown["code"] = json!(ReferralCode::generate(AccountKind::Supplier, &ivy.code_namespace, 0).as_str());
    let mut bad_type = base.clone();
    bad_type["type"] = json!("purchase");
    for (event, code) in [(future, "invalid_field"), (bad_email, "invalid_field"), (unknown, "unknown_code"), (bad_type, "invalid_body")] {
        assert_eq!(json_of(send_event(&server, &key, event).await, StatusCode::UNPROCESSABLE_ENTITY).await["code"], code);
    }
    // After all that, the key is still unused: the first valid event with it is recorded.
    let ok: EventOutcome = serde_json::from_value(json_of(send_event(&server, &key, base).await, StatusCode::OK).await).unwrap();
    assert_eq!(ok.status, EventStatus::Recorded);
    server.stop().await;
}

async fn chosen_model_splits_credit_across_suppliers(db: &TestDb) {
    let server = TestServer::start_with(db, |s| s.attribution.model = AttributionModel::Linear).await;
    let flo = supplier(&server, "flo@example.com", "Petal & Stem").await;
    let ivy = supplier(&server, "ivy@example.com", "Ivy Venue").await;
    let r1: ReferralView =
        serde_json::from_value(json_of(create_referral(&server, &flo, json!({"method": "qr"})).await, StatusCode::CREATED).await).unwrap();
    let r2: ReferralView =
        serde_json::from_value(json_of(create_referral(&server, &ivy, json!({"method": "social"})).await, StatusCode::CREATED).await).unwrap();
    let couple = phone();
    let mut touches = Vec::new();
    for link in [&r1.qr_link, &r2.link] {
        let resp = couple.post(link.split('?').next().unwrap()).form(&[("couple_names", "Eve & Fay"), ("email", "eve@example.com")]).send().await.unwrap();
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        touches.push(loc.split("bq_touch=").nth(1).unwrap().split('&').next().unwrap().to_string());
    }
    let key = platform_key(&server).await;
    let convert = json!({"idempotency_key": "c-eve", "type": "convert", "occurred_at": Utc::now(),
        "user": {"id": "eve", "kind": "couple", "email": "EVE@example.com"}, "value": {"amount_minor": 999, "currency": "EUR"}});
    let outcome: EventOutcome = serde_json::from_value(json_of(send_event(&server, &key, convert).await, StatusCode::OK).await).unwrap();
    let conversion = outcome.conversion.unwrap();
    assert_eq!(conversion.model, AttributionModel::Linear);
    let shares: Vec<(uuid::Uuid, u32, i64)> = conversion.credits.iter().map(|c| (c.referrer_id, c.weight_ppm, c.value_minor)).collect();
    assert_eq!(shares, vec![(flo.account.id, 500_000, 500), (ivy.account.id, 500_000, 499)]);
    assert_eq!(conversion.referrer_id, ivy.account.id, "on a tie the latest touch is primary");
    assert_eq!(stats(&server, &flo).await.value_generated, vec![Money { amount_minor: 500, currency: "EUR".into() }]);
    assert_eq!(stats(&server, &ivy).await.successful_referrals, 1);
    assert_eq!(stats(&server, &flo).await.successful_referrals, 0);
    server.stop().await;
}

async fn openapi_covers_every_endpoint(db: &TestDb) {
    let server = TestServer::start(db).await;
    let doc: Value = api().get(format!("{}/api/openapi.json", server.url)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/accounts", &["post"][..]),
        ("/api/v1/sessions", &["post"]),
        ("/api/v1/referrals", &["post", "get"]),
        ("/api/v1/events", &["post"]),
        ("/api/v1/me/stats", &["get"]),
        ("/api/v1/me/locale", &["put"]),
        ("/api/v1/sync/push", &["post"]),
        ("/api/v1/sync/pull", &["get"]),
        ("/api/v1/sync/state", &["get"]),
        ("/api/v1/sync/codes", &["get"]),
        ("/api/v1/sync/invitations", &["get"]),
        ("/api/v1/unsubscribe/{token}", &["get", "post"]),
        ("/api/v1/admin/webhooks", &["post", "get"]),
        ("/api/v1/admin/webhooks/{id}", &["delete"]),
        ("/api/v1/admin/webhooks/{id}/deliveries", &["get"]),
        ("/api/openapi.json", &["get"]),
        ("/healthz", &["get"]),
        ("/metrics", &["get"]),
        ("/r/{code}", &["get", "post"]),
        ("/r", &["get"]),
        ("/welcome", &["get"]),
        ("/api/v1/me/rewards", &["get"]),
        ("/api/v1/me/rewards/{id}/claim", &["post"]),
        ("/api/v1/me/balance", &["get"]),
        ("/api/v1/me/ledger", &["get"]),
        ("/api/v1/me/tier", &["get"]),
        ("/api/v1/me/leaderboard-visibility", &["put"]),
        ("/api/v1/leaderboards", &["get"]),
        ("/api/v1/platform/users/{id}/rewards", &["get"]),
        ("/api/v1/admin/ledger/adjustments", &["post"]),
        ("/api/v1/admin/accounts/{id}/ledger", &["get"]),
        ("/api/v1/admin/campaigns", &["post", "get"]),
        ("/api/v1/admin/campaigns/{id}", &["get", "patch"]),
        ("/api/v1/campaigns/active", &["get"]),
        ("/api/v1/admin/campaigns/{id}/experiments", &["post"]),
        ("/api/v1/admin/experiments/{id}", &["get"]),
        ("/api/v1/admin/experiments/{id}/apply", &["post"]),
        ("/api/v1/admin/fraud/reviews", &["get"]),
        ("/api/v1/admin/fraud/reviews/{id}", &["get"]),
        ("/api/v1/admin/fraud/reviews/{id}/decision", &["post"]),
        ("/api/v1/admin/fraud/assessments", &["get"]),
        ("/api/v1/me/analytics", &["get"]),
        ("/api/v1/admin/analytics", &["get"]),
        ("/api/v1/admin/analytics/loop", &["get"]),
        ("/api/v1/recommendations", &["get"]),
        ("/api/v1/recommendations/act", &["post"]),
        ("/api/v1/recommendations/friends", &["post"]),
        ("/api/v1/me/recommended-by", &["get"]),
        ("/api/v1/me/network", &["get"]),
        ("/api/v1/platform/suppliers/{id}/reputation", &["put"]),
        ("/api/v1/me/notifications", &["get"]),
        ("/api/v1/me/notification-preferences", &["get", "put"]),
        ("/api/v1/me", &["delete"]),
        ("/api/v1/me/export", &["get"]),
        ("/api/v1/platform/users/{id}", &["delete"]),
    ] {
        for m in methods {
            assert!(paths.get(path).and_then(|p| p.get(*m)).is_some(), "{m} {path} missing from the OpenAPI document");
        }
    }
    assert_eq!(paths.len(), 55, "a route was added without being checked here: {:?}", paths.keys().collect::<Vec<_>>());
    let health: Value = api().get(format!("{}/healthz", server.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = api().get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("bouquet_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), "{metrics}");
    server.stop().await;
}

/// A phone asking for gzip gets the landing page as it is (it fits in the first round
/// trip either way, and deflate was a tenth of the server's work under a fair's burst),
/// while a large answer — the OpenAPI document — still comes compressed.
async fn only_answers_past_the_first_round_trip_are_compressed(db: &TestDb) {
    let server = TestServer::start(db).await;
    let flo = supplier(&server, "flo@example.com", "Petal & Stem").await;
    let resp = create_referral(&server, &flo, json!({"method": "qr", "message": "Lovely to meet you at the fair!"})).await;
    let referral: ReferralView = serde_json::from_value(json_of(resp, StatusCode::CREATED).await).unwrap();
    let gzip_please = |url: String| async move { phone().get(url).header("accept-encoding", "gzip").send().await.unwrap() };

    let page = gzip_please(referral.qr_link.clone()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().get("content-encoding").is_none(), "{:?}", page.headers());
    let html = page.text().await.unwrap();
    assert!(html.contains("Lovely to meet you at the fair!"));
    assert!(html.len() < usize::from(bouquet_server::http::FIRST_FLIGHT_BYTES), "the landing page grew to {} bytes", html.len());

    let doc = gzip_please(format!("{}/api/openapi.json", server.url)).await;
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(doc.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let zipped = doc.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut unzipped).unwrap();
    let doc: Value = serde_json::from_str(&unzipped).unwrap();
    assert!(doc["paths"].as_object().unwrap().contains_key("/r/{code}"));
    assert!(zipped.len() * 3 < unzipped.len(), "{} bytes compressed from {}", zipped.len(), unzipped.len());
    server.stop().await;
}

on_both_backends!(
    only_answers_past_the_first_round_trip_are_compressed,
    whole_story,
    pages_for_unknown_expired_and_odd_codes,
    bad_input_gets_clear_errors,
    chosen_model_splits_credit_across_suppliers,
    openapi_covers_every_endpoint,
);
