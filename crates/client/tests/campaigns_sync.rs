//! Campaigns reach the device through sync (docs/campaigns.md, docs/sync.md): a round
//! keeps the campaigns open to the account, so codes can be made under one offline; the
//! code carries the campaign to the server, whose referral then falls under it — unless
//! the campaign closed meanwhile, when the push still goes through and the code works
//! without it. A conversion's multiplied reward, naming the campaign, comes back with the
//! next round. Against a real server on each backend.

mod sync_support;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::invitations::InvitationInput;
use bouquet_core::template::DEFAULT_TEMPLATE;
use bouquet_client::{ClientError, ServerClient, sync};
use bouquet_core::api::{CampaignView, SessionView};
use bouquet_core::{Money, ReferralMethod, RewardRole};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sync_support::{Device, PASSWORD, Purchase, platform_converts, supplier};

/// A couple buys the starter plan, monthly, for £29.00.
const STARTER: Purchase = Purchase { plan: "starter", annual: false, value_minor: 2900 };
use uuid::Uuid;

async fn operator(server: &TestServer) -> String {
    bouquet_server::service::accounts::create_admin(&server.store, "ops@example.com", PASSWORD.into()).await.unwrap();
    let session: SessionView = ServerClient::new(&server.url).sign_in("ops@example.com", PASSWORD, "ops laptop").await.unwrap();
    session.token
}

