//! Shared by the sync tests: a real server, supplier accounts on it, devices (local
//! stores in temp folders) signed in to them, and raw calls for what a misbehaving
//! client would send.
#![allow(dead_code)]

pub mod relay;

use std::collections::BTreeMap;

use bouquet_client::store::contacts::ContactInput;
use bouquet_client::{LocalStore, ServerClient, sync, token};
use bouquet_core::sync::{Entity, PullPage};
use bouquet_server::testing::TestServer;
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub async fn supplier(server: &TestServer, email: &str) {
    let body = json!({"kind": "supplier", "email": email, "password": PASSWORD, "business_name": "Golden Hour Studio", "vendor_type": "photographer"});
    let response = reqwest::Client::new().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// What the platform (WedSync) reports when a couple who typed `code` buys a plan.
pub struct Purchase<'a> {
    pub plan: &'a str,
    pub annual: bool,
    pub value_minor: i64,
}

/// The platform reports that platform user `user`, who typed `code`, bought `purchase`
/// (in pounds), with an API key of its own.
pub async fn platform_converts(server: &TestServer, user: &str, code: &str, purchase: Purchase<'_>) {
    let key = bouquet_server::service::accounts::create_api_key(&server.store, &format!("wedsync-{user}")).await.unwrap();
    let body = json!({"idempotency_key": format!("convert-{user}"), "type": "convert", "occurred_at": chrono::Utc::now(),
        "user": {"id": user, "kind": "couple"}, "code": code, "plan": purchase.plan, "annual": purchase.annual,
        "value": {"amount_minor": purchase.value_minor, "currency": "GBP"}});
    let response = reqwest::Client::new().post(format!("{}/api/v1/events", server.url)).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

pub struct Device {
    pub dir: tempfile::TempDir,
    pub store: LocalStore,
}

impl Device {
    pub async fn signed_in(server: &TestServer, email: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        sync::log_in(&store, &server.url, email, PASSWORD, "test device").await.unwrap();
        Device { dir, store }
    }

    pub async fn sync(&self) -> sync::SyncReport {
        sync::sync_once(&self.store).await.unwrap()
    }

    pub fn server(&self) -> ServerClient {
        sync::server_of(&self.store).unwrap()
    }

    pub fn token(&self) -> String {
        token::load(self.dir.path()).unwrap().unwrap()
    }

    pub fn contact(&self, names: &str) -> Uuid {
        self.store.create_contact(ContactInput { names: names.into(), ..Default::default() }).unwrap().contact.id
    }

    pub fn rename(&self, id: Uuid, names: &str) {
        let mut input = input_of(&self.store, id);
        input.names = names.into();
        self.store.update_contact(id, input).unwrap();
    }

    pub fn records(&self) -> BTreeMap<(Entity, Uuid), (Map<String, Value>, bool)> {
        self.store.synced_records().unwrap()
    }

    pub fn names(&self, id: Uuid) -> Option<String> {
        self.store.contact(id).unwrap().map(|c| c.names)
    }

    /// Raw `POST /api/v1/sync/push`.
    pub async fn raw_push(&self, server: &TestServer, body: &Value) -> reqwest::Response {
        reqwest::Client::new().post(format!("{}/api/v1/sync/push", server.url)).bearer_auth(self.token()).json(body).send().await.unwrap()
    }

    /// Every record on the server for this device's account, pulled `limit` at a time.
    pub async fn server_view(&self, limit: i64) -> BTreeMap<(Entity, Uuid), (Map<String, Value>, bool)> {
        let server = self.server();
        let mut all = BTreeMap::new();
        let mut after = 0;
        loop {
            let page: PullPage = server.pull(after, None, limit).await.unwrap();
            for r in page.records {
                all.insert((r.entity, r.id), (r.fields, r.deleted.is_some()));
            }
            after = page.next_after;
            if !page.more {
                return all;
            }
        }
    }
}

pub fn input_of(store: &LocalStore, id: Uuid) -> ContactInput {
    let c = store.contact(id).unwrap().expect("contact exists");
    ContactInput {
        kind: c.kind,
        names: c.names,
        business_name: c.business_name,
        vendor_type: c.vendor_type,
        email: c.email,
        phone: c.phone,
        wedding_date: c.wedding_date,
        location: c.location,
        budget: c.budget,
        style: c.style,
        notes: c.notes,
        tags: c.tags,
        marketing_consent: c.marketing_consent,
    }
}
