//! People and their traffic for fraud tests: accounts, codes, the platform's events, a
//! fair pushed from a device, a phone scanning a QR code.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bouquet_core::api::{EventOutcome, SessionView};
use bouquet_core::code::ReferralCode;
use bouquet_core::sync::{Entity, SCHEMA_VERSION};
use bouquet_core::{AccountKind, Hlc};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestServer, api, json_of};

/// Signs up (or, for `admin`, creates as an operator would) and signs in; `from`: the
/// X-Forwarded-For address the sign-in comes from (the account's own network).
pub async fn account_from(server: &TestServer, kind: &str, email: &str, name: &str, from: Option<&str>) -> SessionView {
    let body = match kind {
        "supplier" => json!({"kind": "supplier", "email": email, "password": "correct horse battery", "business_name": name, "vendor_type": "florist"}),
        "admin" => {
            bouquet_server::service::accounts::create_admin(&server.store, email, "correct horse battery".into()).await.unwrap();
            Value::Null
        }
        _ => json!({"kind": "couple", "email": email, "password": "correct horse battery", "couple_names": name}),
    };
    if !body.is_null() {
        json_of(api().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
    }
    let mut request = api().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": email, "password": "correct horse battery"}));
    if let Some(ip) = from {
        request = request.header("x-forwarded-for", ip);
    }
    let session = request.send().await.unwrap();
    serde_json::from_value(json_of(session, StatusCode::CREATED).await).unwrap()
}

pub async fn account(server: &TestServer, kind: &str, email: &str, name: &str) -> SessionView {
    account_from(server, kind, email, name, None).await
}

pub async fn code(server: &TestServer, s: &SessionView) -> String {
    let body = json!({"method": "link", "incentive_amount": {"amount_minor": 1000, "currency": "GBP"}, "incentive_offered": "£10 off"});
    let resp = api().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&s.token).json(&body).send().await.unwrap();
    json_of(resp, StatusCode::CREATED).await["code"].as_str().unwrap().to_string()
}

pub struct Platform {
    pub key: String,
}

impl Platform {
    pub async fn new(server: &TestServer) -> Self {
        let key = bouquet_server::service::accounts::create_api_key(&server.store, &format!("wedsync-{}", Uuid::new_v4())).await.unwrap();
        Self { key }
    }

    pub async fn event(&self, server: &TestServer, body: Value) -> EventOutcome {
        let resp = api().post(format!("{}/api/v1/events", server.url)).bearer_auth(&self.key).json(&body).send().await.unwrap();
        serde_json::from_value(json_of(resp, StatusCode::OK).await).unwrap()
    }

    /// A couple signs up: through a typed `code`, or a `touch` from the landing page.
    pub async fn signup(&self, server: &TestServer, user: &str, email: &str, via: Via<'_>, ip: &str, at: DateTime<Utc>) -> EventOutcome {
        let mut body = json!({"idempotency_key": format!("signup-{user}"), "type": "signup", "occurred_at": at,
            "user": {"id": user, "kind": "couple", "email": email, "ip": ip, "user_agent": "Mozilla/5.0 (iPhone)"}});
        match via {
            Via::Code(c) => body["code"] = json!(c),
            Via::Touch(t) => body["touch_id"] = json!(t),
        }
        self.event(server, body).await
    }

    pub async fn convert(&self, server: &TestServer, user: &str, at: DateTime<Utc>) -> EventOutcome {
        self.event(server, json!({"idempotency_key": format!("convert-{user}"), "type": "convert", "occurred_at": at,
            "user": {"id": user, "kind": "supplier"}, "plan": "Professional", "annual": true,
            "value": {"amount_minor": 4900, "currency": "GBP"}}))
            .await
    }
}

#[derive(Clone, Copy)]
pub enum Via<'a> {
    Code(&'a str),
    Touch(&'a str),
}

/// A device push of one fair (today) and one QR code tied to it, as the app sends them.
pub async fn push_fair_and_code(server: &TestServer, s: &SessionView, fair_date: &str) -> String {
    let clock = |n: u32| Hlc { wall_ms: Utc::now().timestamp_millis(), counter: n, node: "booth".into() };
    let fair = Uuid::now_v7();
    let code_id = Uuid::now_v7();
    let code = ReferralCode::generate(AccountKind::Supplier, &s.code_namespace, 1).to_string();
    let change = |seq: i64, entity: Entity, id: Uuid, fields: Value| {
        let fields = fields.as_object().unwrap().clone();
        let clocks: BTreeMap<String, Hlc> = fields.keys().map(|k| (k.clone(), clock(seq as u32))).collect();
        json!({"seq": seq, "entity": entity, "id": id, "fields": fields, "clocks": clocks})
    };
    let now = Utc::now().to_rfc3339();
    let changes = vec![
        change(1, Entity::Fair, fair, json!({"name": "Spring Wedding Fair", "date": fair_date, "place": "Town Hall", "created_at": now})),
        change(2, Entity::Code, code_id, json!({"code": code, "method": "qr", "fair_id": fair.to_string(), "link": format!("{}/r/{code}", server.url), "created_at": now})),
    ];
    let resp = api()
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&s.token)
        .json(&json!({"schema_version": SCHEMA_VERSION, "changes": changes}))
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await;
    code
}

/// A phone on the venue's Wi-Fi scans the QR code: its touch id.
pub async fn scan(server: &TestServer, code: &str, ip: &str, phone: u32) -> String {
    let resp = api()
        .get(format!("{}/r/{code}?via=qr", server.url))
        .header("x-forwarded-for", ip)
        .header("user-agent", format!("Mozilla/5.0 (iPhone; CPU iPhone OS 17_{phone} like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).find(|c| c.starts_with("bq_touch=")).unwrap();
    cookie.trim_start_matches("bq_touch=").split(';').next().unwrap().to_string()
}

