//! The account's own growth analytics reach the device through sync (docs/metrics.md,
//! docs/sync.md): each round keeps the last 12 weeks by week — the funnel with its
//! bottleneck, the loop, the revenue — and the dashboard shows them offline "as of" that
//! round. Against a real server on each backend.

mod sync_support;

use bouquet_client::store::codes::CodeInput;
use bouquet_client::store::fairs::FairInput;
use bouquet_client::store::leads::LeadInput;
use bouquet_client::sync;
use bouquet_core::ReferralMethod;
use bouquet_core::metrics::{FunnelStep, LoopDirection, Period};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use sync_support::{Device, Purchase, platform_converts, supplier};

/// A couple buys the professional plan, monthly, for £49.00.
const PROFESSIONAL_MONTHLY: Purchase = Purchase { plan: "professional", annual: false, value_minor: 4900 };

fn step(report: &bouquet_core::analytics::AnalyticsReport, step: FunnelStep) -> i64 {
    report.funnel.steps.iter().find(|s| s.step == step).map(|s| s.count).expect("every step is reported")
}

async fn a_conversion_shows_in_the_saved_analytics_and_stays_offline(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    let code = device.store.create_code(CodeInput { method: ReferralMethod::Link, ..Default::default() }).unwrap();
    assert!(device.store.analytics().unwrap().is_none(), "nothing before the first sync");
    device.sync().await;

    // One referral made (the code, once synced), nothing came of it yet.
    let before = device.store.analytics().unwrap().expect("analytics fetched").value;
    assert_eq!(before.period, Period::Week);
    assert!((12..=13).contains(&before.series.len()), "12 weeks back by week, empty weeks as zeros: {}", before.series.len());
    assert_eq!((before.total.referrals_made, before.total.conversions), (1, 0));
    assert_eq!((step(&before, FunnelStep::Invited), step(&before, FunnelStep::Converted)), (1, 0));
    assert_eq!(before.funnel.referral_conversion_rate, Some(0.0));
    assert_eq!(before.money.referral_revenue_minor, 0);
    let empty = before.series.iter().filter(|w| w.figures.referrals_made == 0).collect::<Vec<_>>();
    assert_eq!(empty.len(), before.series.len() - 1, "only this week has a referral");
    assert!(empty.iter().all(|w| w.figures.conversion_rate.is_none()), "no referrals: the rate is absent, not 0");
    assert!(!before.exclusions.is_empty());

    // A round in which nothing moved does not ask for the report again (it is the most
    // expensive read of a round); the one saved stays, as of when it was fetched.
    let fetched = device.store.analytics().unwrap().unwrap().fetched_at;
    device.sync().await;
    assert_eq!(device.store.analytics().unwrap().unwrap().fetched_at, fetched);

    // The couple who typed the code pays; the device learns it by syncing.
    platform_converts(&server, "wedsync-priya", code.code.as_str(), PROFESSIONAL_MONTHLY).await;
    assert_eq!(device.store.analytics().unwrap().unwrap().value.total.conversions, 0, "not before a sync");
    device.sync().await;

    let synced = device.store.analytics().unwrap().unwrap();
    let after = synced.value.clone();
    assert_eq!((after.total.referrals_made, after.total.conversions), (1, 1));
    assert_eq!(step(&after, FunnelStep::Converted), 1, "the converted step counts the couple");
    assert_eq!(after.funnel.referral_conversion_rate, Some(1.0));
    assert_eq!((after.money.referral_revenue_minor, after.money.currency.as_str()), (4900, "GBP"));
    let this_week = after.series.last().expect("the current week is the last bucket");
    assert_eq!((this_week.figures.referrals_made, this_week.figures.conversions), (1, 1));
    assert_eq!(after.series.iter().map(|w| w.figures.conversions).sum::<i64>(), 1);
    let to_couples = after.viral_loop.directions.iter().find(|d| d.direction == LoopDirection::SupplierToCouple).unwrap();
    assert_eq!((to_couples.active_referrers, to_couples.invitations, to_couples.conversions), (1, 1, 1));
    assert_eq!(to_couples.k, Some(1.0), "one couple won per active referrer");

    // Offline, the dashboard keeps showing it as of the last sync.
    server.stop().await;
    assert_eq!(sync::sync_once(&device.store).await.unwrap_err().code(), "offline");
    let offline = device.store.analytics().unwrap().unwrap();
    assert_eq!((offline.value, offline.fetched_at), (after, synced.fetched_at));
}

/// A couple met at the booth is a visit (they never click a link), and a purchase the
/// platform reports without a sign-up or activation before it still counts at every step
/// up to it: the funnel never grows downwards.
async fn a_fair_lead_is_a_visit_and_a_purchase_counts_at_every_step_before_it(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    let fair = device.store.create_fair(FairInput { name: "Bath Wedding Show".into(), date: Some(chrono::Utc::now().date_naive()), ..Default::default() }).unwrap();
    let code = device.store.create_code(CodeInput { method: ReferralMethod::Qr, fair_id: Some(fair.id), ..Default::default() }).unwrap();
    device.store.capture_lead(LeadInput {
        fair_id: fair.id, code_id: code.id, names: "Priya & Sam".into(), email: "priya@mail.example".into(), wedding_date: None, marketing_consent: false,
    }).unwrap();
    device.sync().await;
    let met = device.store.analytics().unwrap().unwrap().value;
    assert_eq!((step(&met, FunnelStep::Invited), step(&met, FunnelStep::Visited), step(&met, FunnelStep::SignedUp)), (1, 1, 0), "the lead is the code's one visit");
    assert_eq!(met.total.unique_visits, 1);

    // The platform reports only the couple's purchase, through the code.
    platform_converts(&server, "wedsync-priya", code.code.as_str(), PROFESSIONAL_MONTHLY).await;
    device.sync().await;
    let bought = device.store.analytics().unwrap().unwrap().value;
    let steps = [FunnelStep::Visited, FunnelStep::SignedUp, FunnelStep::Activated, FunnelStep::Converted].map(|s| step(&bought, s));
    assert_eq!(steps[1..], [1, 1, 1], "signed up, activated and converted: one couple at every step");
    assert!(steps[0] >= 1);
    assert_eq!(bought.total.sign_ups, 1);
    // From sign-up on, each step is people among the step before (visits may outnumber
    // referrals made: one QR code, many couples).
    let rates: Vec<_> = bought.funnel.steps.iter().skip(2).map(|s| s.rate).collect();
    assert_eq!(rates, [Some(0.5), Some(1.0), Some(1.0), None], "the lead and the typed code are two visits; no step exceeds the one before it");
}

on_both_backends!(a_conversion_shows_in_the_saved_analytics_and_stays_offline, a_fair_lead_is_a_visit_and_a_purchase_counts_at_every_step_before_it);
