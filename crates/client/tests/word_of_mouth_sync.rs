//! Word of mouth reaches the supplier's app through sync (issue 15, docs/couples.md): a
//! supplier → supplier invitation drafted offline becomes a referral for a supplier on the
//! server, rewarded by the supplier rules when the invited supplier subscribes, and the
//! network (who joined through me, and through them) comes back; couples'
//! recommendations of the supplier come back with how far each got. Against a real
//! server on each backend.

mod sync_support;

use bouquet_client::store::contacts::{ContactInput, ContactKind};
use bouquet_client::store::invitations::InvitationInput;
use bouquet_core::api::SessionView;
use bouquet_core::recommend::RecommendationProgress;
use bouquet_core::{AccountKind, Money, RewardRole, VendorType};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use serde_json::{Value, json};
use sync_support::{Device, PASSWORD, supplier};

async fn platform_event(server: &TestServer, body: Value) {
    let key = bouquet_server::service::accounts::create_api_key(&server.store, &format!("wedsync-{}", body["idempotency_key"])).await.unwrap();
    let response = reqwest::Client::new().post(format!("{}/api/v1/events", server.url)).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A supplier signs up on the platform with `code`, then subscribes to `plan` (yearly).
async fn joins_and_subscribes(server: &TestServer, user: &str, email: &str, code: &str, plan: Option<&str>) {
    platform_event(server, json!({"idempotency_key": format!("signup-{user}"), "type": "signup", "occurred_at": chrono::Utc::now(),
        "user": {"id": user, "kind": "supplier", "email": email}, "code": code})).await;
    if let Some(plan) = plan {
        platform_event(server, json!({"idempotency_key": format!("convert-{user}"), "type": "convert", "occurred_at": chrono::Utc::now(),
            "user": {"id": user, "kind": "supplier"}, "plan": plan, "annual": true, "value": {"amount_minor": 49_000, "currency": "GBP"}})).await;
    }
}

async fn account(server: &TestServer, body: Value) -> SessionView {
    let http = reqwest::Client::new();
    let response = http.post(format!("{}/api/v1/accounts", server.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let login = json!({"email": body["email"], "password": PASSWORD});
    http.post(format!("{}/api/v1/sessions", server.url)).json(&login).send().await.unwrap().json().await.unwrap()
}

async fn a_supplier_invites_a_fellow_supplier_offline_and_is_rewarded_when_they_subscribe(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    // At the fair, no network: a fellow supplier in the contacts, and an invitation to them.
    let florist = device
        .store
        .create_contact(ContactInput {
            kind: ContactKind::Supplier,
            names: "Priya Shah".into(),
            business_name: Some("Petal & Stem".into()),
            vendor_type: Some(VendorType::Florist),
            email: Some("priya@petalandstem.example".into()),
            ..Default::default()
        })
        .unwrap()
        .contact;
    let invitation = device
        .store
        .draft_invitation(InvitationInput {
            contact_id: Some(florist.id),
            couple_names: "Priya Shah".into(),
            email: "priya@petalandstem.example".into(),
            message_template: "Priya, join me on Bouquet: {link}".into(),
            ..Default::default()
        })
        .unwrap();
    // A couple's invitation, for comparison: its code stays a couple's.
    let couple_contact = device.store.create_contact(ContactInput { names: "Anna & Ben".into(), email: Some("anna@example.com".into()), ..Default::default() }).unwrap().contact;
    let couple_invitation = device
        .store
        .draft_invitation(InvitationInput {
            contact_id: Some(couple_contact.id),
            couple_names: "Anna & Ben".into(),
            email: "anna@example.com".into(),
            message_template: "Hello {couple_names}: {link}".into(),
            ..Default::default()
        })
        .unwrap();
    device.sync().await;

    // On the server the invitation's code is a referral for a supplier; the couple's is not.
    let referee = |code: String| {
        let store = server.store.clone();
        async move { store.referral_by_code(&code).await.unwrap().expect("synced").view.referee_type }
    };
    assert_eq!(referee(invitation.code.clone()).await, AccountKind::Supplier);
    assert_eq!(referee(couple_invitation.code.clone()).await, AccountKind::Couple);

    // Priya joins the platform through it and subscribes (professional, yearly); she also
    // uses Bouquet, and a baker joins through her own invitation.
    joins_and_subscribes(&server, "priya", "Priya@PetalAndStem.example", &invitation.code, Some("professional")).await;
    let priya = account(&server, json!({"kind": "supplier", "email": "priya@petalandstem.example", "password": PASSWORD,
        "business_name": "Petal & Stem", "vendor_type": "florist"})).await;
    let body = json!({"referee_type": "supplier", "method": "email"});
    let response = reqwest::Client::new().post(format!("{}/api/v1/referrals", server.url)).bearer_auth(&priya.token).json(&body).send().await.unwrap();
    let priyas: Value = response.json().await.unwrap();
    joins_and_subscribes(&server, "crumb", "hello@crumb.example", priyas["code"].as_str().unwrap(), None).await;
    device.sync().await;

    // Rewarded by the supplier rules: 25.00 (professional) × 2 (yearly) × 1.5 (a new
    // referrer) = 75.00 credits, pending.
    let rewards = device.store.rewards_summary().unwrap().unwrap().value;
    let earned = rewards.recent.iter().find(|r| r.role == RewardRole::Referrer).expect("a referrer's reward");
    assert_eq!(earned.amount, Money::credits(7500));
    // The network: Priya joined through me and subscribed; the baker joined through her.
    let network = device.store.network().unwrap().expect("fetched with the sync").value;
    assert_eq!(network.members.len(), 1, "{network:?}");
    let member = &network.members[0];
    let priya_joined = &member.supplier;
    assert_eq!((priya_joined.code.as_str(), priya_joined.business_name.as_deref(), priya_joined.plan.as_deref()), (invitation.code.as_str(), Some("Petal & Stem"), Some("professional")));
    assert!(priya_joined.subscribed_at.is_some());
    assert_eq!(member.joined_through_them.len(), 1);
    assert!(member.joined_through_them[0].subscribed_at.is_none(), "the baker has not paid yet");
    assert_eq!(network.size(), 2);
    // Priya's own network has the baker only; a couple has none.
    let response = reqwest::Client::new().get(format!("{}/api/v1/me/network", server.url)).bearer_auth(&priya.token).send().await.unwrap();
    let hers: bouquet_core::network::Network = response.json().await.unwrap();
    assert_eq!((hers.members.len(), hers.size()), (1, 1));
    server.stop().await;
}

async fn couples_recommendations_of_the_supplier_reach_the_app_with_their_progress(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    device.sync().await;
    assert!(device.store.recommended_by().unwrap().unwrap().value.items.is_empty());
    let studio_id = device.store.session().unwrap().unwrap().account_id;
    let couple = account(&server, json!({"kind": "couple", "email": "amy.ben@example.com", "password": PASSWORD, "couple_names": "Amy & Ben"})).await;
    let body = json!({"supplier_id": studio_id, "message": "Our photos are stunning", "friends": ["cara@example.com", "dan@example.com"]});
    let response = reqwest::Client::new().post(format!("{}/api/v1/recommendations/friends", server.url)).bearer_auth(&couple.token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let sent: bouquet_core::recommend::RecommendedToFriends = response.json().await.unwrap();
    // Cara signs up through hers.
    platform_event(&server, json!({"idempotency_key": "signup-cara", "type": "signup", "occurred_at": chrono::Utc::now(),
        "user": {"id": "cara", "kind": "couple", "email": "cara@example.com"}, "code": sent.referrals[0].code.as_str()})).await;
    device.sync().await;
    let list = device.store.recommended_by().unwrap().unwrap().value;
    assert_eq!(list.items.len(), 2);
    assert!(list.items.iter().all(|i| i.couple_names == "Amy & Ben" && i.message.as_deref() == Some("Our photos are stunning")));
    let progress = |code: &str| list.items.iter().find(|i| i.code == code).unwrap().progress;
    assert_eq!(progress(sent.referrals[0].code.as_str()), RecommendationProgress::SignedUp);
    assert_eq!(progress(sent.referrals[1].code.as_str()), RecommendationProgress::Sent);
    server.stop().await;
}

on_both_backends!(
    a_supplier_invites_a_fellow_supplier_offline_and_is_rewarded_when_they_subscribe,
    couples_recommendations_of_the_supplier_reach_the_app_with_their_progress
);
