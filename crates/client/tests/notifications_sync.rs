//! Notifications (docs/notifications.md): what happens to a supplier's referrals reaches
//! the app through sync and their inbox through a real SMTP server (aiosmtpd, read back
//! with Python's email parser), each kind's email as they chose in Settings — a choice
//! made offline goes with the next sync. A campaign's start is told to the accounts it
//! admits, once. On SQLite and PostgreSQL.

mod sync_support;

use std::time::Duration as StdDuration;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::{ServerClient, sync};
use bouquet_core::ReferralMethod;
use bouquet_core::api::SessionView;
use bouquet_core::notifications::{NotificationKind, NotificationView};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sync_support::relay::Relay;
use sync_support::{Device, PASSWORD, Purchase, platform_converts, supplier};

fn subject(message: &Value) -> &str {
    message["headers"]["Subject"].as_str().unwrap()
}

fn kinds(list: &[NotificationView]) -> Vec<NotificationKind> {
    list.iter().map(|n| n.kind).collect()
}

async fn a_supplier_hears_in_the_app_and_by_email_as_they_chose(db: &TestDb) {
    let relay = Relay::start();
    let server = relay.server(db, |_| {}).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    let code = device.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    device.sync().await;

    // Settings: every kind is emailed until the supplier says otherwise. They turn tier
    // emails off while offline; the choice waits for the next sync.
    let choices = device.store.notification_choices().unwrap();
    assert_eq!(choices.len(), NotificationKind::ALL.len());
    assert!(choices.iter().all(|c| c.email && !c.pending), "{choices:?}");
    let changed = device.store.set_notification_choice("tier_reached", false).unwrap();
    let tier = changed.iter().find(|c| c.kind == NotificationKind::TierReached).unwrap();
    assert!(!tier.email && tier.pending);
    assert_eq!(device.store.set_notification_choice("weekly_digest", false).unwrap_err().code(), "invalid");
    device.sync().await;
    let settled = device.store.notification_choices().unwrap();
    assert!(settled.iter().all(|c| !c.pending && c.email == (c.kind != NotificationKind::TierReached)), "{settled:?}");

    // Two devices disagree: this one turns claim emails off (offline, not yet synced), the
    // laptop turns them back on later and syncs first. The later choice stands on both.
    device.store.set_notification_choice("reward_eligible", false).unwrap();
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let laptop = Device::signed_in(&server, "studio@example.com").await;
    laptop.store.set_notification_choice("reward_eligible", true).unwrap();
    laptop.sync().await;
    device.sync().await;
    for store in [&device.store, &laptop.store] {
        laptop.sync().await;
        let eligible = store.notification_choices().unwrap().into_iter().find(|c| c.kind == NotificationKind::RewardEligible).unwrap();
        assert!(eligible.email && !eligible.pending, "{eligible:?}");
    }

    // A couple who came through the code buys an annual professional plan: 75 credits and
    // the bronze tier.
    platform_converts(&server, "wedsync-priya", code.code.as_str(), Purchase { plan: "professional", annual: true, value_minor: 4900 }).await;
    device.sync().await;
    let list = device.store.notifications().unwrap();
    let items: Vec<NotificationView> = list.items.iter().map(|i| i.notification.clone()).collect();
    let mut told = kinds(&items);
    told.sort();
    assert_eq!(told, vec![NotificationKind::RewardEarned, NotificationKind::TierReached]);
    assert!(items.iter().any(|n| n.kind == NotificationKind::RewardEarned && n.title == "You earned 75 credits"), "{items:?}");
    assert!(items.iter().any(|n| n.kind == NotificationKind::TierReached && n.title == "You reached the Bronze tier"), "{items:?}");
    assert_eq!((list.items.len(), list.unread), (2, 2));

    // Fourteen days on the reward can be claimed: that is emailed too. The tier email,
    // turned off, never went (the sender works oldest first, so it was decided before).
    bouquet_server::service::rewards::process_due(&server.store, Utc::now() + Duration::days(15), 100).await.unwrap();
    let got = relay.wait_for(2).await;
    let subjects: Vec<&str> = got.iter().map(subject).collect();
    assert_eq!(subjects, vec!["You earned 75 credits", "75 credits ready to claim"]);
    for message in &got {
        assert_eq!(message["rcpt_tos"], json!(["studio@example.com"]));
        assert_eq!(message["defects"], json!([]), "valid MIME");
        assert!(message["headers"]["Message-ID"].as_str().unwrap().starts_with("<notification-"), "{}", message["headers"]);
        let text = message["text"].as_str().unwrap();
        assert!(text.starts_with("Hello Golden Hour Studio,"), "{text}");
        assert!(text.contains("Settings → Notifications"), "says where to turn it off: {text}");
        assert!(message["html"].as_str().unwrap().contains(subject(message)));
    }
    assert!(got[0]["text"].as_str().unwrap().contains("can be claimed from"), "{}", got[0]["text"]);
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(relay.received().len(), 2, "nothing more");

    // The app: three now, the newest first, all unread until the supplier looks.
    device.sync().await;
    let list = device.store.notifications().unwrap();
    assert_eq!((list.items.len(), list.unread), (3, 3));
    assert_eq!(list.items[0].notification.kind, NotificationKind::RewardEligible);
    device.store.mark_notifications_read(list.items[0].notification.created_at).unwrap();
    let read = device.store.notifications().unwrap();
    assert_eq!(read.unread, 0);
    assert!(read.items.iter().all(|i| !i.unread));

    // Offline, the list stays as of the last sync.
    server.stop().await;
    assert_eq!(sync::sync_once(&device.store).await.unwrap_err().code(), "offline");
    assert_eq!(device.store.notifications().unwrap().items.len(), 3);
    assert_eq!(device.store.set_notification_choice("campaign_started", false).unwrap().iter().filter(|c| c.pending).count(), 1);
}

