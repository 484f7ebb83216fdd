//! `POST /api/v1/events` under load: couples sign up with a supplier's code, then convert
//! to a paid plan — attribution, fraud scoring, the referrer's reward under a running
//! campaign with a budget, the ledger — on a database of `n` referrals, from `wrk` in its
//! own process. The baseline, in the same run and on the same database: a plain insert
//! of as many rows as one conversion wrote, one transaction per conversion, as fast as
//! the database takes them.

use std::path::PathBuf;
use std::sync::Arc;

use bouquet_core::AccountKind;
use bouquet_core::code::{CodeNamespace, ReferralCode};
use bouquet_server::testing::{TestDb, seed};
use serde::{Deserialize, Serialize};

use crate::server::set_codes;
use crate::wrk::{self, Events};

#[derive(clap::Args)]
pub struct Args {
    /// Data sizes in referrals, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<u64>,
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Couples who sign up and then convert, per measurement.
    #[arg(long, default_value_t = 10_000)]
    couples: u64,
    /// The most seconds each phase may take.
    #[arg(long, default_value_t = 60)]
    most_seconds: u64,
    #[arg(long, default_value_t = 32)]
    connections: u32,
    #[arg(long)]
    server: PathBuf,
    #[arg(long)]
    results: PathBuf,
}

/// One backend and size.
#[derive(Debug, Serialize, Deserialize)]
pub struct Figure {
    pub backend: String,
    pub referrals: u64,
    pub signups: Events,
    pub converts: Events,
    /// Rows the converts added, over every table, per conversion.
    pub rows_per_conversion: f64,
    /// The baseline: transactions of that many plain inserted rows, per second.
    pub raw_per_second: f64,
}

impl Figure {
    pub fn ratio(&self) -> f64 {
        self.converts.per_second / self.raw_per_second
    }
}

pub async fn run(args: Args) -> Result<(), String> {
    if let Some(dir) = args.results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    for backend in &args.backends {
        for &n in &args.sizes {
            let Some(db) = crate::server::fresh_db(backend).await? else { continue };
            let figure = measure(&args, backend, &db, n).await?;
            eprintln!(
                "convert {backend}/{n}: {:.0} conversions/s (p99 {:.1} ms; {} of {} converted), raw {:.0}/s of {:.1} rows (ratio {:.2}); sign-ups {:.0}/s",
                figure.converts.per_second,
                figure.converts.p99_ms,
                figure.converts.converted,
                figure.converts.ok,
                figure.raw_per_second,
                figure.rows_per_conversion,
                figure.ratio(),
                figure.signups.per_second,
            );
            crate::server::append_line(&args.results, &figure)?;
        }
    }
    Ok(())
}

async fn measure(args: &Args, backend: &str, db: &TestDb, n: u64) -> Result<Figure, String> {
    let store = db.open().await;
    let started = std::time::Instant::now();
    seed::load(&db.url, n).await.map_err(|e| format!("seeding {n} referrals: {e}"))?;
    store.rebuild_analytics_days().await.map_err(|e| format!("the rollup after seeding: {e}"))?;
    let now = chrono::Utc::now();
    // A platform-wide campaign over the whole seeded year, doubling rewards within a
    // budget the run will not spend: every conversion reserves from it.
    let campaign = serde_json::from_value(serde_json::json!({
        "name": "Bench double rewards", "kind": "seasonal", "audience": "everyone",
        "starts_at": now - chrono::Duration::days(400), "ends_at": now + chrono::Duration::days(30),
        "multiplier_bp": 20000, "budget": {"amount_minor": 1_000_000_000_000i64, "currency": "CRD"}
    }))
    .map_err(|e| e.to_string())?;
    bouquet_server::service::campaigns::create(&store, campaign, now).await.map_err(|e| format!("the campaign: {e}"))?;
    let key = bouquet_server::service::accounts::create_api_key(&store, "bench").await.map_err(|e| format!("the API key: {e}"))?;
    store.close().await;
    // The seeded codes are placeholders; a thousand referrals across the population get
    // real ones for couples to type.
    let spread = 1000.min(n);
    let codes: Vec<(String, String)> = (0..spread)
        .map(|k| (seed::id(2, k * (n / spread)).to_string(), ReferralCode::generate(AccountKind::Supplier, &CodeNamespace::random(), 0).to_string()))
        .collect();
    set_codes(&db.url, &codes).await?;
    let codes: Vec<String> = codes.into_iter().map(|(_, c)| c).collect();
    eprintln!("convert {backend}/{n}: prepared in {:.1} s", started.elapsed().as_secs_f64());

    let server = crate::server::start_server(&args.server, &db.url, &args.results.with_extension(format!("{backend}-{n}.server.log")))?;
    let url = format!("{}/api/v1/events", server.url);
    // More sign-ups than conversions: requests already sent when a wrk thread stops go
    // to couples past the end, who must have signed up too.
    let signups = wrk::post_events(&url, &key, "signup", &codes, args.couples + 2 * u64::from(args.connections), args.connections, args.most_seconds)?;
    let before = row_counts(&db.url).await?;
    let converts = wrk::post_events(&url, &key, "convert", &codes, args.couples, args.connections, args.most_seconds)?;
    let after = row_counts(&db.url).await?;
    server.stop()?;
    let added = |table: Option<&str>| -> i64 {
        after.iter().zip(&before).filter(|((t, _), _)| table.is_none_or(|only| t == only)).map(|((_, a), (_, b))| a - b).sum()
    };
    // Counted in the database: a request wrk sent just before it stopped may have
    // converted a couple without wrk reading the answer.
    let rows_per_conversion = added(None) as f64 / added(Some("conversions")).max(1) as f64;
    let raw_per_second = raw_inserts(&db.url, rows_per_conversion.round().max(1.0) as usize, args.connections, 5).await?;
    Ok(Figure { backend: backend.into(), referrals: n, signups, converts, rows_per_conversion, raw_per_second })
}

/// Rows in every table of the schema, by name.
async fn row_counts(url: &str) -> Result<Vec<(String, i64)>, String> {
    let pool = crate::server::AnyPool::connect(url).await?;
    let tables = pool.tables().await?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in tables {
        let n = pool.count(&table).await?;
        counts.push((table, n));
    }
    pool.close().await;
    Ok(counts)
}

/// Transactions per second of `rows` plain inserted rows each (about the width of an
/// event's row), for `seconds`: one writer on SQLite (it has one), `connections` on
/// PostgreSQL.
async fn raw_inserts(url: &str, rows: usize, connections: u32, seconds: u64) -> Result<f64, String> {
    let pool = crate::server::AnyPool::connect(url).await?;
    pool.exec("CREATE TABLE bench_raw (id TEXT PRIMARY KEY, owner TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL)").await?;
    let writers = if url.starts_with("sqlite") { 1 } else { connections };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let pool = Arc::new(pool);
    let mut tasks = tokio::task::JoinSet::new();
    let started = std::time::Instant::now();
    for w in 0..writers {
        let pool = pool.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            while std::time::Instant::now() < deadline {
                pool.insert_rows(w, done, rows).await?;
                done += 1;
            }
            Ok::<u64, String>(done)
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    pool.exec("DROP TABLE bench_raw").await?;
    Ok(total as f64 / elapsed)
}
