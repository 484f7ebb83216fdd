//! Test helpers, for this crate's tests and for other crates' tests that need a real
//! server (the client's sync tests, the CLI's): throwaway databases (a SQLite file in a
//! temp dir, or a fresh PostgreSQL database that is dropped afterwards) and a real
//! server on a random port. Only built with the `testing` feature.

pub mod seed;

use std::sync::Arc;

use crate::config::Settings;
use crate::http::{self, AppState};
use crate::store::{self, Store};
use sqlx::Connection;
use tokio::sync::oneshot;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bouquet.db").display());
        Self { url, _dir: Some(dir), pg_name: None }
    }

    /// A fresh PostgreSQL database, or `None` (with a note) when PostgreSQL is not
    /// reachable. Under `CI=true` an unreachable PostgreSQL fails the test instead.
    pub async fn postgres() -> Option<Self> {
        let admin = std::env::var("BOUQUET_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.into());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping PostgreSQL test: {admin} unreachable ({e})");
                return None;
            }
            Err(e) => panic!("PostgreSQL at {admin} is unreachable under CI=true: {e}"),
        };
        let name = format!("bouquet_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin).to_string();
        Some(Self { url: format!("{base}/{name}"), _dir: None, pg_name: Some((admin, name)) })
    }

    /// A copy of the database as it is now, as a backup would hold it: SQLite's through
    /// `bouquet-server backup`'s code, PostgreSQL's through `pg_dump` and `psql`.
    pub async fn backup(&self) -> TestDb {
        match &self.pg_name {
            None => {
                let copy = Self::sqlite();
                let path = copy.url.trim_start_matches("sqlite://").to_string();
                store::backup::backup(&self.url, std::path::Path::new(&path)).await.expect("backup");
                copy
            }
            Some(_) => {
                let copy = Self::postgres().await.expect("postgres");
                let dump = std::process::Command::new("pg_dump").arg("--no-owner").arg(&self.url).output().expect("pg_dump");
                assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
                let mut psql = std::process::Command::new("psql")
                    .args(["-q", "-v", "ON_ERROR_STOP=1", &copy.url])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("psql");
                use std::io::Write;
                psql.stdin.take().expect("stdin").write_all(&dump.stdout).expect("restore");
                assert!(psql.wait().expect("psql").success(), "psql restore failed");
                copy
            }
        }
    }

    /// Restores `backup` as the operator's guide says (docs/operations.md) and returns the
    /// database to serve: SQLite's file replaced in place by `bouquet-server restore`'s
    /// code; PostgreSQL's restored copy given a new sync epoch (`admin new-sync-epoch`).
    pub async fn restore<'a>(&'a self, backup: &'a TestDb) -> &'a TestDb {
        match &self.pg_name {
            None => {
                let path = backup.url.trim_start_matches("sqlite://").to_string();
                store::backup::restore(&self.url, std::path::Path::new(&path)).await.expect("restore");
                self
            }
            Some(_) => {
                let store = backup.open().await;
                store.replace_shared_secret(http::SYNC_EPOCH, &uuid::Uuid::now_v7().simple().to_string()).await.expect("new epoch");
                backup
            }
        }
    }

    /// The tables holding `needle` anywhere in any column, read straight from the
    /// database: what a privacy test asserts is gone is gone from every table.
    pub async fn tables_containing(&self, needle: &str) -> Vec<String> {
        use sqlx::Row;
        let mut found = Vec::new();
        if self.pg_name.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            let tables: Vec<String> = sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
                .fetch_all(&mut conn)
                .await
                .expect("tables");
            for table in tables {
                let sql = format!("SELECT COUNT(*) FROM \"{table}\" t WHERE strpos(t::text, $1) > 0");
                let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(needle).fetch_one(&mut conn).await.expect("search").get(0);
                if n > 0 {
                    found.push(table);
                }
            }
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
            let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .fetch_all(&mut conn)
                .await
                .expect("tables");
            for table in tables {
                let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                    .fetch_all(&mut conn)
                    .await
                    .expect("columns");
                let row_text = columns.iter().map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')")).collect::<Vec<_>>().join(" || '|' || ");
                let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE instr({row_text}, ?1) > 0");
                let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(needle).fetch_one(&mut conn).await.expect("search").get(0);
                if n > 0 {
                    found.push(table);
                }
            }
        }
        found
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        store::open(&self.url).await.expect("open store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg_name.take() else { return };
        // Drop runs outside async; a small runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                }
            })
        })
        .join();
    }
}

