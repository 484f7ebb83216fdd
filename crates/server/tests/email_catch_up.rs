//! Invitations a supplier queued before the server sent email (before migration 13) have
//! a synced record and no delivery: the server queues them when it starts, as a push
//! would have, and leaves drafts alone (docs/email.md). On SQLite and PostgreSQL.

mod common;

use std::collections::BTreeMap;

use bouquet_core::code::ReferralCode;
use bouquet_core::sync::{Entity, SCHEMA_VERSION};
use bouquet_core::{AccountKind, Hlc};
use bouquet_server::on_both_backends;
use bouquet_server::service::sync::queue_missed_invitations;
use chrono::Utc;
use common::people::account;
use common::{TestDb, TestServer, api, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Deletes every delivery, as a database from before migration 13 has none.
async fn forget_deliveries(db: &TestDb) {
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query("DELETE FROM invitation_emails").execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query("DELETE FROM invitation_emails").execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn deliveries(server: &TestServer, token: &str) -> Vec<Value> {
    let resp = api().get(format!("{}/api/v1/sync/invitations", server.url)).bearer_auth(token).send().await.unwrap();
    json_of(resp, StatusCode::OK).await["invitations"].as_array().unwrap().clone()
}

async fn invitations_queued_before_email_existed_are_sent_after_the_upgrade(db: &TestDb) {
    let server = TestServer::start(db).await;
    let studio = account(&server, "supplier", "studio@example.com", "Golden Hour Studio").await;
    // The app pushes a code and two invitations with it: one queued, one a draft.
    let code_id = Uuid::now_v7();
    let code = ReferralCode::generate(AccountKind::Supplier, &studio.code_namespace, 1).to_string();
    let (queued, draft) = (Uuid::now_v7(), Uuid::now_v7());
    let now = Utc::now().to_rfc3339();
    let change = |seq: u32, entity: Entity, id: Uuid, fields: Value| {
        let fields = fields.as_object().unwrap().clone();
        let clock = Hlc { wall_ms: Utc::now().timestamp_millis(), counter: seq, node: "laptop".into() };
        let clocks: BTreeMap<String, Hlc> = fields.keys().map(|k| (k.clone(), clock.clone())).collect();
        json!({"seq": seq, "entity": entity, "id": id, "fields": fields, "clocks": clocks})
    };
    let invitation = |status: &str, names: &str, email: &str| {
        json!({"code_id": code_id.to_string(), "couple_names": names, "email": email, "personal_message": "Dear friends, …",
               "wedding_date": "2027-06-12", "status": status, "send_after": now, "created_at": now})
    };
    let changes = vec![
        change(1, Entity::Code, code_id, json!({"code": code, "method": "link", "link": format!("{}/r/{code}", server.url), "created_at": now})),
        change(2, Entity::Invitation, queued, invitation("queued", "Amy & Ben", "amy.ben@example.com")),
        change(3, Entity::Invitation, draft, invitation("draft", "Cat & Dan", "cat.dan@example.com")),
    ];
    let resp = api()
        .post(format!("{}/api/v1/sync/push", server.url))
        .bearer_auth(&studio.token)
        .json(&json!({"schema_version": SCHEMA_VERSION, "changes": changes}))
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await;
    assert_eq!(deliveries(&server, &studio.token).await.len(), 1, "the queued one is the server's to send");

    // The database as it was before email delivery: synced records, no deliveries.
    forget_deliveries(db).await;
    assert!(deliveries(&server, &studio.token).await.is_empty());

    // The upgraded server starts: the queued invitation is queued again, the draft is not.
    assert_eq!(queue_missed_invitations(&server.store, Utc::now()).await.unwrap(), 1);
    let after = deliveries(&server, &studio.token).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!((after[0]["id"].as_str(), after[0]["status"].as_str()), (Some(queued.to_string().as_str()), Some("queued")));
    // Caught up: the next start finds nothing.
    assert_eq!(queue_missed_invitations(&server.store, Utc::now()).await.unwrap(), 0);
    server.stop().await;
}

on_both_backends!(invitations_queued_before_email_existed_are_sent_after_the_upgrade);
