//! How the store speaks to either database: one small layer that runs a statement with
//! its arguments and hands back rows, so every store operation is written once.
//!
//! Both databases take `$N` parameters, `ON CONFLICT`, `RETURNING` and CTEs, so one SQL
//! text serves both. What differs is how values are *encoded*: PostgreSQL has native
//! `uuid`, `timestamptz`, `date` and `boolean`; SQLite keeps uuids and times as text (see
//! `time`). An [`Arg`] names the kind of value, and [`bind_sqlite`]/[`bind_postgres`] encode
//! it — the only place that knows the difference. Rows come back as a [`Row`] whose
//! [`Columns`] accessors decode the same way in reverse. The statements whose *text* must
//! differ live in `dialect`.
//!
//! Why not sqlx's `Any` driver: it carries only integers, floats, text and blobs, so
//! PostgreSQL would have to store uuids and times as text too, giving up its native types
//! (and a schema change for deployments). Why not code generic over `sqlx::Database`: the
//! trait bounds for executors and encoders leak into every function for no gain over an
//! enum with two arms.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{PgConnection, PgPool, Postgres, Row as _, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use std::sync::Arc;

use super::rows::Columns;
use super::time::{date_from_text, opt_from_text, to_text};
use super::{StoreError, StoreResult};

/// Which database is behind a [`Pool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One statement argument, by kind: the kind decides how each database encodes it.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Uuid(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
}

/// The arguments of one statement, in `$1, $2, …` order: `args![id, &name, at]`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        [$($crate::store::db::Arg::from($arg)),*]
    };
}
pub(super) use args;

macro_rules! arg_from {
    ($($ty:ty => $variant:ident($conv:expr)),* $(,)?) => {
        $(
            impl<'a> From<$ty> for Arg<'a> {
                fn from(v: $ty) -> Self {
                    #[allow(clippy::redundant_closure_call)]
                    Arg::$variant(($conv)(v))
                }
            }
        )*
    };
}

arg_from! {
    &'a str => Text(Some),
    &'a String => Text(|s: &'a String| Some(s.as_str())),
    Option<&'a str> => Text(|s| s),
    &'a Option<String> => Text(|s: &'a Option<String>| s.as_deref()),
    i64 => Int(Some),
    Option<i64> => Int(|v| v),
    bool => Bool(Some),
    Uuid => Uuid(Some),
    Option<Uuid> => Uuid(|v| v),
    DateTime<Utc> => Time(Some),
    Option<DateTime<Utc>> => Time(|v| v),
    NaiveDate => Date(Some),
    Option<NaiveDate> => Date(|v| v),
}