/// A real server on 127.0.0.1:<random port>, stopped when dropped.
pub struct TestServer {
    pub url: String,
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The invitation sender, when the settings name a mail relay.
    sender: Option<tokio::task::JoinHandle<()>>,
    /// The webhook dispatcher.
    dispatcher: Option<tokio::task::JoinHandle<()>>,
    /// As a real server, it holds its SQLite file against a restore while it serves.
    _serving: Option<store::backup::ServingLock>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: &TestDb, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::start_on(db, "127.0.0.1:0", tweak).await
    }

    /// On a given address: a server restarted where its clients expect it.
    pub async fn start_on(db: &TestDb, addr: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let mut settings = Settings::for_tests(&db.url);
        settings.public_url = url.clone();
        tweak(&mut settings);
        let serving = store::backup::hold_serving_lock(&db.url).expect("no restore under way");
        let store = db.open().await;
        let state = AppState::new(store.clone(), settings).await.expect("state");
        let sender = state.start_email_sender().expect("the mail settings are valid");
        let dispatcher = state.start_webhook_dispatcher();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            http::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        Self { url, store, stop: Some(stop), task: Some(task), sender, dispatcher: Some(dispatcher), _serving: serving }
    }

    /// Stops the server abruptly, as a killed process would: requests in flight are
    /// dropped mid-way and their transactions roll back.
    pub async fn kill(mut self) {
        if let Some(sender) = self.sender.take() {
            sender.abort();
            let _ = sender.await;
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.abort();
            let _ = dispatcher.await;
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the server as a shutdown signal would, and closes its database.
    pub async fn stop(mut self) {
        if let Some(sender) = self.sender.take() {
            sender.abort();
            let _ = sender.await;
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.abort();
            let _ = dispatcher.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.store.close().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs an async test body against SQLite and (when reachable) PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::testing::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::testing::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// Asserts that the platform's cohorts (from the daily rollup, rebuilt where marked, and
/// the raw tables for part-days) and distinct referrers counted in the database equal
/// those counted from one fact per referral (`referral_facts`), for every period and
/// split: the two ways of reading the same referrals must never disagree.
pub async fn assert_platform_sums_match_facts(store: &Arc<dyn Store>, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) {
    use bouquet_core::analytics::{Cohort, ReferrerCounts, SplitBy, cohorts_of};
    use bouquet_core::metrics::Period;
    let facts = store.referral_facts(None, from, to, "GBP").await.unwrap();
    // The order of one cohort's conversions is not a figure.
    let sorted = |mut cohorts: Vec<Cohort>| {
        for c in &mut cohorts {
            c.conversions.sort_by_key(|x| (x.converted_at, x.time_to_convert_seconds, x.value_minor));
        }
        cohorts
    };
    let summed = sorted(store.platform_cohorts(from, to, "GBP").await.unwrap());
    assert!(!summed.is_empty(), "no referrals to compare");
    assert_eq!(summed, sorted(cohorts_of(&facts)), "cohorts from the daily rollup");
    // A range that starts and ends mid-day: whole days from the rollup, the ends raw.
    let (inner_from, inner_to) = (from + chrono::Duration::hours(7), to - chrono::Duration::hours(5));
    let inner_facts = store.referral_facts(None, inner_from, inner_to, "GBP").await.unwrap();
    let inner = sorted(store.platform_cohorts(inner_from, inner_to, "GBP").await.unwrap());
    assert_eq!(inner, sorted(cohorts_of(&inner_facts)), "cohorts of a range with part-days at its ends");
    // Rewards: the platform's (the rollup's, for whole days) are every referrer's own (raw).
    let platform = store.money_facts(None, from, to, "GBP").await.unwrap();
    let referrers: std::collections::BTreeSet<uuid::Uuid> = facts.iter().map(|f| f.referrer_id).collect();
    let (mut paid, mut pending) = (0, 0);
    for referrer in referrers {
        let own = store.money_facts(Some(referrer), from, to, "GBP").await.unwrap();
        paid += own.rewards_paid_minor;
        pending += own.rewards_pending_minor;
    }
    assert_eq!((platform.rewards_paid_minor, platform.rewards_pending_minor), (paid, pending), "rewards from the daily rollup");
    // Distinct referrers: whole periods from their counts, periods the range cuts through
    // referrals from the referrals in it, totals probed per account.
    for (from, to, facts) in [(from, to, &facts), (inner_from, inner_to, &inner_facts)] {
        for period in [Period::Day, Period::Week, Period::Month] {
            for split in [None, Some(SplitBy::ReferrerKind), Some(SplitBy::RefereeKind), Some(SplitBy::Method)] {
                let counted = store.platform_referrers(from, to, period, split).await.unwrap();
                assert_eq!(counted, ReferrerCounts::of(facts, period, split), "distinct referrers in [{from}, {to}) by {period:?}, split {split:?}");
            }
        }
    }
}

/// What criterion measured for `group`/`name` in this run (its mean, in nanoseconds), for
/// benchmarks that print their ratio to a baseline: criterion writes under
/// `CRITERION_HOME` when set (`scripts/bench` gives each run its own folder), otherwise
/// under the target folder.
pub fn criterion_mean(group: &str, name: &str) -> Option<f64> {
    let dir = match (std::env::var_os("CRITERION_HOME"), std::env::var_os("CARGO_TARGET_DIR")) {
        (Some(home), _) => std::path::PathBuf::from(home),
        (None, Some(target)) => std::path::PathBuf::from(target).join("criterion"),
        (None, None) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion"),
    };
    let text = std::fs::read_to_string(dir.join(group).join(name).join("new/estimates.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["mean"]["point_estimate"].as_f64()
}
