//! A couple's recommendation emails to friends (issue 15, docs/couples.md), read back from
//! a real SMTP server (aiosmtpd): in the couple's language, with a one-click unsubscribe
//! like every invitation; a friend who unsubscribed gets no more, though the couple's
//! referral for them is still made. On SQLite and PostgreSQL.

mod sync_support;

use std::time::Duration as StdDuration;

use bouquet_core::api::SessionView;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use serde_json::{Value, json};
use sync_support::relay::Relay;
use sync_support::{PASSWORD, supplier};

async fn session(server: &TestServer, email: &str) -> SessionView {
    let resp = reqwest::Client::new().post(format!("{}/api/v1/sessions", server.url)).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    resp.json().await.unwrap()
}

async fn recommend(server: &TestServer, token: &str, supplier: uuid::Uuid, friends: &[&str]) -> Value {
    let body = json!({"supplier_id": supplier, "message": "¡Nos encantaron!", "friends": friends});
    let resp = reqwest::Client::new().post(format!("{}/api/v1/recommendations/friends", server.url)).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn to(message: &Value) -> &str {
    message["rcpt_tos"][0].as_str().unwrap()
}

async fn a_friend_who_unsubscribes_gets_no_more_recommendations(db: &TestDb) {
    let relay = Relay::start();
    let server = relay.server(db, |_| {}).await;
    supplier(&server, "studio@example.com").await;
    let studio = session(&server, "studio@example.com").await.account.id;
    let body = json!({"kind": "couple", "email": "amy.ben@example.com", "password": PASSWORD, "couple_names": "Amy y Ben", "locale": "es"});
    assert_eq!(reqwest::Client::new().post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap().status(), 201);
    let couple = session(&server, "amy.ben@example.com").await;

    let sent = recommend(&server, &couple.token, studio, &["cara@example.com", "dan@example.com"]).await;
    assert_eq!(sent["emailed"], json!(true));
    let got = relay.wait_for(2).await;
    for message in &got {
        assert_eq!(message["headers"]["Subject"], json!("Amy y Ben te recomiendan a Golden Hour Studio"));
        let text = message["text"].as_str().unwrap();
        assert!(text.contains("“¡Nos encantaron!”") && text.contains("date de baja:"), "{text}");
        assert_eq!(message["headers"]["List-Unsubscribe-Post"], json!("List-Unsubscribe=One-Click"));
    }
    // Cara unsubscribes with one click, from her mail app.
    let cara = got.iter().find(|m| to(m) == "cara@example.com").unwrap();
    let url = cara["headers"]["List-Unsubscribe"].as_str().unwrap().trim_matches(['<', '>']).to_string();
    assert!(url.starts_with(&format!("{}/api/v1/unsubscribe/", server.url)), "{url}");
    let resp = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // Another recommendation to Cara and Eve: both referrals are made, only Eve is emailed.
    let again = recommend(&server, &couple.token, studio, &["cara@example.com", "eve@example.com"]).await;
    assert_eq!(again["referrals"].as_array().unwrap().len(), 2);
    let got = relay.wait_for(3).await;
    assert_eq!(to(&got[2]), "eve@example.com");
    tokio::time::sleep(StdDuration::from_millis(700)).await;
    assert_eq!(relay.received().len(), 3, "nothing more went to Cara");
    server.stop().await;
}

on_both_backends!(a_friend_who_unsubscribes_gets_no_more_recommendations);
