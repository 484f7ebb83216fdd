//! Authentication and isolation, generated from the route table: every operation in the
//! server's OpenAPI document is called without credentials, with another account's token,
//! and with the wrong role, and every route the router serves must be in that document
//! (or be one of the HTML pages listed below), so a new endpoint cannot be forgotten.

mod common;

use std::collections::BTreeSet;

use bouquet_core::api::SessionView;
use chrono::Utc;
use common::people::{Platform, Via, account, code, push_fair_and_code};
use bouquet_server::on_both_backends;
use common::{TestDb, TestServer, api};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Operations anyone may call: sign-up and sign-in, the platform-facing pages, the
/// one-click unsubscribe (its token is the credential), health and this document.
const PUBLIC: &[&str] = &[
    "post /api/v1/accounts",
    "post /api/v1/sessions",
    "get /api/v1/unsubscribe/{token}",
    "post /api/v1/unsubscribe/{token}",
    "get /healthz",
    "get /metrics",
    "get /api/openapi.json",
    "get /r",
    "get /r/{code}",
    "post /r/{code}",
    "get /welcome",
];

/// The router's HTML pages: signed in by cookie, not in the API document; their own tests
/// (tests/browser, couple and admin) show who sees what.
const PAGES: &[&str] = &[
    "/r", "/r/{code}", "/welcome", "/couple", "/couple/login", "/couple/login/link", "/couple/login/{token}", "/couple/logout",
    "/couple/emails", "/couple/language", "/couple/recommend", "/couple/share.js", "/admin", "/admin/login", "/admin/logout",
    "/admin/accounts/{id}", "/admin/accounts/{id}/adjustments", "/admin/campaigns", "/admin/campaigns/{id}",
    "/admin/campaigns/{id}/action", "/admin/experiments/{id}/apply", "/admin/webhooks", "/admin/webhooks/{id}",
    "/admin/webhooks/{id}/delete", "/admin/fraud", "/admin/analytics", "/admin/analytics.csv", "/admin/fraud/{id}",
    "/admin/fraud/{id}/decision",
];

/// Every path the router declares (`.route("…"`), with the API's prefix where it is nested:
/// a route belongs to the `let api…` router whose statement it is in.
fn router_paths() -> BTreeSet<String> {
    let source = include_str!("../src/http/mod.rs");
    let router = &source[source.find("pub fn router(").expect("the router")..];
    let mut paths = BTreeSet::new();
    for (at, _) in router.match_indices(".route(\"") {
        let rest = &router[at + 8..];
        let path = &rest[..rest.find('"').unwrap()];
        let before = &router[..at];
        let statement = before.rfind("let ").filter(|start| !before[*start..].contains(';'));
        let in_api = statement.is_some_and(|start| before[start + 4..].starts_with("api"));
        paths.insert(if in_api { format!("/api/v1{path}") } else { path.to_string() });
    }
    paths
}

#[test]
fn every_route_is_documented_or_a_listed_page() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(bouquet_server::http::openapi::ApiDoc::openapi()).unwrap();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routes = router_paths();
    assert!(routes.len() > 60, "the route table was read: {routes:?}");
    for path in &routes {
        assert!(documented.contains(path) || PAGES.contains(&path.as_str()), "{path} is served but neither in the OpenAPI document nor a listed page");
    }
    for path in &documented {
        assert!(routes.contains(path), "{path} is documented but not served");
    }
}

/// What account A owns, and the strings that would give it away in someone else's answer.
struct Alpha {
    session: SessionView,
    reward_id: String,
    markers: Vec<String>,
}

async fn alpha(server: &TestServer) -> Alpha {
    let session = account(server, "supplier", "alpha@example.com", "Aardvark Blooms").await;
    let code = code(server, &session).await;
    let fair_code = push_fair_and_code(server, &session, &Utc::now().date_naive().to_string()).await;
    let platform = Platform::new(server).await;
    platform.signup(server, "couple-a", "amelia.aardvark@example.com", Via::Code(&code), "203.0.113.9", Utc::now()).await;
    platform.convert(server, "couple-a", Utc::now()).await;
    let rewards = api().get(format!("{}/api/v1/me/rewards", server.url)).bearer_auth(&session.token).send().await.unwrap();
    let rewards: Value = rewards.json().await.unwrap();
    let reward_id = rewards["items"][0]["id"].as_str().or_else(|| rewards[0]["id"].as_str()).expect("A earned a reward").to_string();
    let markers = vec![session.account.id.to_string(), "alpha@example.com".into(), "Aardvark Blooms".into(), code, fair_code, "amelia.aardvark".into(), reward_id.clone(), "Spring Wedding Fair".into()];
    Alpha { session, reward_id, markers }
}

