//! What fraud scoring costs a conversion, on a SQLite file holding N referred users
//! (`BOUQUET_BENCH_REFERRED`, default 1,000,000; 10,000 when run once as a test): the
//! whole `convert` event (attribution, rewards, ledger) with scoring against the same
//! event with scoring off, measured in the same run.
//!
//! The referred users have a realistic shape: 20,000 referrers with skewed popularity,
//! sign-ups over a year, an IP hash and an address as people spell them each. Conversions
//! go to 100 busy referrers in turn, each with 200 referees in the week around now, so the
//! neighbourhood the rules read (and compare every referee with) is a busy venue's.
//!
//! Run: `cargo bench -p bouquet-server --bench fraud`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bouquet_core::api::{EventType, EventUser, PlatformEvent};
use bouquet_core::attribution::AttributionRules;
use bouquet_core::fraud::FraudPolicy;
use bouquet_core::rewards::RewardRules;
use bouquet_core::{AccountKind, Money, ReferralCode};
use bouquet_server::service::events::{self, EventRules};
use bouquet_server::service::fraud::{DisposableDomains, FraudRules};
use bouquet_server::store::{FraudSubjectRow, NewAccount, NewReferral, Store};
use chrono::Utc;
use criterion::{Criterion, criterion_group};
use uuid::Uuid;


/// Referrers the measured conversions go to, in turn.
const BUSY: u64 = 100;
/// Each busy referrer's referees in the week around now.
const BUSY_WEEK: u64 = 200;

const SYLLABLES: &[&str] = &["ka", "lo", "mi", "ra", "th", "en", "so", "vi", "el", "ma", "ri", "an", "jo", "be", "ty", "ne", "ho", "li", "da", "wu"];

/// An address as people spell theirs, different for every `n` (names drawn from 3.2
/// million spellings, so look-alikes are as rare as they are among real couples).
fn email(n: u64) -> String {
    let h = mix(n);
    let s = |k: u64| SYLLABLES[((h / 20u64.pow(k as u32)) % 20) as usize];
    format!("{}{}{}.{}{}{}@mail.example", s(0), s(1), s(2), s(3), s(4), n % 97)
}

struct Fixture {
    store: Arc<dyn Store>,
    codes: Vec<String>,
    on: FraudRules,
    off: FraudRules,
    _dir: tempfile::TempDir,
}

