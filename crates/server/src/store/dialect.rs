//! What truly differs between the two databases, and nothing else: how to connect, how a
//! row is locked, the one statement SQLite cannot write as PostgreSQL does, and how a
//! per-account critical section is taken. Everything else in the store is one SQL text.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use super::db::{Dialect, Pool, Tx, WriteGate, args};

/// How long a SQLite writer waits for the lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
use super::{StoreResult, migrations};

/// Opens the database named by `url` (`sqlite://…`, a bare file path, or `postgres://…`)
/// and brings its schema up to date.
pub async fn connect(url: &str) -> StoreResult<Pool> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        // sqlx takes an advisory lock while migrating, so processes starting together are safe.
        migrations::for_dialect(Dialect::Postgres).run(&pool).await?;
        Ok(Pool::Postgres(pool))
    } else {
        let url = if url.starts_with("sqlite:") { url.to_string() } else { format!("sqlite://{url}") };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // A local file does not drop connections: skip the ping before each checkout.
        let pool_of = |connections| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                .test_before_acquire(false)
                .after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
        };
        let pool = pool_of(8).connect_with(options.clone()).await?;
        migrations::for_dialect(Dialect::Sqlite).run(&pool).await?;
        // The writers' own connection (see `WriteGate`); a writer waits for it no longer
        // than for the lock. It leaves the write-ahead log's checkpoints to `checkpoints`.
        let writer = pool_of(1).acquire_timeout(BUSY_TIMEOUT).connect_with(options.pragma("wal_autocheckpoint", "0")).await?;
        tokio::spawn(checkpoints(pool.clone()));
        Ok(Pool::Sqlite(pool, WriteGate::new(BUSY_TIMEOUT, writer)))
    }
}

/// How often the write-ahead log is copied back into the database file. Often, so each
/// copy is small: under the fair's burst, checkpoints a second apart stalled the writer
/// for tens of milliseconds each (p99 at half load 56 ms), 200 ms apart 17 ms, 20–50 ms
/// apart 4–6 ms. On an idle server a checkpoint with nothing to copy costs microseconds.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Copies the write-ahead log back into the database file, beside the writers rather than
/// in their way. Left to SQLite, the commit that takes the log past 1,000 pages does it
/// (copying ~4 MB and syncing the file) while every page view whose visit waits for the
/// next commit waits for that too: under a fair's burst those commits made the slowest
/// phones' answers (p99 at half load 11–13 ms; 4–6 ms with this). A passive checkpoint on
/// another connection runs while the writer goes on appending, and waits for no reader.
/// Stops when the pool closes (closing then checkpoints what is left).
async fn checkpoints(pool: sqlx::SqlitePool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            Ok(_) => {}
            Err(_) if pool.is_closed() => return,
            // Another process's checkpoint in progress, a moment's lock: the next turn will do.
            Err(e) => tracing::debug!(error = %e, "a write-ahead log checkpoint did not run"),
        }
    }
}

/// Turns on SQLite's query planner stability guarantee for the connection. SQLite is
/// built with STAT4 (libsqlite3-sys's bundled build), and once `ANALYZE` has written
/// samples, a statement whose plan could depend on a bound value is compiled again on the
/// first step after each new binding: profiled on the landing page after an `ANALYZE`,
/// that recompiling was a third of the server's CPU. With the guarantee, a prepared
/// statement keeps the plan it was prepared with, as sqlx's statement cache intends.
async fn stable_plans(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK, sqlite3_db_config};
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked out of sqlx's worker thread for this call, and the
    // arguments are those the option documents (an int to set, and a nullable int* for
    // the setting read back): https://www.sqlite.org/c3ref/c_dbconfig_defensive.html
    let rc = unsafe { sqlite3_db_config(handle.as_raw_handle().as_ptr(), SQLITE_DBCONFIG_ENABLE_QPSG, 1, std::ptr::null_mut::<std::ffi::c_int>()) };
    if rc != SQLITE_OK {
        return Err(sqlx::Error::Configuration(format!("SQLite refused the query planner stability guarantee (code {rc})").into()));
    }
    Ok(())
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// The text for this database when the two must differ.
    pub fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }
}