/// SQLite: uuids and times as text (times in the fixed format whose string order is time
/// order), dates as `YYYY-MM-DD`, booleans as 0/1.
fn bind_sqlite<'q>(sql: &'static str, args: &[Arg<'_>]) -> Query<'q, Sqlite, SqliteArguments> {
    args.iter().fold(sqlx::query(sql), |q, arg| match *arg {
        Arg::Text(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::Bool(v) => q.bind(v),
        Arg::Uuid(v) => q.bind(v.map(|u| u.to_string())),
        Arg::Time(v) => q.bind(v.map(to_text)),
        Arg::Date(v) => q.bind(v),
    })
}

/// PostgreSQL: every kind in its native type.
fn bind_postgres<'q>(sql: &'static str, args: &[Arg<'_>]) -> Query<'q, Postgres, PgArguments> {
    args.iter().fold(sqlx::query(sql), |q, arg| match *arg {
        Arg::Text(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::Bool(v) => q.bind(v),
        Arg::Uuid(v) => q.bind(v),
        Arg::Time(v) => q.bind(v),
        Arg::Date(v) => q.bind(v),
    })
}

/// A connection pool of either database.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// A write transaction; dropped without [`Tx::commit`] it rolls back. On SQLite a writer
/// holds this process's [`WriteGate`] until it ends.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, Option<OwnedSemaphorePermit>),
    Postgres(Transaction<'static, Postgres>),
}

/// SQLite has one writer at a time. Writers that find the database locked wait in SQLite's
/// busy handler, which sleeps 1, 2, 5, 10… up to 100 ms between tries, however soon the
/// lock is free: under a burst most of a write's time was spent asleep. This process's
/// writers queue here instead, in order, and each starts the moment the one before it
/// ends. The busy handler still guards against other processes on the same file (the
/// CLI, a backup). A writer that has waited the busy timeout goes on without the gate,
/// so a bug that writes while holding a write transaction fails as before (locked)
/// rather than hanging.
///
/// Writers through the gate all write on one connection of their own. A SQLite connection
/// drops its whole page cache when it begins a transaction and finds that another
/// connection has written since its last one; writes taking turns over the pool's eight
/// connections therefore each began cold, reading back from the file the pages the write
/// before had just changed (profiled under the landing page's burst: the cache's resets
/// and the kernel's copies were most of the writer's time). The one write connection only
/// ever follows itself.
#[derive(Clone)]
pub struct WriteGate {
    permits: Arc<Semaphore>,
    patience: std::time::Duration,
    writer: SqlitePool,
}

impl WriteGate {
    /// `writer` is a pool of one connection to the same file.
    pub fn new(patience: std::time::Duration, writer: SqlitePool) -> Self {
        Self { permits: Arc::new(Semaphore::new(1)), patience, writer }
    }

    /// Waits for this process's turn to write; `None` when the wait ran out of patience.
    async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.patience, self.permits.clone().acquire_owned()).await.ok().and_then(Result::ok)
    }

    /// Where a writer writes: the write connection in its turn, else (out of patience)
    /// any of the pool's connections, to meet SQLite's own lock as before the gate.
    fn connections<'p>(&'p self, turn: &Option<OwnedSemaphorePermit>, pool: &'p SqlitePool) -> &'p SqlitePool {
        if turn.is_some() { &self.writer } else { pool }
    }
}

/// A result row of either database.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// Where a statement runs: the pool (a connection of its own) or an open transaction.
enum Target<'c> {
    SqlitePool(&'c SqlitePool, &'c WriteGate),
    SqliteConn(&'c mut SqliteConnection),
    PostgresPool(&'c PgPool),
    PostgresConn(&'c mut PgConnection),
}

/// Runs one statement on a [`Target`]: the four arms differ only in the executor, and
/// rows are wrapped into [`Row`] by `From`.
macro_rules! run {
    ($target:expr, $sql:expr, $args:expr, |$q:ident, $exec:ident| $body:expr) => {
        match $target {
            Target::SqlitePool($exec, _) => { let $q = bind_sqlite($sql, $args); $body }
            Target::SqliteConn($exec) => { let $q = bind_sqlite($sql, $args); $body }
            Target::PostgresPool($exec) => { let $q = bind_postgres($sql, $args); $body }
            Target::PostgresConn($exec) => { let $q = bind_postgres($sql, $args); $body }
        }
    };
}

impl Row {
    /// Every column as JSON, named as the statement names it — for exports, where a
    /// table's own columns are the document. Times come out as both databases' shared text
    /// form; SQLite's booleans as 0/1.
    pub fn to_json(&self) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
        use serde_json::Value;
        use sqlx::{Column, TypeInfo, ValueRef};
        let mut map = serde_json::Map::new();
        match self {
            Row::Sqlite(row) => {
                for (i, column) in row.columns().iter().enumerate() {
                    let raw = row.try_get_raw(i)?;
                    let value = if raw.is_null() {
                        Value::Null
                    } else {
                        match raw.type_info().name() {
                            "INTEGER" => Value::from(row.try_get::<i64, _>(i)?),
                            "REAL" => Value::from(row.try_get::<f64, _>(i)?),
                            "BLOB" => Value::from(hex::encode(row.try_get::<Vec<u8>, _>(i)?)),
                            _ => Value::from(row.try_get::<String, _>(i)?),
                        }
                    };
                    map.insert(column.name().to_string(), value);
                }
            }
            Row::Postgres(row) => {
                for (i, column) in row.columns().iter().enumerate() {
                    if row.try_get_raw(i)?.is_null() {
                        map.insert(column.name().to_string(), Value::Null);
                        continue;
                    }
                    let value = match column.type_info().name() {
                        "UUID" => Value::from(row.try_get::<Uuid, _>(i)?.to_string()),
                        "TIMESTAMPTZ" => Value::from(to_text(row.try_get::<DateTime<Utc>, _>(i)?)),
                        "DATE" => Value::from(row.try_get::<NaiveDate, _>(i)?.to_string()),
                        "INT8" => Value::from(row.try_get::<i64, _>(i)?),
                        "INT4" => Value::from(row.try_get::<i32, _>(i)?),
                        "INT2" => Value::from(row.try_get::<i16, _>(i)?),
                        "BOOL" => Value::from(row.try_get::<bool, _>(i)?),
                        "FLOAT8" => Value::from(row.try_get::<f64, _>(i)?),
                        "BYTEA" => Value::from(hex::encode(row.try_get::<Vec<u8>, _>(i)?)),
                        _ => Value::from(row.try_get::<String, _>(i)?),
                    };
                    map.insert(column.name().to_string(), value);
                }
            }
        }
        Ok(map)
    }
}

impl From<SqliteRow> for Row {
    fn from(row: SqliteRow) -> Self {
        Row::Sqlite(row)
    }
}

impl From<PgRow> for Row {
    fn from(row: PgRow) -> Self {
        Row::Postgres(row)
    }
}

impl Target<'_> {
    /// A statement run alone on SQLite's pool writes (reads are fetched), so it queues
    /// at the gate like a write transaction.
    async fn execute(self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
        if let Target::SqlitePool(pool, gate) = self {
            let turn = gate.enter().await;
            return Ok(bind_sqlite(sql, args).execute(gate.connections(&turn, pool)).await?.rows_affected());
        }
        Ok(run!(self, sql, args, |q, e| q.execute(e).await?.rows_affected()))
    }

    async fn fetch_optional(self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<Row>> {
        Ok(run!(self, sql, args, |q, e| q.fetch_optional(e).await?.map(Row::from)))
    }

    async fn fetch_all(self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
        Ok(run!(self, sql, args, |q, e| q.fetch_all(e).await?.into_iter().map(Row::from).collect()))
    }
}

/// The statements that both a pool (`&self`: it is shared) and a transaction
/// (`&mut self`) run, written once.
macro_rules! statements {
    ($receiver:ty) => {
        /// Runs a statement, returning how many rows it changed.
        pub async fn execute(self: $receiver, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
            self.target().execute(sql, args).await
        }

        pub async fn fetch_optional(self: $receiver, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<Row>> {
            self.target().fetch_optional(sql, args).await
        }

        /// The one row a statement must return (none is a database error).
        pub async fn fetch_one(self: $receiver, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Row> {
            self.target().fetch_optional(sql, args).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
        }

        pub async fn fetch_all(self: $receiver, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
            self.target().fetch_all(sql, args).await
        }
    };
}

impl Pool {
    statements!(&Self);

    /// Waits for every connection to finish and closes them (SQLite then checkpoints its
    /// write-ahead log into the file).
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool, gate) => {
                gate.writer.close().await;
                pool.close().await
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    fn target(&self) -> Target<'_> {
        match self {
            Pool::Sqlite(p, gate) => Target::SqlitePool(p, gate),
            Pool::Postgres(p) => Target::PostgresPool(p),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(..) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A transaction that will write. On SQLite it takes the database's write lock at
    /// `BEGIN` (`BEGIN IMMEDIATE`), so two writers queue on the lock instead of one
    /// failing half-way after reading; PostgreSQL locks rows as it goes.
    pub async fn begin_write(&self) -> StoreResult<Tx> {
        Ok(match self {
            Pool::Sqlite(p, gate) => {
                let turn = gate.enter().await;
                Tx::Sqlite(gate.connections(&turn, p).begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A write transaction whose waits for a lock give up after two seconds on
    /// PostgreSQL (`lock_timeout`, set with the `BEGIN`: no round trip of its own), for a
    /// writer many requests wait behind, which must fail fast rather than stall them
    /// all. SQLite's writers already queue in the process, with their own patience.
    pub async fn begin_write_impatient(&self) -> StoreResult<Tx> {
        match self {
            Pool::Sqlite(..) => self.begin_write().await,
            Pool::Postgres(p) => Ok(Tx::Postgres(p.begin_with("BEGIN; SET LOCAL lock_timeout = '2s'").await?)),
        }
    }

    /// A transaction that only reads, from one snapshot, so a figure read in several
    /// statements sees one state of the database. SQLite (in WAL mode) keeps the snapshot
    /// of a deferred transaction's first read; PostgreSQL's `REPEATABLE READ` keeps the
    /// snapshot of its first statement.
    pub async fn begin_read(&self) -> StoreResult<Tx> {
        Ok(match self {
            Pool::Sqlite(p, _) => Tx::Sqlite(p.begin_with("BEGIN DEFERRED").await?, None),
            Pool::Postgres(p) => Tx::Postgres(p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?),
        })
    }
}

impl Tx {
    statements!(&mut Self);

    fn target(&mut self) -> Target<'_> {
        match self {
            Tx::Sqlite(t, _) => Target::SqliteConn(&mut **t),
            Tx::Postgres(t) => Target::PostgresConn(&mut **t),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(..) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Ends the transaction now, releasing its locks before the caller answers: a dropped
    /// transaction is rolled back only when its connection is next used, and until then
    /// its row locks make `SKIP LOCKED` readers (the scheduler) pass the rows by.
    pub async fn rollback(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// A unique constraint's "no" becomes [`StoreError::Conflict`] naming `what` exists.
pub fn unique_violation(err: StoreError, what: &'static str) -> StoreError {
    match &err {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => err,
    }
}

/// Decoding: the reverse of [`bind_sqlite`]/[`bind_postgres`].
impl Columns for Row {
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        match self {
            Row::Sqlite(r) => r
                .try_get::<Option<String>, _>(col)?
                .map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}"))))
                .transpose(),
            Row::Postgres(r) => Ok(r.try_get(col)?),
        }
    }
    fn opt_time(&self, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
        match self {
            Row::Sqlite(r) => opt_from_text(r.try_get(col)?),
            Row::Postgres(r) => Ok(r.try_get(col)?),
        }
    }
    fn opt_date(&self, col: &str) -> StoreResult<Option<NaiveDate>> {
        match self {
            Row::Sqlite(r) => date_from_text(r.try_get(col)?),
            Row::Postgres(r) => Ok(r.try_get(col)?),
        }
    }
}
