//! What a dashboard costs: one supplier's analytics (series, funnel, loop, money) and the
//! platform's, over a year of referrals, on SQLite and PostgreSQL, each against a count of
//! the same rows in the same run (`SELECT COUNT(*)` of the range's referrals: the least a
//! report can read). Sizes from `BOUQUET_BENCH_SIZES` (default `10000,100000,1000000`; one
//! size of 2,000 when run once as a test); PostgreSQL from `BOUQUET_TEST_DATABASE_URL`
//! (skipped without it).
//!
//! The population has a realistic shape, generated inside the database: referrers' shares
//! are skewed (a few busy venues, many small suppliers; the "one supplier" measured is the
//! busiest, ~0.7% of all referrals), 10% of referrers are couples referring suppliers,
//! referrals spread over the last year, 70% visited, 40% signed up, 30% activated, 25%
//! converted, 1% refunded, 2% of sign-ups held by fraud review, a reward per conversion.
//! Loaded straight into the tables, every day is marked for the daily rollup and every
//! distinct-referrer mark is unfolded: the scheduler's first round builds and folds them
//! (its time is printed), the measured reports read them.
//!
//! Run: `cargo bench -p bouquet-server --bench analytics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bouquet_core::metrics::{FunnelBenchmarks, Period};
use bouquet_server::service::analytics::{self, Range};
use bouquet_server::store::Store;
use bouquet_server::testing::TestDb;
use chrono::{DateTime, SecondsFormat, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group};
use uuid::Uuid;

/// A uuid from a number and a kind digit, the same in Rust and in both databases' SQL.
fn id(kind: u32, n: u64) -> Uuid {
    Uuid::parse_str(&format!("{kind:08x}-0000-4000-8000-{n:012x}")).unwrap()
}