/// A `SELECT` that locks the rows it reads until commit. PostgreSQL needs `FOR UPDATE`;
/// SQLite has no row locks and needs none: a write transaction (`BEGIN IMMEDIATE`)
/// already holds the whole database.
macro_rules! locking {
    ($dialect:expr, $select:expr) => {
        $dialect.pick($select, concat!($select, " FOR UPDATE"))
    };
}
pub(super) use locking;

/// A `SELECT` of work to do that locks what it reads and skips rows another process has
/// locked (PostgreSQL `FOR UPDATE SKIP LOCKED`), so several schedulers share the work
/// instead of queueing; SQLite's write transaction already excludes the others.
macro_rules! skipping_locked {
    ($dialect:expr, $select:expr) => {
        $dialect.pick($select, concat!($select, " FOR UPDATE SKIP LOCKED"))
    };
}
pub(super) use skipping_locked;

/// The sizes of the statements a group of visits is written with: a group of 37 goes as
/// 32, 4 and 1. Each size is one prepared statement, so a handful of texts cover every
/// group instead of one text (and one cached plan) per group size.
pub const VISIT_BATCHES: [usize; 9] = [256, 128, 64, 32, 16, 8, 4, 2, 1];

/// The values each visit binds in [`record_visits_sql`], in order.
pub const VISIT_COLUMNS: usize = 14;

/// Records `rows` landing-page visits in one statement (one round trip for a group on the
/// `/r/CODE` hot path): the touches, whether each is unique, and the referrals' counters
/// for those that are. Each visit binds [`VISIT_COLUMNS`] values: id, referral, referrer,
/// channel, time, visitor key, IP hash, user agent, referer, the three UTM tags, the start
/// of its unique window, and whether it is the first of its visitor's visits to that
/// referral in this group (the statement's own inserts are not visible to its `NOT
/// EXISTS`, so repeats within a group are told apart here). PostgreSQL bumps the counters
/// in a data-modifying CTE, a referral at a time; SQLite has none, so its
/// `touches_count_unique_visit` trigger does the same. Both return each touch's
/// `id, is_unique`. `rows` is one of [`VISIT_BATCHES`].
pub fn record_visits_sql(dialect: Dialect, rows: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<(Dialect, usize, String)>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        [Dialect::Sqlite, Dialect::Postgres]
            .into_iter()
            .flat_map(|d| VISIT_BATCHES.into_iter().map(move |n| (d, n, visits_text(d, n))))
            .collect()
    });
    let (_, _, text) = texts.iter().find(|(d, n, _)| *d == dialect && *n == rows).expect("a group is written in VISIT_BATCHES sizes");
    text
}

fn visits_text(dialect: Dialect, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let first = r * VISIT_COLUMNS + 1;
            let params: Vec<String> = (first..first + VISIT_COLUMNS).map(|i| format!("${i}")).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let with = format!(
        "WITH v (id, referral_id, referrer_id, channel, occurred_at, visitor_key, ip_hash, user_agent, referer,
                 utm_source, utm_medium, utm_campaign, unique_since, first_in_group) AS (VALUES {})",
        values.join(", ")
    );
    let insert = "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, ip_hash,
            user_agent, referer, utm_source, utm_medium, utm_campaign)
         SELECT v.id, v.referral_id, v.referrer_id, v.channel, v.occurred_at,
            v.first_in_group AND NOT EXISTS (SELECT 1 FROM touches t
                WHERE t.referral_id = v.referral_id AND t.visitor_key = v.visitor_key AND t.occurred_at > v.unique_since),
            v.visitor_key, v.ip_hash, v.user_agent, v.referer, v.utm_source, v.utm_medium, v.utm_campaign
         FROM v";
    match dialect {
        Dialect::Sqlite => format!("{with} {insert} RETURNING id, is_unique"),
        Dialect::Postgres => format!(
            "{with}, inserted AS ({insert} RETURNING id, referral_id, is_unique, channel, occurred_at),
             counted AS (
                UPDATE referrals r
                SET unique_visits = r.unique_visits + c.visits,
                    qr_scans = r.qr_scans + c.scans,
                    clicked_at = COALESCE(r.clicked_at, c.first_at)
                FROM (SELECT referral_id, count(*) AS visits, count(*) FILTER (WHERE channel = 'qr') AS scans,
                             min(occurred_at) AS first_at
                      FROM inserted WHERE is_unique GROUP BY referral_id) c
                WHERE r.id = c.referral_id
             )
             SELECT id, is_unique FROM inserted"
        ),
    }
}

