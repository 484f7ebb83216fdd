//! A couple's email mistyped at the booth and corrected afterwards: the fair lead follows
//! the contact, so the couple's sign-up with the right address is credited to the supplier
//! — whether the correction reaches the server before their sign-up or after it.

mod sync_support;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::fairs::FairInput;
use bouquet_client::store::leads::LeadInput;
use bouquet_core::ReferralMethod;
use bouquet_core::api::EventOutcome;
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use serde_json::json;
use sync_support::{Device, input_of, supplier};
use uuid::Uuid;

async fn sign_up(server: &TestServer, key: &str, user: &str, email: &str) -> EventOutcome {
    let body = json!({"idempotency_key": format!("signup-{user}"), "type": "signup", "occurred_at": chrono::Utc::now(),
        "user": {"id": user, "kind": "couple", "email": email}});
    let resp = reqwest::Client::new().post(format!("{}/api/v1/events", server.url)).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn capture(device: &Device, fair: Uuid, code: Uuid, names: &str, email: &str) -> Uuid {
    device.store.capture_lead(LeadInput { fair_id: fair, code_id: code, names: names.into(), email: email.into(), wedding_date: None, marketing_consent: false }).unwrap().contact.id
}

fn correct_email(device: &Device, contact: Uuid, email: &str) {
    let mut input = input_of(&device.store, contact);
    input.email = Some(email.into());
    device.store.update_contact(contact, input).unwrap();
}

async fn a_corrected_email_relinks_the_fair_lead(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let key = bouquet_server::service::accounts::create_api_key(&server.store, "wedsync").await.unwrap();
    let device = Device::signed_in(&server, "studio@example.com").await;
    let fair = device.store.create_fair(FairInput { name: "Bath Wedding Show".into(), date: Some(chrono::Utc::now().date_naive()), ..Default::default() }).unwrap();
    let code = device.store.create_code(CodeInput { method: ReferralMethod::Qr, fair_id: Some(fair.id), ..Default::default() }).unwrap();
    let priya = capture(&device, fair.id, code.id, "Priya & Sam", "priya@exmaple.com");
    let tom = capture(&device, fair.id, code.id, "Tom & Uma", "tom@exmaple.com");
    device.sync().await;

    // Corrected before the couple signs up: their sign-up finds the lead.
    correct_email(&device, priya, "priya@example.com");
    device.sync().await;
    let priya_signed_up = sign_up(&server, &key, "wedsync-priya", "priya@example.com").await;
    assert_eq!(priya_signed_up.touches_linked, 1, "the sign-up with the corrected email is tied to the fair lead");

    // Signed up before the correction reached the server: tied when it does.
    let tom_signed_up = sign_up(&server, &key, "wedsync-tom", "tom@example.com").await;
    assert_eq!(tom_signed_up.touches_linked, 0, "the mistyped lead cannot be found yet");
    correct_email(&device, tom, "tom@example.com");
    device.sync().await;
    let converted = reqwest::Client::new()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(&key)
        .json(&json!({"idempotency_key": "convert-tom", "type": "convert", "occurred_at": chrono::Utc::now(),
            "user": {"id": "wedsync-tom", "kind": "couple"}, "plan": "Professional", "value": {"amount_minor": 4900, "currency": "GBP"}}))
        .send()
        .await
        .unwrap();
    let converted: EventOutcome = converted.json().await.unwrap();
    let conversion = converted.conversion.expect("Tom's purchase is attributed through the corrected fair lead");
    assert_eq!(conversion.credits.len(), 1);
    assert_eq!(conversion.referrer_id, device.store.session().unwrap().unwrap().account_id);
    server.stop().await;
}

on_both_backends!(a_corrected_email_relinks_the_fair_lead);
