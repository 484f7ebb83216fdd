//! Rewards reach the device through sync (docs/rewards.md, docs/sync.md): after the
//! platform reports a conversion, one round keeps the balance, the tier, the newest
//! rewards, this month's leaderboard place and each code's rewards, shown offline "as of"
//! that round. Against a real server on each backend.

mod sync_support;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::{ServerClient, sync};
use bouquet_core::api::SessionView;
use bouquet_core::reward_status::RewardStatus;
use bouquet_core::sync::CodeReward;
use bouquet_core::{AccountKind, Money, ReferralMethod, RewardRole, Tier};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use sync_support::{Device, PASSWORD, Purchase, platform_converts, supplier};

async fn a_conversion_reaches_the_dashboard_through_sync(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    let code = device.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    assert!(device.store.rewards_summary().unwrap().is_none(), "nothing before the first sync");
    device.sync().await;

    // Before anything is earned: nothing pending, no tier yet, not ranked.
    let before = device.store.rewards_summary().unwrap().expect("rewards fetched").value;
    assert_eq!((before.balance.pending.amount_minor, before.balance.available.amount_minor), (0, 0));
    let tier = before.tier.expect("suppliers have tiers");
    assert_eq!((tier.tier, tier.next_tier.map(|t| t.tier), tier.referrals_to_next), (None, Some(Tier::Bronze), Some(1)));
    assert!(before.recent.is_empty());
    assert_eq!(before.leaderboard_position, None);

    // The code (made on the device, a referral once synced) brings a professional annual plan.
    platform_converts(&server, "wedsync-priya", code.code.as_str(), Purchase { plan: "professional", annual: true, value_minor: 4900 }).await;
    assert_eq!(device.store.rewards_summary().unwrap().unwrap().value.balance.pending.amount_minor, 0, "the device learns it by syncing");
    device.sync().await;

    let synced = device.store.rewards_summary().unwrap().unwrap();
    let summary = synced.value.clone();
    // 25.00 (professional) × 2 (annual) × 1.5 (before the third success) = 75.00 credits.
    assert_eq!((summary.balance.pending.clone(), summary.balance.available.amount_minor), (Money::credits(7500), 0));
    let tier = summary.tier.clone().unwrap();
    assert_eq!(tier.tier.map(|t| t.tier), Some(Tier::Bronze));
    assert_eq!((tier.next_tier.map(|t| t.tier), tier.referrals_to_next, tier.successful_referrals), (Some(Tier::Silver), Some(2), 1));
    let earned = summary.recent.iter().find(|r| r.role == RewardRole::Referrer).expect("the referrer's reward");
    assert_eq!((earned.amount.clone(), earned.status), (Money::credits(7500), RewardStatus::Pending));
    assert!(earned.reason.contains("75.00"), "the reason gives the numbers: {}", earned.reason);
    assert!(summary.recent.iter().any(|r| r.role == RewardRole::Tier && r.tier == Some(Tier::Bronze)), "the bronze perk");
    let place = summary.leaderboard_position.clone().expect("ranked this month");
    assert_eq!((place.rank, place.successful_referrals, place.is_you), (1, 1, true));
    assert_eq!(place.display_name, "Golden Hour Studio");

    // The code's live status lists what it earned.
    let statuses = device.store.code_statuses().unwrap().unwrap().value;
    let status = statuses.iter().find(|s| s.code == code.code.as_str()).expect("the code has a status");
    assert!(status.converted_at.is_some());
    assert_eq!(status.rewards, vec![CodeReward { amount: Money::credits(7500), status: RewardStatus::Pending }]);

    // Offline, the dashboard keeps showing it as of the last sync.
    server.stop().await;
    assert_eq!(sync::sync_once(&device.store).await.unwrap_err().code(), "offline");
    let offline = device.store.rewards_summary().unwrap().unwrap();
    assert_eq!((offline.value, offline.fetched_at), (summary, synced.fetched_at));
}

/// An admin has no tier (`/me/tier` answers 422 `no_tiers`): the rewards still load.
async fn an_account_without_tiers_still_gets_its_rewards(db: &TestDb) {
    let server = TestServer::start(db).await;
    bouquet_server::service::accounts::create_admin(&server.store, "ops@example.com", PASSWORD.into()).await.unwrap();
    let session: SessionView = ServerClient::new(&server.url).sign_in("ops@example.com", PASSWORD, "ops laptop").await.unwrap();
    let admin = ServerClient::new(&server.url).with_token(&session.token);
    let summary = sync::fetch_rewards(&admin, AccountKind::Supplier).await.unwrap();
    assert_eq!(summary.tier, None);
    assert_eq!((summary.balance.pending.amount_minor, summary.recent.len(), summary.leaderboard_position), (0, 0, None));
    server.stop().await;
}

on_both_backends!(a_conversion_reaches_the_dashboard_through_sync, an_account_without_tiers_still_gets_its_rewards);