async fn admin_call(server: &TestServer, token: &str, method: reqwest::Method, path: &str, body: Value) -> CampaignView {
    let request = reqwest::Client::new().request(method, format!("{}{path}", server.url)).bearer_auth(token);
    let request = if body.is_null() { request } else { request.json(&body) };
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// A targeted campaign for `trade`, running from an hour ago for 30 days: × 2 and a 5.00 bonus.
async fn campaign(server: &TestServer, token: &str, name: &str, trade: &str) -> CampaignView {
    let now = Utc::now();
    let body = json!({"name": name, "kind": "targeted", "vendor_type": trade,
        "starts_at": now - Duration::hours(1), "ends_at": now + Duration::days(30), "multiplier_bp": 20000,
        "bonus": {"amount_minor": 500, "currency": "CRD"}, "budget": {"amount_minor": 100000, "currency": "CRD"},
        "referee_incentive_text": "£15 off your album"});
    admin_call(server, token, reqwest::Method::POST, "/api/v1/admin/campaigns", body).await
}

async fn a_code_made_offline_under_a_campaign_earns_its_multiplier(db: &TestDb) {
    let server = TestServer::start(db).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    supplier(&server, "studio@example.com").await;
    let ops = operator(&server).await;
    let spring = campaign(&server, &ops, "Photographers' spring push", "photographer").await;
    let flash = campaign(&server, &ops, "Weekend flash", "photographer").await;
    campaign(&server, &ops, "Florists only", "florist").await;

    let device = Device::signed_in(&server, "studio@example.com").await;
    assert!(device.store.active_campaigns().unwrap().is_none(), "nothing before the first sync");
    let refused = device.store.create_code(CodeInput { campaign_id: Some(spring.id), ..Default::default() }).unwrap_err();
    assert_eq!(refused.code(), "invalid", "a campaign the device has not heard of: {refused}");
    device.sync().await;

    // The photographer's device lists the campaigns open to it, not the florists'.
    let listed = device.store.active_campaigns().unwrap().expect("campaigns fetched");
    let mut names: Vec<&str> = listed.value.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Photographers' spring push", "Weekend flash"]);
    let shown = listed.value.iter().find(|c| c.id == spring.id).unwrap();
    assert_eq!((shown.multiplier_bp, shown.bonus.clone()), (20000, Money::credits(500)));
    assert_eq!(shown.referee_incentive_text.as_deref(), Some("£15 off your album"));
    assert_eq!(shown.ends_at.timestamp_micros(), spring.ends_at.timestamp_micros(), "stored to the microsecond");

    // At a fair with no network: codes under each campaign, from the list of the last sync.
    server.stop().await;
    let boosted = device.store.create_code(CodeInput { method: ReferralMethod::Qr, campaign_id: Some(spring.id), ..Default::default() }).unwrap();
    let flashed = device.store.create_code(CodeInput { method: ReferralMethod::Qr, campaign_id: Some(flash.id), ..Default::default() }).unwrap();
    assert_eq!(boosted.campaign_id, Some(spring.id));
    // An invitation's code too.
    let invitation = InvitationInput {
        couple_names: "Cat & Dan".into(),
        email: "cat@example.com".into(),
        message_template: DEFAULT_TEMPLATE.into(),
        campaign_id: Some(spring.id),
        ..Default::default()
    };
    let invited = device.store.draft_invitation(invitation).unwrap();
    assert_eq!(device.store.code_by_text(&invited.code).unwrap().unwrap().campaign_id, Some(spring.id));
    let unknown = device.store.create_code(CodeInput { campaign_id: Some(Uuid::now_v7()), ..Default::default() }).unwrap_err();
    assert_eq!(unknown.code(), "invalid", "{unknown}");
    assert!(matches!(sync::sync_once(&device.store).await, Err(ClientError::Offline { .. })));
    assert_eq!(device.store.active_campaigns().unwrap().unwrap().value, listed.value, "still offered offline, as of the last sync");

    // Back online; meanwhile the operator paused the flash campaign.
    let server = TestServer::start_on(db, &addr, |_| {}).await;
    admin_call(&server, &ops, reqwest::Method::PATCH, &format!("/api/v1/admin/campaigns/{}", flash.id), json!({"action": "pause"})).await;
    let report = device.sync().await;
    assert!(report.pushed >= 4, "the codes and the invitation went through: {report:?}");
    let now_open: Vec<Uuid> = device.store.active_campaigns().unwrap().unwrap().value.iter().map(|c| c.id).collect();
    assert_eq!(now_open, [spring.id], "the paused campaign is no longer offered");
    // The spring code's referral is under its campaign; the flash code's under none.
    let counted = |id: Uuid| {
        let (server, ops) = (&server, &ops);
        async move { admin_call(server, ops, reqwest::Method::GET, &format!("/api/v1/admin/campaigns/{id}"), Value::Null).await.referrals }
    };
    assert_eq!((counted(spring.id).await, counted(flash.id).await), (2, 0), "the QR code and the invitation's under spring");

    // Another device of the account gets the code with its campaign.
    let laptop = Device::signed_in(&server, "studio@example.com").await;
    laptop.sync().await;
    assert_eq!(laptop.store.code_by_text(boosted.code.as_str()).unwrap().unwrap().campaign_id, Some(spring.id));
    assert_eq!(laptop.store.code_by_text(flashed.code.as_str()).unwrap().unwrap().campaign_id, Some(flash.id));

    // Couples buy through both codes; the next round brings the rewards.
    platform_converts(&server, "wedsync-ana", boosted.code.as_str(), STARTER).await;
    platform_converts(&server, "wedsync-bea", flashed.code.as_str(), STARTER).await;
    device.sync().await;
    let summary = device.store.rewards_summary().unwrap().unwrap().value;
    let referrer: Vec<_> = summary.recent.iter().filter(|r| r.role == RewardRole::Referrer).collect();
    // Starter 10.00 × 1.5 (an early success) = 15.00; under the campaign × 2 + 5.00 = 35.00.
    let campaign_reward = referrer.iter().find(|r| r.amount == Money::credits(3500)).expect("the campaign's reward");
    assert!(campaign_reward.reason.contains("Photographers' spring push"), "the reason names the campaign: {}", campaign_reward.reason);
    let standing = referrer.iter().find(|r| r.amount == Money::credits(1500)).expect("the standing reward");
    assert!(!standing.reason.contains("Weekend flash"), "{}", standing.reason);
    assert_eq!(referrer.len(), 2);
    server.stop().await;
}

on_both_backends!(a_code_made_offline_under_a_campaign_earns_its_multiplier);
