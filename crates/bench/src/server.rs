//! What every load measurement shares: the server under test as a process of its own,
//! and the seeded database's real codes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bouquet_server::testing::TestDb;

/// Gives seeded referrals (placeholder codes) real codes to visit or type: `(id, code)`.
pub async fn set_codes(url: &str, codes: &[(String, String)]) -> Result<(), String> {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?;
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        for (referral, code) in codes {
            sqlx::query("UPDATE referrals SET code = ? WHERE id = ?").bind(code).bind(referral).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.map_err(|e| e.to_string())?;
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        for (referral, code) in codes {
            sqlx::query("UPDATE referrals SET code = $1 WHERE id = $2::uuid").bind(code).bind(referral).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        pool.close().await;
    }
    Ok(())
}

/// A server process that prints `... listening on http://ADDR` first.
pub struct Process {
    child: Child,
    pub url: String,
}

impl Process {
    pub fn start(command: &mut Command) -> Result<Self, String> {
        let mut child = command.stdout(Stdio::piped()).spawn().map_err(|e| format!("starting {command:?}: {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).map_err(|e| e.to_string())?;
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            return Err(format!("{command:?} did not start: {line}"));
        }
        Ok(Self { child, url })
    }

    /// SIGTERM, then waits: a graceful stop, as an operator's restart.
    pub fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}


/// A fresh database of the backend (`sqlite`, or `postgres` beside
/// BOUQUET_TEST_DATABASE_URL's); `None` when PostgreSQL is not configured.
pub async fn fresh_db(backend: &str) -> Result<Option<TestDb>, String> {
    match backend {
        "sqlite" => Ok(Some(TestDb::sqlite())),
        "postgres" => Ok(TestDb::postgres().await),
        other => Err(format!("no backend '{other}': sqlite or postgres")),
    }
}

/// The release server on `url`, its logs at their default level in `log` (as a
/// deployment's would go to its journal).
pub fn start_server(server: &Path, url: &str, log: &Path) -> Result<Process, String> {
    let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    Process::start(
        Command::new(server)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
            .stderr(log)
            .env("BOUQUET_SEED_CALENDAR", "false")
            // One address sends everything here; the limits are for the internet.
            .env("BOUQUET_RATE_LIMITS", "landing=1000000000/1000000,events=1000000000/1000000"),
    )
}

/// Appends one figure to a results file of JSON lines.
pub fn append_line(path: &Path, figure: &impl serde::Serialize) -> Result<(), String> {
    use std::io::Write;
    let mut line = serde_json::to_string(figure).map_err(|e| e.to_string())?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// A plain connection pool of either database, for what the bench itself reads and
/// writes around a measurement (not through the server's store).
pub enum AnyPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl AnyPool {
    pub async fn connect(url: &str) -> Result<Self, String> {
        Ok(if url.starts_with("sqlite") {
            AnyPool::Sqlite(sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?)
        } else {
            AnyPool::Postgres(sqlx::postgres::PgPoolOptions::new().max_connections(32).connect(url).await.map_err(|e| e.to_string())?)
        })
    }

    pub async fn close(&self) {
        match self {
            AnyPool::Sqlite(p) => p.close().await,
            AnyPool::Postgres(p) => p.close().await,
        }
    }

    pub async fn exec(&self, sql: &'static str) -> Result<(), String> {
        match self {
            AnyPool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
            AnyPool::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
        .map_err(|e| format!("{sql}: {e}"))
    }

    /// The schema's own tables (not the migrations' bookkeeping).
    pub async fn tables(&self) -> Result<Vec<String>, String> {
        match self {
            AnyPool::Sqlite(p) => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
            )
            .fetch_all(p)
            .await,
            AnyPool::Postgres(p) => sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                 AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
            )
            .fetch_all(p)
            .await,
        }
        .map_err(|e| e.to_string())
    }

    pub async fn count(&self, table: &str) -> Result<i64, String> {
        // Table names come from the catalogue, not from input.
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        match self {
            AnyPool::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await,
            AnyPool::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await,
        }
        .map_err(|e| e.to_string())
    }

    /// One transaction of `rows` plain rows into `bench_raw`.
    pub async fn insert_rows(&self, writer: u32, n: u64, rows: usize) -> Result<(), String> {
        const BODY: &str = "{\"type\":\"convert\",\"plan\":\"professional\",\"value\":{\"amount_minor\":4900,\"currency\":\"GBP\"},\"user\":{\"id\":\"bench-1\"}}";
        let at = chrono::Utc::now().to_rfc3339();
        macro_rules! insert {
            ($pool:expr, $sql:expr) => {{
                let mut tx = $pool.begin().await.map_err(|e| e.to_string())?;
                for r in 0..rows {
                    sqlx::query($sql)
                        .bind(format!("{writer}-{n}-{r}"))
                        .bind(format!("bench-{n}"))
                        .bind(&at)
                        .bind(BODY)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())
            }};
        }
        match self {
            AnyPool::Sqlite(p) => insert!(p, "INSERT INTO bench_raw (id, owner, at, body) VALUES (?, ?, ?, ?)"),
            AnyPool::Postgres(p) => insert!(p, "INSERT INTO bench_raw (id, owner, at, body) VALUES ($1, $2, $3, $4)"),
        }
    }
}