/// The seeding statements for SQLite, with the numbers written in (they are not user input).
fn sqlite_seed(n: u64) -> Vec<String> {
    let r = (n / 50).max(100);
    let epoch = Utc::now().timestamp();
    let t = |s: &str| s.replace("$N", &n.to_string()).replace("$R", &r.to_string()).replace("$EPOCH", &epoch.to_string()).replace("$T0", "'2025-01-01T00:00:00.000000Z'");
    vec![
        t("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $R)
           INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, created_at)
           SELECT printf('00000001-0000-4000-8000-%012x', i), CASE WHEN i % 10 = 9 THEN 'couple' ELSE 'supplier' END,
              'r' || i || '@bench.example', 'x', 'Referrer ' || i, CASE WHEN i % 10 = 9 THEN NULL ELSE 'florist' END, $T0 FROM n"),
        t("CREATE TEMP TABLE seed AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $N)
           SELECT i, ((((i * 2654435761) % 1000003) * ((i * 2654435761) % 1000003)) / 1000003) * $R / 1000003 AS r,
              $EPOCH - (i * 7919) % 31536000 AS at FROM n"),
        t("INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, created_at, expires_at)
           SELECT printf('00000002-0000-4000-8000-%012x', i), 'BENCH-' || i, printf('00000001-0000-4000-8000-%012x', r),
              CASE WHEN r % 10 = 9 THEN 'couple' ELSE 'supplier' END, CASE WHEN r % 10 = 9 THEN 'supplier' ELSE 'couple' END,
              CASE i % 4 WHEN 0 THEN 'email' WHEN 1 THEN 'link' WHEN 2 THEN 'qr' ELSE 'social' END,
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 31536000, 'unixepoch')
           FROM seed"),
        t("INSERT INTO platform_users (user_id, kind, email, signed_up_at, activated_at, converted_at, refunded_at)
           SELECT 'u' || i, 'couple', 'u' || i || '@mail.example', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch'),
              CASE WHEN i % 10 < 3 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 2 * 86400, 'unixepoch') END,
              CASE WHEN i % 20 < 5 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch') END,
              CASE WHEN i % 100 = 0 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 9 * 86400, 'unixepoch') END
           FROM seed WHERE i % 10 < 4"),
        t("INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, platform_user_id)
           SELECT printf('00000003-0000-4000-8000-%012x', i), printf('00000002-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r),
              'link', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 3600, 'unixepoch'), 1, 'v' || i, CASE WHEN i % 10 < 4 THEN 'u' || i END
           FROM seed WHERE i % 10 < 7"),
        t("INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
           SELECT printf('00000004-0000-4000-8000-%012x', i), 'convert-' || i, 'convert', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), 'u' || i, '{}'
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at, time_to_convert_seconds, plan, value_minor, currency)
           SELECT printf('00000005-0000-4000-8000-%012x', i), printf('00000004-0000-4000-8000-%012x', i), 'u' || i,
              printf('00000002-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r), 'last_touch',
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), 5 * 86400 - 3600, 'professional', 4900, 'GBP'
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO rewards (id, holder, account_id, role, amount_minor, currency, status, reason, referral_id, conversion_id, created_at, earned_at, status_at)
           SELECT printf('00000006-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r), printf('00000001-0000-4000-8000-%012x', r),
              'referrer', 1000, 'CRD', CASE WHEN i % 40 < 5 THEN 'eligible' ELSE 'pending' END, 'bench',
              printf('00000002-0000-4000-8000-%012x', i), printf('00000005-0000-4000-8000-%012x', i),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch')
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO fraud_subjects (platform_user_id, referrer_id, referral_id, signed_up_at, score_bp, risk, action, assessed_at)
           SELECT 'u' || i, printf('00000001-0000-4000-8000-%012x', r), printf('00000002-0000-4000-8000-%012x', i),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch'),
              CASE WHEN i % 200 = 7 THEN 7500 ELSE 0 END, CASE WHEN i % 200 = 7 THEN 'high' ELSE 'low' END,
              CASE WHEN i % 200 = 7 THEN 'hold' ELSE 'approve' END, strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch')
           FROM seed WHERE i % 10 < 4"),
        "DROP TABLE seed".into(),
        "ANALYZE".into(),
    ]
}

/// The same population on PostgreSQL.
fn postgres_seed(n: u64) -> Vec<String> {
    let r = (n / 50).max(100);
    let epoch = Utc::now().timestamp();
    let t = |s: &str| s.replace("$N", &n.to_string()).replace("$R", &r.to_string()).replace("$EPOCH", &epoch.to_string());
    let uid = |kind: u32, col: &str| format!("('{kind:08x}-0000-4000-8000-' || lpad(to_hex({col}), 12, '0'))::uuid");
    let ts = |secs: &str| format!("to_timestamp({secs})");
    vec![
        t(&format!(
            "INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, created_at)
             SELECT {}, CASE WHEN i % 10 = 9 THEN 'couple' ELSE 'supplier' END, 'r' || i || '@bench.example', 'x', 'Referrer ' || i,
                CASE WHEN i % 10 = 9 THEN NULL ELSE 'florist' END, now() FROM generate_series(0, $R - 1) AS g(i)",
            uid(1, "i")
        )),
        t("CREATE TEMP TABLE seed AS SELECT i, ((((i * 2654435761) % 1000003) * ((i * 2654435761) % 1000003)) / 1000003) * $R / 1000003 AS r,
              $EPOCH - (i * 7919) % 31536000 AS at FROM generate_series(0::bigint, $N - 1) AS g(i)"),
        t(&format!(
            "INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, created_at, expires_at)
             SELECT {}, 'BENCH-' || i, {}, CASE WHEN r % 10 = 9 THEN 'couple' ELSE 'supplier' END, CASE WHEN r % 10 = 9 THEN 'supplier' ELSE 'couple' END,
                (ARRAY['email', 'link', 'qr', 'social'])[i % 4 + 1], {}, {} FROM seed",
            uid(2, "i"),
            uid(1, "r"),
            ts("at"),
            ts("at + 31536000")
        )),
        t(&format!(
            "INSERT INTO platform_users (user_id, kind, email, signed_up_at, activated_at, converted_at, refunded_at)
             SELECT 'u' || i, 'couple', 'u' || i || '@mail.example', {}, CASE WHEN i % 10 < 3 THEN {} END,
                CASE WHEN i % 20 < 5 THEN {} END, CASE WHEN i % 100 = 0 THEN {} END FROM seed WHERE i % 10 < 4",
            ts("at + 86400"),
            ts("at + 2 * 86400"),
            ts("at + 5 * 86400"),
            ts("at + 9 * 86400")
        )),
        t(&format!(
            "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, platform_user_id)
             SELECT {}, {}, {}, 'link', {}, TRUE, 'v' || i, CASE WHEN i % 10 < 4 THEN 'u' || i END FROM seed WHERE i % 10 < 7",
            uid(3, "i"),
            uid(2, "i"),
            uid(1, "r"),
            ts("at + 3600")
        )),
        t(&format!(
            "INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
             SELECT {}, 'convert-' || i, 'convert', {}, {}, 'u' || i, '{{}}' FROM seed WHERE i % 20 < 5",
            uid(4, "i"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at, time_to_convert_seconds, plan, value_minor, currency)
             SELECT {}, {}, 'u' || i, {}, {}, 'last_touch', {}, 5 * 86400 - 3600, 'professional', 4900, 'GBP' FROM seed WHERE i % 20 < 5",
            uid(5, "i"),
            uid(4, "i"),
            uid(2, "i"),
            uid(1, "r"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO rewards (id, holder, account_id, role, amount_minor, currency, status, reason, referral_id, conversion_id, created_at, earned_at, status_at)
             SELECT {}, {}, {}, 'referrer', 1000, 'CRD', CASE WHEN i % 40 < 5 THEN 'eligible' ELSE 'pending' END, 'bench', {}, {}, {}, {}, {}
             FROM seed WHERE i % 20 < 5",
            uid(6, "i"),
            uid(1, "r"),
            uid(1, "r"),
            uid(2, "i"),
            uid(5, "i"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO fraud_subjects (platform_user_id, referrer_id, referral_id, signed_up_at, score_bp, risk, action, assessed_at)
             SELECT 'u' || i, {}, {}, {}, CASE WHEN i % 200 = 7 THEN 7500 ELSE 0 END, CASE WHEN i % 200 = 7 THEN 'high' ELSE 'low' END,
                CASE WHEN i % 200 = 7 THEN 'hold' ELSE 'approve' END, {} FROM seed WHERE i % 10 < 4",
            uid(1, "r"),
            uid(2, "i"),
            ts("at + 86400"),
            ts("at + 86400")
        )),
        "DROP TABLE seed".into(),
        "ANALYZE".into(),
    ]
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Fixture {
    store: Arc<dyn Store>,
    /// The busiest referrer.
    busiest: Uuid,
    range: Range,
    pool: Pool,
    _db: TestDb,
}

impl Fixture {
    /// The baseline: a count of the range's referrals, the least a report can read.
    async fn count(&self) -> i64 {
        let (from, to) = (self.range.from, self.range.to);
        match &self.pool {
            Pool::Sqlite(pool) => {
                let text = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
                sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE created_at >= ? AND created_at < ?")
                    .bind(text(from))
                    .bind(text(to))
                    .fetch_one(pool)
                    .await
                    .unwrap()
            }
            Pool::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE created_at >= $1 AND created_at < $2")
                .bind(from)
                .bind(to)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }
}

async fn fixture(db: TestDb, n: u64) -> Fixture {
    let store = db.open().await;
    let seeding = Instant::now();
    let now = Utc::now();
    let range = Range { period: Period::Week, from: now - chrono::Duration::days(365), to: now, split_by: None };
    let pool = if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        // One connection: the seed table is temporary.
        let mut conn = pool.acquire().await.unwrap();
        for statement in sqlite_seed(n) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await.unwrap();
        }
        drop(conn);
        Pool::Sqlite(pool)
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        for statement in postgres_seed(n) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await.unwrap();
        }
        drop(conn);
        Pool::Postgres(pool)
    };
    eprintln!("seeded {n} referrals in {:.1} s", seeding.elapsed().as_secs_f64());
    Fixture { store, busiest: id(1, 0), range, pool, _db: db }
}

async fn report(f: &Fixture, referrer: Option<Uuid>) -> Duration {
    let started = Instant::now();
    let r = analytics::report(&f.store, referrer, &f.range, &FunnelBenchmarks::default(), "GBP", Utc::now()).await.unwrap();
    let spent = started.elapsed();
    assert!(r.total.referrals_made > 0 && r.total.conversions > 0, "{:?}", r.total);
    spent
}

/// Where the platform report's time goes: each read it makes, timed once.
async fn print_steps(f: &Fixture, name: &str) {
    let (from, to, store) = (f.range.from, f.range.to, &f.store);
    let mut steps = Vec::new();
    let started = Instant::now();
    store.platform_cohorts(from, to, "GBP").await.unwrap();
    steps.push(("cohorts", started.elapsed()));
    let started = Instant::now();
    store.platform_referrers(from, to, f.range.period, None).await.unwrap();
    steps.push(("distinct referrers", started.elapsed()));
    let started = Instant::now();
    store.money_facts(None, from, to, "GBP").await.unwrap();
    steps.push(("money and fraud", started.elapsed()));
    let started = Instant::now();
    store.cycle_facts(from, to).await.unwrap();
    steps.push(("loop cycles", started.elapsed()));
    let steps: Vec<String> = steps.iter().map(|(step, spent)| format!("{step} {:.1} ms", spent.as_secs_f64() * 1000.0)).collect();
    eprintln!("{name}: platform report by step: {}", steps.join(", "));
}

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<u64> = std::env::var("BOUQUET_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| if full { vec![10_000, 100_000, 1_000_000] } else { vec![2_000] });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("analytics");
    group.measurement_time(Duration::from_secs(if full { 10 } else { 1 })).sample_size(10);
    for &n in &sizes {
        let mut backends = vec![("sqlite", TestDb::sqlite())];
        if let Some(pg) = rt.block_on(TestDb::postgres()) {
            backends.push(("postgres", pg));
        }
        for (backend, db) in backends {
            let f = Arc::new(rt.block_on(fixture(db, n)));
            // Seeded straight into the tables, every day is marked and every referrer's
            // marks are new: the scheduler's first round builds the daily rollup and folds
            // the marks, as in a running server; the reports measured below read them.
            let started = Instant::now();
            rt.block_on(f.store.rebuild_analytics_days()).unwrap();
            eprintln!("{backend}/{n}: the scheduler's first round after loading (every day, every mark) took {:.2} s", started.elapsed().as_secs_f64());
            if full {
                rt.block_on(print_steps(&f, &format!("{backend}/{n}")));
            } else {
                // Run once as a test: a year of every shape, summed in the database and
                // counted from facts, must agree for every period and split.
                rt.block_on(bouquet_server::testing::assert_platform_sums_match_facts(&f.store, f.range.from, f.range.to));
            }
            for (name, referrer) in [("count_of_the_rows", None), ("one_supplier", Some(f.busiest)), ("platform", None)] {
                group.bench_function(BenchmarkId::new(format!("{backend}/{name}"), n), |b| {
                    b.to_async(&rt).iter_custom(|iters| {
                        let f = f.clone();
                        async move {
                            let mut spent = Duration::ZERO;
                            for _ in 0..iters {
                                if name == "count_of_the_rows" {
                                    let started = Instant::now();
                                    assert!(f.count().await > 0);
                                    spent += started.elapsed();
                                } else {
                                    spent += report(&f, referrer).await;
                                }
                            }
                            spent
                        }
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(analytics_benches, benches);

fn main() {
    analytics_benches();
    Criterion::default().configure_from_args().final_summary();
}
