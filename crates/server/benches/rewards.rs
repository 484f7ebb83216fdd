//! What rewards cost, on a SQLite file, each against a baseline measured in the same run:
//! - one conversion's storage with its rewards (referrer reward, tier check, referee
//!   incentive, ledger postings) against the same conversion's storage alone (the
//!   attribution's writes), each in its own transaction;
//! - the all-time leaderboard (top 100) and one account's position, over N referrers
//!   (`BOUQUET_BENCH_REFERRERS`, default 100,000; 1,000 when run once as a test), against
//!   one round trip to the database.
//!
//! Run: `cargo bench -p bouquet-server --bench rewards`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bouquet_core::attribution::Credit;
use bouquet_core::rewards::RewardRules;
use bouquet_core::{AccountKind, AttributionModel, Channel, CodeNamespace, Money, ReferralCode};
use bouquet_server::service::rewards::reward_conversion;
use bouquet_server::store::{NewAccount, NewConversion, NewReferral, NewVisit, Store};
use chrono::Utc;
use criterion::{Criterion, criterion_group};
use uuid::Uuid;

struct Fixture {
    store: Arc<dyn Store>,
    referrer: Uuid,
    referral: Uuid,
    middle: Uuid,
    _dir: tempfile::TempDir,
}

fn account(id: Uuid, n: u64) -> NewAccount {
    NewAccount {
        id,
        kind: AccountKind::Supplier,
        email: format!("supplier{n}@example.com"),
        password_hash: "not a real hash".into(),
        business_name: Some(format!("Supplier {n}")),
        vendor_type: Some("florist".into()),
        couple_names: None,
        wedding_date: None,
        location: None,
        locale: None,
        created_at: Utc::now(),
    }
}