fn concrete(path: &str, alpha: &Alpha) -> String {
    let path = path.replace("{code}", &alpha.markers[3]).replace("{token}", "bqu_not_a_token");
    if path.contains("/rewards/{id}") {
        return path.replace("{id}", &alpha.reward_id);
    }
    path.replace("{id}", &alpha.session.account.id.to_string())
}

/// The operation's required query parameters, each with a value its schema allows.
fn required_query(doc: &Value, operation: &Value) -> String {
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => doc.pointer(&r.trim_start_matches('#').to_string()).cloned().unwrap_or(Value::Null),
            None => schema.clone(),
        }
    };
    let mut pairs = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "query" || parameter["required"] != true {
            continue;
        }
        let schema = resolve(&parameter["schema"]);
        let value = match (&schema["enum"], schema["type"].as_str()) {
            _ if parameter["example"].is_string() => parameter["example"].as_str().unwrap().to_string(),
            (Value::Array(values), _) => values[0].as_str().unwrap_or_default().to_string(),
            (_, Some("integer")) => "1".into(),
            (_, Some("boolean")) => "true".into(),
            _ => "x".into(),
        };
        pairs.push(format!("{}={value}", parameter["name"].as_str().unwrap()));
    }
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

async fn call(server: &TestServer, method: &str, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = api().request(method.clone(), format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method != Method::GET && method != Method::DELETE {
        request = request.json(&json!({}));
    }
    let resp = request.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn every_endpoint_refuses_strangers_and_other_accounts(db: &TestDb) {
    let server = TestServer::start(db).await;
    let alpha = alpha(&server).await;
    let bravo = account(&server, "supplier", "bravo@example.com", "Bravo Cakes").await;
    let couple = account(&server, "couple", "cara@example.com", "Cara & Dan").await;
    let doc: Value = api().get(format!("{}/api/openapi.json", server.url)).send().await.unwrap().json().await.unwrap();

    let mut checked = 0;
    let mut alpha_sees_itself = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let name = format!("{method} {path}");
            let schemes: BTreeSet<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().unwrap().keys().map(String::as_str))
                .collect();
            if schemes.is_empty() {
                assert!(PUBLIC.contains(&name.as_str()), "{name} needs no credentials: list it in PUBLIC if it should not");
                continue;
            }
            assert!(!PUBLIC.contains(&name.as_str()), "{name} is listed public but documents a credential");
            let url = format!("{}{}", concrete(path, &alpha), required_query(&doc, operation));
            checked += 1;

            let (status, body) = call(&server, method, &url, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} without credentials: {body}");
            let (status, body) = call(&server, method, &url, Some("bqd_forged-token")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} with a forged token: {body}");

            if path.starts_with("/api/v1/admin/") {
                for (who, token) in [("a supplier", &bravo.token), ("a couple", &couple.token)] {
                    let (status, body) = call(&server, method, &url, Some(token)).await;
                    assert_eq!(status, StatusCode::FORBIDDEN, "{name} as {who}: {body}");
                }
                continue;
            }
            if !schemes.contains("device_token") {
                // The platform's own endpoints: no account's device token opens them.
                let (status, body) = call(&server, method, &url, Some(&bravo.token)).await;
                assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{name} with a device token: {status} {body}");
                continue;
            }
            // Another account's token on A's ids, or on its own /me: never A's data.
            let (status, body) = call(&server, method, &url, Some(&bravo.token)).await;
            assert!(!status.is_server_error(), "{name} as B: {status} {body}");
            if path.contains('{') {
                assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{name} as B on A's id: {status} {body}");
            }
            for marker in &alpha.markers {
                assert!(!body.contains(marker.as_str()), "{name} as B shows A's {marker}: {body}");
            }
            if method == "get" {
                // A's own token is accepted (some operations are for couples only: 403).
                let (status, body) = call(&server, method, &url, Some(&alpha.session.token)).await;
                assert!(status.is_success() || status == StatusCode::FORBIDDEN, "{name} as A: {status} {body}");
                if alpha.markers.iter().any(|m| body.contains(m.as_str())) {
                    alpha_sees_itself.insert(name);
                }
            }
        }
    }
    assert!(checked >= 45, "only {checked} operations were checked");
    // The markers are real: A's own answers carry them where B's must not.
    for name in ["get /api/v1/referrals", "get /api/v1/me/rewards", "get /api/v1/me/ledger", "get /api/v1/sync/pull"] {
        assert!(alpha_sees_itself.contains(name), "{name} as A shows none of A's data: the check above proves nothing for it");
    }
    // B's token on A's reward changed nothing; A can still claim it.
    let (status, body) = call(&server, "post", &format!("/api/v1/me/rewards/{}/claim", alpha.reward_id), Some(&alpha.session.token)).await;
    assert!(status != StatusCode::NOT_FOUND && status != StatusCode::FORBIDDEN, "A's own reward: {status} {body}");
    server.stop().await;
}

on_both_backends!(every_endpoint_refuses_strangers_and_other_accounts);