/// Takes what a group of visits needs before it writes, in one statement (PostgreSQL
/// only: SQLite's write transaction already excludes every other writer):
/// - the visitors' locks (see `visits::visitor_lock`) until the transaction ends, in
///   ascending order, so transactions locking overlapping sets wait for each other
///   instead of deadlocking. They are two-key locks under their own first key (22089,
///   "VI"), a space apart from `lock_account`'s one-key locks;
/// - then the referrals' rows, in id order (`NO KEY`, as the counters' update takes), so
///   the group's one update of several referrals cannot deadlock with another process's
///   group or a sign-up's stamp ([`lock_referrals_in_order`]).
///
/// The visitors' locks are a one-time filter of the referrals' scan (an init plan that
/// does not depend on the rows), so they are taken first even when no referral matches.
pub async fn lock_visits(tx: &mut Tx, visitor_keys: impl Iterator<Item = i32>, referrals: impl Iterator<Item = Uuid>) -> StoreResult<()> {
    if tx.dialect() == Dialect::Postgres {
        let keys = visitor_keys.map(|k| k.to_string()).collect::<Vec<_>>().join(",");
        let referrals = referrals.map(|r| r.to_string()).collect::<Vec<_>>().join(",");
        // A volatile function in the select list runs after the ORDER BY's sort.
        tx.fetch_all(
            "WITH visitors AS (
                SELECT pg_advisory_xact_lock(22089, k) FROM unnest(string_to_array($1, ',')::int[]) AS k ORDER BY k
             )
             SELECT id FROM referrals
             WHERE (SELECT count(*) FROM visitors) >= 0 AND id = ANY(string_to_array($2, ',')::uuid[])
             ORDER BY id FOR NO KEY UPDATE",
            &args![keys.as_str(), referrals.as_str()],
        )
        .await?;
    }
    Ok(())
}

/// Whose referrals [`lock_referrals_in_order`] locks.
pub enum ReferralsOf<'a> {
    /// Every referral a platform user touched.
    User(&'a str),
    /// Every referral a referrer made.
    Referrer(Uuid),
}

/// Locks referrals' rows in id order before a statement updates all of them: an `UPDATE …
/// WHERE id IN (…)` locks rows in whatever order it scans them, while a group of
/// landing-page visits locks its referrals in id order, so the two could deadlock.
/// PostgreSQL only: SQLite's write transaction already holds the whole database. (`NO KEY`,
/// as the update takes: a visit's foreign-key check on the row may go on.)
pub async fn lock_referrals_in_order(tx: &mut Tx, of: ReferralsOf<'_>) -> StoreResult<()> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    match of {
        ReferralsOf::User(user_id) => {
            tx.fetch_all(
                "SELECT id FROM referrals WHERE id IN (SELECT referral_id FROM touches WHERE platform_user_id = $1) ORDER BY id FOR NO KEY UPDATE",
                &args![user_id],
            )
            .await?
        }
        ReferralsOf::Referrer(referrer_id) => {
            tx.fetch_all("SELECT id FROM referrals WHERE referrer_id = $1 ORDER BY id FOR NO KEY UPDATE", &args![referrer_id]).await?
        }
    };
    Ok(())
}

/// Serialises writers of one account's per-account rows that may not exist yet (so no
/// row can be locked), until the transaction ends. SQLite's write transaction already
/// excludes every other writer; PostgreSQL takes a transaction-scoped advisory lock.
pub async fn lock_account(tx: &mut Tx, account_id: Uuid) -> StoreResult<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1::text))", &args![account_id]).await?;
    }
    Ok(())
}