async fn fixture(referrers: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = bouquet_server::store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    // N referrers with standings of a realistic shape: most have a few successes, a few many.
    let mut ids = Vec::with_capacity(referrers as usize);
    for n in 0..referrers {
        let id = Uuid::now_v7();
        store.create_account(account(id, n)).await.unwrap();
        ids.push(id);
    }
    let mut tx = store.begin_rewards().await.unwrap();
    for (n, &id) in ids.iter().enumerate() {
        let n = n as u64;
        let successes = ((n * 7919) % 97) as i64 / 8 + i64::from(n % 1000 == 0) * 40;
        if successes > 0 {
            tx.add_to_standing(id, AccountKind::Supplier, successes, successes * 2900, Utc::now()).await.unwrap();
        }
        if n % 1000 == 999 {
            tx.commit().await.unwrap();
            tx = store.begin_rewards().await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    let middle = ids[ids.len() / 2];
    let referrer = Uuid::now_v7();
    store.create_account(account(referrer, referrers + 1)).await.unwrap();
    let ns = store.server_namespace(referrer).await.unwrap();
    let referral = Uuid::now_v7();
    store.create_referral(new_referral(referral, referrer, &ns)).await.unwrap();
    Fixture { store, referrer, referral, middle, _dir: dir }
}

fn new_referral(id: Uuid, referrer: Uuid, ns: &CodeNamespace) -> NewReferral {
    NewReferral {
        seasonal_campaigns: Vec::new(),
        id,
        code: ReferralCode::generate(AccountKind::Supplier, ns, 0).to_string(),
        referrer_id: referrer,
        referrer_type: AccountKind::Supplier,
        referee_type: AccountKind::Couple,
        method: "qr".into(),
        campaign_id: None,
        source_url: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        vendor_type: None,
        wedding_date: None,
        location: None,
        message: None,
        incentive_offered: Some("£10 off".into()),
        incentive_amount: Some(Money { amount_minor: 1000, currency: "GBP".into() }),
        created_at: Utc::now(),
        expires_at: None,
    }
}

/// One conversion's storage, with or without its rewards; the touch it credits is made
/// first, untimed.
async fn convert(f: &Fixture, n: u64, with_rewards: bool) -> Duration {
    let touch = Uuid::now_v7();
    let now = Utc::now();
    f.store
        .record_visit(
            NewVisit {
                touch_id: touch,
                referral_id: f.referral,
                referrer_id: f.referrer,
                channel: Channel::Link,
                occurred_at: now,
                visitor_key: format!("visitor-{n}-{with_rewards}"),
                ip_hash: None,
                user_agent: None,
                referer: None,
                utm_source: None,
                utm_medium: None,
                utm_campaign: None,
            },
            chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let user = format!("user-{n}-{with_rewards}");
    let started = Instant::now();
    let mut tx = f.store.begin_event().await.unwrap();
    let event_id = Uuid::now_v7();
    tx.claim(event_id, &format!("key-{user}"), "convert", now, &user, "{}").await.unwrap();
    let conversion = NewConversion {
        id: Uuid::now_v7(),
        event_id,
        platform_user_id: user,
        model: AttributionModel::LastTouch,
        converted_at: now,
        time_to_convert_seconds: 60,
        plan: Some("professional".into()),
        value: Some(Money { amount_minor: 4900, currency: "GBP".into() }),
        annual: false,
        mrr: None,
        credits: vec![Credit {
            touch_id: touch,
            referral_id: f.referral,
            referrer_id: f.referrer,
            channel: Channel::Link,
            touched_at: now,
            weight_ppm: 1_000_000,
            value_minor: 4900,
        }],
        primary: 0,
    };
    assert!(tx.record_conversion(&conversion).await.unwrap());
    if with_rewards {
        assert!(!reward_conversion(tx.rewards(), &RewardRules::default(), &conversion, false, &Default::default(), now).await.unwrap().is_empty());
    }
    tx.finish(event_id, "{}").await.unwrap();
    started.elapsed()
}

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let referrers = std::env::var("BOUQUET_BENCH_REFERRERS").ok().and_then(|v| v.parse().ok()).unwrap_or(if full { 100_000 } else { 1_000 });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let seeding = Instant::now();
    let f = Arc::new(rt.block_on(fixture(referrers)));
    eprintln!("seeded {referrers} referrers in {:.1} s", seeding.elapsed().as_secs_f64());

    let mut group = c.benchmark_group("rewards");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("baseline_round_trip", |b| b.to_async(&rt).iter(|| async { f.store.ping().await.unwrap() }));
    let users = Arc::new(AtomicU64::new(0));
    for (name, with_rewards) in [("conversion_attribution_only", false), ("conversion_with_rewards", true)] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (f, users) = (f.clone(), users.clone());
                async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        spent += convert(&f, users.fetch_add(1, Ordering::Relaxed), with_rewards).await;
                    }
                    spent
                }
            })
        });
    }
    group.bench_function("leaderboard_all_time_top_100", |b| {
        b.to_async(&rt).iter(|| async { assert_eq!(f.store.leaderboard(AccountKind::Supplier, None, 100).await.unwrap().len(), 100) })
    });
    group.bench_function("leaderboard_position_all_time", |b| {
        b.to_async(&rt).iter(|| async { f.store.leaderboard_position(f.middle, AccountKind::Supplier, None).await.unwrap() })
    });
    group.finish();
    report_ratios(referrers);
}

/// Reads criterion's estimates back and prints each path as a multiple of the baseline.
fn report_ratios(referrers: u64) {
    let mean = |name: &str| bouquet_server::testing::criterion_mean("rewards", name);
    let (Some(base), Some(attribution)) = (mean("baseline_round_trip"), mean("conversion_attribution_only")) else { return };
    println!("\nratios measured in this run ({referrers} referrers):");
    if let Some(with) = mean("conversion_with_rewards") {
        println!("  conversion with rewards: {:.1} µs = {:.2}× the same conversion without ({:.1} µs)", with / 1e3, with / attribution, attribution / 1e3);
    }
    for name in ["leaderboard_all_time_top_100", "leaderboard_position_all_time"] {
        if let Some(m) = mean(name) {
            println!("  {name}: {:.1} µs = {:.2}× one database round trip ({:.1} µs)", m / 1e3, m / base, base / 1e3);
        }
    }
}

criterion_group!(all, benches);

fn main() {
    all();
    Criterion::default().configure_from_args().final_summary();
}
