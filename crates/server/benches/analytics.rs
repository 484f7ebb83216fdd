//! What a dashboard costs: one supplier's analytics (series, funnel, loop, money) and the
//! platform's, over a year of referrals, on SQLite and PostgreSQL, each against a count of
//! the same rows in the same run (`SELECT COUNT(*)` of the range's referrals: the least a
//! report can read). Sizes from `BOUQUET_BENCH_SIZES` (default `10000,100000,1000000`; one
//! size of 2,000 when run once as a test); PostgreSQL from `BOUQUET_TEST_DATABASE_URL`
//! (skipped without it).
//!
//! The population is `bouquet_server::testing::seed`'s realistic shape, loaded straight
//! into the tables (the "one supplier" measured is the busiest, ~0.7% of all referrals);
//! the scheduler's first round builds the rollups (its time is printed), the measured
//! reports read them.
//!
//! Run: `cargo bench -p bouquet-server --bench analytics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bouquet_core::metrics::{FunnelBenchmarks, Period};
use bouquet_server::service::analytics::{self, Range};
use bouquet_server::store::Store;
use bouquet_server::testing::TestDb;
use bouquet_server::testing::seed::{self, id};
use chrono::{DateTime, SecondsFormat, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group};
use uuid::Uuid;

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
    seed::load(&db.url, n).await.unwrap();
    let pool = if db.url.starts_with("sqlite") {
        Pool::Sqlite(sqlx::SqlitePool::connect(&db.url).await.unwrap())
    } else {
        Pool::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap())
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
