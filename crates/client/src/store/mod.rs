//! The local SQLite database: one file in the app's data folder, WAL mode, migrated from
//! `migrations/client/` at open. Every write that must reach the server appends to the
//! outbox in the same transaction (see `outbox`).

pub mod codes;
pub mod contacts;
pub mod csv_io;
pub mod dashboard;
pub mod fairs;
pub mod invitations;
pub mod leads;
pub mod notifications;
pub mod outbox;
pub mod profile;
pub mod refused;
pub mod session;
pub mod syncing;
pub mod uploads;
pub(crate) mod tracking;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::ClientError;

pub type Result<T> = std::result::Result<T, ClientError>;

/// The file inside the data folder.
pub const DATABASE_FILE: &str = "bouquet.db";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../../../migrations/client/0001_init.sql")),
        M::up(include_str!("../../../../migrations/client/0002_sync.sql")),
        M::up(include_str!("../../../../migrations/client/0003_code_campaign.sql")),
        M::up(include_str!("../../../../migrations/client/0004_profile.sql")),
        M::up(include_str!("../../../../migrations/client/0005_notifications.sql")),
        M::up(include_str!("../../../../migrations/client/0006_supplier_invitations.sql")),
        M::up(include_str!("../../../../migrations/client/0007_refused_changes.sql")),
        M::up(include_str!("../../../../migrations/client/0008_outbox_numbers.sql")),
    ])
}

/// The data folder: `BOUQUET_DATA_DIR`, else the platform's app-data folder
/// (e.g. `~/.local/share/bouquet` on Linux).
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("BOUQUET_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("bouquet"))
}

pub struct LocalStore {
    conn: Mutex<Connection>,
    dir: PathBuf,
    /// How many times this store forgot everything (a deleted account): work that read
    /// data before a forget and writes after it checks this, under the connection's lock.
    forgets: AtomicU64,
}

impl LocalStore {
    /// Opens (creating if needed) the database in `dir` and migrates it.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        Self::open_file(dir).map_err(|e| unusable(dir, e))
    }

    fn open_file(dir: &Path) -> Result<Self> {
        let mut conn = Connection::open(dir.join(DATABASE_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The CLI and the app may have the same file open; wait rather than fail. Write
        // transactions take the write lock when they begin: a deferred one that reads
        // first and then writes fails at once with "database is locked" if another
        // process wrote in between, and no timeout helps it.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // Pulls write each kind of record with a few shapes of statement; keep them all.
        conn.set_prepared_statement_cache_capacity(64);
        migrations().to_latest(&mut conn)?;
        conn.execute_batch("CREATE TEMP TABLE clock_skew (ms INTEGER NOT NULL)")?;
        Ok(Self { conn: Mutex::new(conn), dir: dir.to_path_buf(), forgets: AtomicU64::new(0) })
    }

    /// Makes this store's wall clock run `skew` ahead (negative: behind) of the system's,
    /// as on a device whose clock is wrong. For tests and demonstrations of sync.
    pub fn set_clock_skew(&self, skew: chrono::Duration) -> Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM temp.clock_skew", [])?;
        conn.execute("INSERT INTO temp.clock_skew (ms) VALUES (?1)", [skew.num_milliseconds()])?;
        Ok(())
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn forgets(&self) -> u64 {
        self.forgets.load(Ordering::SeqCst)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written row (SQLite rolls
        // the transaction back), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Names the file in a data problem's message, so the person knows which one it is.
fn unusable(dir: &Path, error: ClientError) -> ClientError {
    match error {
        ClientError::Unusable { problem, message } => {
            ClientError::Unusable { problem, message: format!("{message}: {}", dir.join(DATABASE_FILE).display()) }
        }
        other => other,
    }
}

/// Moves an unusable data file aside (kept as `bouquet.db.unreadable-<time>` when `keep`)
/// so a fresh one can be made; returns where the copy went.
pub fn set_aside_data(dir: &Path, keep: bool) -> Result<Option<PathBuf>> {
    let path = dir.join(DATABASE_FILE);
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let copy = dir.join(format!("{DATABASE_FILE}.unreadable-{stamp}"));
    let mut kept = None;
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if !from.exists() {
            continue;
        }
        if keep {
            let to = PathBuf::from(format!("{}{suffix}", copy.display()));
            std::fs::rename(&from, &to)?;
            if suffix.is_empty() {
                kept = Some(to);
            }
        } else {
            std::fs::remove_file(&from)?;
        }
    }
    Ok(kept)
}

pub(crate) fn now_text() -> String {
    time_text(Utc::now())
}

pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}


/// Trims; `None` when blank; an error past `max` characters.
pub(crate) fn clean(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max {
        return Err(ClientError::Invalid(format!("{field} is longer than {max} characters")));
    }
    Ok(Some(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn reopening_keeps_data_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(LocalStore::open(dir.path()).unwrap());
        let store = LocalStore::open(dir.path()).unwrap();
        let version: i64 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 8);
    }
}