fn account(id: Uuid, n: u64) -> NewAccount {
    NewAccount {
        id,
        kind: AccountKind::Supplier,
        email: format!("supplier{n}@studio{n}.example"),
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

fn subject(user: String, referrer: Uuid, n: u64, at: chrono::DateTime<Utc>) -> FraudSubjectRow {
    FraudSubjectRow {
        platform_user_id: user,
        referrer_id: referrer,
        referral_id: None,
        email_key: Some(email(n)),
        name_key: None,
        signed_up_at: at,
        first_touch_at: Some(at),
        converted_at: None,
        fair_traffic: false,
        score_bp: 0,
        fired: Vec::new(),
        risk: "low".into(),
        action: "approve".into(),
        decided: false,
        assessed_at: at,
        marks: vec![format!("ip:{:032x}", n * 2_654_435_761 % 1_000_003)],
    }
}

async fn fixture(referred: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = bouquet_server::store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    // 20,000 referrers for a million referred users (fewer for a smoke run).
    let referrer_count = (referred / 50).clamp(100, 20_000);
    let mut referrers = Vec::with_capacity(referrer_count as usize);
    for n in 0..referrer_count {
        let id = Uuid::now_v7();
        store.create_account(account(id, n)).await.unwrap();
        referrers.push(id);
    }
    let mut busy = Vec::new();
    for n in 0..BUSY {
        let id = Uuid::now_v7();
        store.create_account(account(id, referrer_count + n)).await.unwrap();
        busy.push(id);
    }
    let now = Utc::now();
    let mut tx = store.begin_rewards().await.unwrap();
    for n in 0..referred {
        // Skewed: a referrer's share falls with its rank (a few popular venues, many small suppliers).
        let rank = ((n * 2_654_435_761) % 1_000_000) as f64 / 1_000_000.0;
        let referrer = referrers[((rank * rank) * referrer_count as f64) as usize % referrer_count as usize];
        let at = now - chrono::Duration::seconds(((n * 7919) % (365 * 86_400)) as i64);
        let row = subject(format!("seed-{n}"), referrer, n, at);
        tx.save_fraud_subject(&row).await.unwrap();
        tx.add_fraud_marks(&row.platform_user_id, &row.marks).await.unwrap();
        if n % 10_000 == 9_999 {
            tx.commit().await.unwrap();
            tx = store.begin_rewards().await.unwrap();
        }
    }
    // The busy referrers' weeks: 200 referees each around now.
    for (b, &referrer) in busy.iter().enumerate() {
        for n in 0..BUSY_WEEK {
            let at = now - chrono::Duration::seconds((50 * 60 * n + mix(n) % 2400) as i64);
            let seq = referred + b as u64 * BUSY_WEEK + n;
            let row = subject(format!("busy-{b}-{n}"), referrer, seq, at);
            tx.save_fraud_subject(&row).await.unwrap();
            tx.add_fraud_marks(&row.platform_user_id, &row.marks).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    let mut codes = Vec::new();
    for &referrer in &busy {
        let ns = store.server_namespace(referrer).await.unwrap();
        let code = ReferralCode::generate(AccountKind::Supplier, &ns, 0).to_string();
        store.create_referral(new_referral(referrer, code.clone())).await.unwrap();
        codes.push(code);
    }
    let disposable = || DisposableDomains::load(None).unwrap();
    Fixture {
        store,
        codes,
        on: FraudRules { policy: FraudPolicy::default(), disposable: disposable() },
        off: FraudRules { policy: FraudPolicy { enabled: false, ..FraudPolicy::default() }, disposable: disposable() },
        _dir: dir,
    }
}

fn new_referral(referrer: Uuid, code: String) -> NewReferral {
    NewReferral {
        seasonal_campaigns: Vec::new(),
        id: Uuid::now_v7(),
        code,
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
        created_at: Utc::now() - chrono::Duration::days(30),
        expires_at: None,
    }
}

/// SplitMix64's finaliser: a well-spread pseudo-random number from `n` (a multiplicative
/// hash of consecutive `n` would be an arithmetic progression — a cadence the timing rule
/// rightly flags).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A new couple who typed one of the busy referrers' codes at sign-up (untimed) converts
/// (timed): the whole `convert` event.
async fn convert(f: &Fixture, n: u64, scoring: bool, flagged: &AtomicU64) -> Duration {
    let user = format!("couple-{n}-{scoring}");
    let code = f.codes[(n % BUSY) as usize].clone();
    // At random moments of the last day, as couples convert: no machine cadence.
    let converted_at = Utc::now() - chrono::Duration::seconds((mix(n) % 86_400) as i64);
    let event = |event_type, occurred_at, key: &str| PlatformEvent {
        idempotency_key: format!("{key}-{user}"),
        event_type,
        occurred_at,
        user: EventUser {
            id: user.clone(),
            kind: AccountKind::Couple,
            email: Some(email(n * 7 + 1_000_003)),
            name: None,
            ip: Some(format!("198.51.{}.{}", n % 250, n / 250 % 250)),
            user_agent: None,
        },
        touch_id: None,
        code: (event_type == EventType::Signup).then(|| code.clone()),
        plan: Some("professional".into()),
        value: Some(Money { amount_minor: 4900, currency: "GBP".into() }),
        annual: Some(false),
        mrr: None,
    };
    let rules = EventRules {
        attribution: &AttributionRules::default(),
        rewards: &RewardRules::default(),
        fraud: if scoring { &f.on } else { &f.off },
        ip_secret: "bench-secret",
    };
    let signed_up_at = converted_at - chrono::Duration::days(2);
    events::apply(&f.store, &rules, event(EventType::Signup, signed_up_at, "signup")).await.unwrap();
    let started = Instant::now();
    let outcome = events::apply(&f.store, &rules, event(EventType::Convert, converted_at, "convert")).await.unwrap();
    let spent = started.elapsed();
    assert_eq!(outcome.fraud.is_some(), scoring);
    if outcome.fraud.is_some_and(|v| v.action.withholds()) {
        flagged.fetch_add(1, Ordering::Relaxed);
    }
    spent
}

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let referred = std::env::var("BOUQUET_BENCH_REFERRED").ok().and_then(|v| v.parse().ok()).unwrap_or(if full { 1_000_000 } else { 10_000 });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let seeding = Instant::now();
    let f = Arc::new(rt.block_on(fixture(referred)));
    eprintln!("seeded {referred} referred users in {:.1} s", seeding.elapsed().as_secs_f64());

    let mut group = c.benchmark_group("fraud");
    group.measurement_time(Duration::from_secs(if full { 10 } else { 1 }));
    let users = Arc::new(AtomicU64::new(0));
    let flagged = Arc::new(AtomicU64::new(0));
    for (name, scoring) in [("baseline_convert_without_scoring", false), ("convert_with_scoring", true)] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (f, users, flagged) = (f.clone(), users.clone(), flagged.clone());
                async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        spent += convert(&f, users.fetch_add(1, Ordering::Relaxed), scoring, &flagged).await;
                    }
                    spent
                }
            })
        });
    }
    group.finish();
    eprintln!("conversions held for review while measuring: {}", flagged.load(Ordering::Relaxed));
    report_ratio(referred);
}

/// Reads criterion's estimates back and prints scoring's cost as a ratio.
fn report_ratio(referred: u64) {
    let mean = |name: &str| bouquet_server::testing::criterion_mean("fraud", name);
    let (Some(without), Some(with)) = (mean("baseline_convert_without_scoring"), mean("convert_with_scoring")) else { return };
    println!(
        "\nratio measured in this run ({referred} referred users): a conversion with fraud scoring {:.0} µs = {:.2}× the same conversion without ({:.0} µs)",
        with / 1e3,
        with / without,
        without / 1e3
    );
}

criterion_group!(all, benches);

fn main() {
    all();
    Criterion::default().configure_from_args().final_summary();
}
