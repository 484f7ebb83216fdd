//! `GET /r/{code}` for new visitors: the release server on a database of `n` referrals,
//! loaded by `oha` from its own process, against a bare axum handler answering the same
//! bytes (the most any handler could do on this machine in this run). Then the p99 at
//! half the server's own throughput, and after a graceful stop, the touches counted:
//! every visit answered must have been recorded.

use std::path::PathBuf;
use std::process::Command;

use bouquet_core::AccountKind;
use bouquet_core::code::{CodeNamespace, ReferralCode};
use bouquet_server::testing::{TestDb, seed};
use serde::{Deserialize, Serialize};

use crate::oha::{self, Load};
use crate::server::{Process, set_codes};

#[derive(clap::Args)]
pub struct Args {
    /// Data sizes in referrals, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<u64>,
    /// Backends, comma-separated: sqlite, postgres (a fresh database beside
    /// BOUQUET_TEST_DATABASE_URL's).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Connections the load generator keeps open.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// The (release) bouquet-server binary.
    #[arg(long)]
    server: PathBuf,
    /// The results file (JSON lines); each run appends its figures.
    #[arg(long)]
    results: PathBuf,
    /// Leave the rollup of the loaded data to the server's scheduler, as after a restore
    /// or a backfill: the load then meets the scheduler's first round.
    #[arg(long)]
    rollup_by_server: bool,
}

/// One backend and size: the figures `report` writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Figure {
    pub backend: String,
    pub referrals: u64,
    pub page_bytes: usize,
    pub server: Load,
    pub bare: Load,
    /// The server at half its own throughput.
    pub half_load: Load,
    /// Touches of the code after the graceful stop, less those before.
    pub touches_recorded: u64,
}

impl Figure {
    pub fn ratio(&self) -> f64 {
        self.server.requests_per_second / self.bare.requests_per_second
    }

    /// Visits answered 200 that left no touch (requests cut off by the deadline may or
    /// may not have been answered; they are neither lost nor counted).
    pub fn touches_lost(&self) -> u64 {
        (self.server.ok + self.half_load.ok).saturating_sub(self.touches_recorded)
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
                "landing {backend}/{n}: {:.0} req/s against {:.0} bare (ratio {:.2}); p99 {:.1} ms at half load; {} touches lost",
                figure.server.requests_per_second,
                figure.bare.requests_per_second,
                figure.ratio(),
                figure.half_load.p99_ms,
                figure.touches_lost()
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
    // Loaded straight into the tables, every day awaits the daily rollup: built here, as
    // a running server's scheduler would have, so the load meets a steady state.
    if !args.rollup_by_server {
        store.rebuild_analytics_days().await.map_err(|e| format!("the rollup after seeding: {e}"))?;
    }
    store.close().await;
    eprintln!("landing {backend}/{n}: seeded and rolled up in {:.1} s", started.elapsed().as_secs_f64());
    // The seeded codes are placeholders; one referral gets a real code to visit.
    let code = ReferralCode::generate(AccountKind::Supplier, &CodeNamespace::random(), 0);
    let referral = seed::id(2, n / 2).to_string();
    set_codes(&db.url, &[(referral.clone(), code.to_string())]).await?;

    let server = crate::server::start_server(&args.server, &db.url, &args.results.with_extension(format!("{backend}-{n}.server.log")))?;
    let url = format!("{}/r/{}", server.url, code.as_str());
    let page = reqwest::Client::new()
        .get(&url)
        .header("user-agent", oha::PHONE)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("the landing page: {e}"))?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    // Kept beside the results: the bytes both servers answered.
    let page_file = args.results.with_extension(format!("{backend}-{n}.page.html"));
    std::fs::write(&page_file, &page).map_err(|e| e.to_string())?;
    let bare = Process::start(Command::new(std::env::current_exe().map_err(|e| e.to_string())?).args(["bare", "--page", page_file.to_str().unwrap()]))?;

    let before = count_touches(&db.url, &referral).await?;
    let server_load = oha::run(&url, args.seconds, args.connections, None)?;
    let bare_load = oha::run(&format!("{}/r/{}", bare.url, code.as_str()), args.seconds, args.connections, None)?;
    let half_load = oha::run(&url, args.seconds, args.connections, Some(server_load.requests_per_second / 2.0))?;
    server.stop()?;
    bare.stop()?;
    let after = count_touches(&db.url, &referral).await?;
    Ok(Figure {
        backend: backend.into(),
        referrals: n,
        page_bytes: page.len(),
        server: server_load,
        bare: bare_load,
        half_load,
        touches_recorded: (after - before) as u64,
    })
}

async fn count_touches(url: &str, referral: &str) -> Result<i64, String> {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?;
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM touches WHERE referral_id = ?").bind(referral).fetch_one(&pool).await.map_err(|e| e.to_string())?;
        pool.close().await;
        Ok(n)
    } else {
        let pool = sqlx::PgPool::connect(url).await.map_err(|e| e.to_string())?;
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM touches WHERE referral_id = $1::uuid").bind(referral).fetch_one(&pool).await.map_err(|e| e.to_string())?;
        pool.close().await;
        Ok(n)
    }
}

/// The baseline server: every GET answered with the page's bytes, as HTML.
pub async fn serve_bare(page: PathBuf) -> Result<(), String> {
    let bytes = axum::body::Bytes::from(std::fs::read(&page).map_err(|e| format!("{}: {e}", page.display()))?);
    let app = axum::Router::new().fallback(move || {
        let bytes = bytes.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    println!("bare listening on http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