async fn operator(server: &TestServer) -> String {
    bouquet_server::service::accounts::create_admin(&server.store, "ops@example.com", PASSWORD.into()).await.unwrap();
    let session: SessionView = ServerClient::new(&server.url).sign_in("ops@example.com", PASSWORD, "ops laptop").await.unwrap();
    session.token
}

async fn a_campaign_start_is_told_once_to_the_accounts_it_admits(db: &TestDb) {
    let relay = Relay::start();
    let server = relay.server(db, |_| {}).await;
    supplier(&server, "studio@example.com").await; // a photographer
    let florist = json!({"kind": "supplier", "email": "flo@example.com", "password": PASSWORD, "business_name": "Petal & Stem", "vendor_type": "florist"});
    let resp = reqwest::Client::new().post(format!("{}/api/v1/accounts", server.url)).json(&florist).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let studio = Device::signed_in(&server, "studio@example.com").await;
    let flo = Device::signed_in(&server, "flo@example.com").await;
    let ops = operator(&server).await;

    let now = Utc::now();
    let body = json!({"name": "Photographers' Spring", "kind": "targeted", "vendor_type": "photographer",
        "starts_at": now - Duration::minutes(1), "ends_at": now + Duration::days(30), "multiplier_bp": 15000,
        "bonus": {"amount_minor": 500, "currency": "CRD"}, "budget": {"amount_minor": 100000, "currency": "CRD"}});
    let resp = reqwest::Client::new().post(format!("{}/api/v1/admin/campaigns", server.url)).bearer_auth(&ops).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());

    studio.sync().await;
    flo.sync().await;
    let told = studio.store.notifications().unwrap();
    assert_eq!(told.items.len(), 1, "{told:?}");
    let n = &told.items[0].notification;
    assert_eq!((n.kind, n.title.as_str()), (NotificationKind::CampaignStarted, "Photographers' Spring has started"));
    assert!(n.body.contains("rewards × 1.5 and a bonus of 5 credits per conversion"), "{}", n.body);
    assert!(flo.store.notifications().unwrap().items.is_empty(), "a florist is not in a photographers' campaign");
    let got = relay.wait_for(1).await;
    assert_eq!((got[0]["rcpt_tos"].clone(), subject(&got[0])), (json!(["studio@example.com"]), "Photographers' Spring has started"));

    // Told once: the scheduler's later rounds (on any process) find nothing to announce.
    assert_eq!(bouquet_server::service::campaigns::announce_started(&server.store, Utc::now()).await.unwrap(), 0);
    studio.sync().await;
    assert_eq!(studio.store.notifications().unwrap().items.len(), 1);
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(relay.received().len(), 1);
    server.stop().await;
}

on_both_backends!(a_supplier_hears_in_the_app_and_by_email_as_they_chose, a_campaign_start_is_told_once_to_the_accounts_it_admits);
