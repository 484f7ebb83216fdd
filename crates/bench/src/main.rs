//! `bouquet-bench`: the load half of Bouquet's benchmark suite (`bash scripts/bench`).
//! Criterion's benchmarks measure code in-process; this drives the release server as a
//! separate process with a real load generator (`oha`, and `wrk` where every request
//! must differ), against a bare axum handler
//! serving the same bytes in the same run, and writes what both found to
//! `docs/performance.md` with plots.

mod convert;
mod criterion;
mod landing;
mod oha;
mod report;
mod server;
mod wrk;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Bouquet's benchmark suite (run it through scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// `GET /r/{code}` for new visitors against a bare handler, per backend and data size.
    Landing(landing::Args),
    /// `POST /api/v1/events` sign-ups then conversions against plain inserts of the same
    /// rows, per backend and data size.
    Convert(convert::Args),
    /// The baseline: a bare axum handler answering every request with one file's bytes.
    Bare {
        #[arg(long)]
        page: PathBuf,
    },
    /// Loads a data set into a database and builds its rollups, as the benchmarks do, and
    /// leaves it there: for profiling a query by hand (`EXPLAIN QUERY PLAN`, `EXPLAIN
    /// ANALYZE`) on the data the figures were measured on.
    Seed {
        /// `sqlite://path` (created) or a PostgreSQL URL (an existing, empty database).
        #[arg(long)]
        url: String,
        #[arg(long)]
        referrals: u64,
    },
    /// Writes docs/performance.md and its plots from the results folder.
    Report {
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let outcome = match Cli::parse().command {
        Command::Landing(args) => landing::run(args).await,
        Command::Convert(args) => convert::run(args).await,
        Command::Bare { page } => landing::serve_bare(page).await,
        Command::Seed { url, referrals } => seed(&url, referrals).await,
        Command::Report { results, out } => report::write(&results, &out),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn seed(url: &str, referrals: u64) -> Result<(), String> {
    let store = bouquet_server::store::open(url).await.map_err(|e| format!("opening {url}: {e}"))?;
    let started = std::time::Instant::now();
    bouquet_server::testing::seed::load(url, referrals).await.map_err(|e| format!("seeding {referrals} referrals: {e}"))?;
    store.rebuild_analytics_days().await.map_err(|e| format!("the rollup after seeding: {e}"))?;
    store.close().await;
    eprintln!("seeded {referrals} referrals and their rollups in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
