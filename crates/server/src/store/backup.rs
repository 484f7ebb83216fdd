//! Backups of the SQLite backend (docs/operations.md). PostgreSQL has `pg_dump`.
//!
//! - A backup is `VACUUM INTO`: one read transaction copies one consistent snapshot into
//!   a new, compact file while the servers keep serving (WAL lets their writes go on).
//! - A restore swaps a checked copy of the backup in for the database file. It needs every
//!   server on that file stopped — each holds a shared lock on `<file>.lock` while it
//!   serves, and the restore takes it exclusively — and it starts a new sync epoch, so
//!   every device pulls from the start and sends again what the backup does not hold.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use super::{StoreError, StoreResult};

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Held by a serving process: a restore waits for every holder to stop.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

/// The database file a `sqlite://` URL (or a bare path) names; `None` for PostgreSQL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    Some(PathBuf::from(path))
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The lock file beside the database, opened (made if missing) for locking.
fn open_lock_file(db: &Path) -> StoreResult<File> {
    let path = lock_path(db);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| operation(format!("cannot open {}: {e}", path.display())))
}

fn operation(message: impl Into<String>) -> StoreError {
    StoreError::Operation(message.into())
}

/// Marks the SQLite database `url` as served by this process until the lock is dropped;
/// nothing for PostgreSQL (it is restored with its own tools, servers stopped).
pub fn hold_serving_lock(url: &str) -> StoreResult<Option<ServingLock>> {
    let Some(db) = sqlite_path(url) else { return Ok(None) };
    let file = open_lock_file(&db)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(ServingLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(operation(format!("{} is being restored from a backup; start the server when the restore has finished", db.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(operation(format!("cannot lock {}: {e}", lock_path(&db).display()))),
    }
}

/// Writes a consistent copy of the SQLite database `url` to `dest`, which must not exist,
/// while servers go on using the database.
pub async fn backup(url: &str, dest: &Path) -> StoreResult<BackupSummary> {
    let Some(db) = sqlite_path(url) else {
        return Err(operation(
            "backup and restore are for the SQLite backend; back up PostgreSQL with pg_dump (docs/operations.md)",
        ));
    };
    if !db.exists() {
        return Err(operation(format!("there is no database at {}", db.display())));
    }
    if dest.exists() {
        return Err(operation(format!("{} already exists; a backup never overwrites a file", dest.display())));
    }
    let dest_text = dest.to_str().ok_or_else(|| operation(format!("{} is not a UTF-8 path", dest.display())))?;
    let mut conn = open_existing(&db, false).await?;
    // VACUUM INTO takes its file name as a value, so a path with quotes is no injection.
    sqlx::query("VACUUM INTO ?").bind(dest_text).execute(&mut conn).await?;
    conn.close().await?;
    check(dest).await?;
    let bytes = std::fs::metadata(dest).map_err(|e| operation(format!("cannot read {}: {e}", dest.display())))?.len();
    Ok(BackupSummary { path: dest.to_path_buf(), bytes })
}

/// Replaces the SQLite database `url` with the backup at `source`, brings it to this
/// version's schema and starts a new sync epoch; refuses while any server serves it.
/// Returns the new epoch.
pub async fn restore(url: &str, source: &Path) -> StoreResult<String> {
    let Some(db) = sqlite_path(url) else {
        return Err(operation("restore is for the SQLite backend; restore PostgreSQL with psql or pg_restore (docs/operations.md)"));
    };
    if !source.is_file() {
        return Err(operation(format!("there is no backup at {}", source.display())));
    }
    check(source).await.map_err(|e| operation(format!("{} is not a usable Bouquet backup: {e}", source.display())))?;

    let lock = open_lock_file(&db)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(operation(format!("a server is using {}; stop every server on it, then restore", db.display())));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(operation(format!("cannot lock {}: {e}", lock_path(&db).display()))),
    }

    // The copy is prepared beside the database (same file system, so the swap is one
    // rename) and made whole before it replaces anything: a failure leaves the old file.
    let staging = sibling(&db, ".restoring");
    remove_database_files(&staging)?;
    std::fs::copy(source, &staging).map_err(|e| operation(format!("cannot copy {} to {}: {e}", source.display(), staging.display())))?;
    let epoch = uuid::Uuid::now_v7().simple().to_string();
    {
        let store = super::SqlStore::open(&format!("sqlite://{}", staging.display())).await?;
        use super::Store;
        store.replace_shared_secret(crate::http::SYNC_EPOCH, &epoch).await?;
        store.close().await;
    }
    // The staged copy is checkpointed and closed: its -wal and -shm are gone. The old
    // database and its log are moved aside whole (kept as `<db>.pre-restore-<time>`, and
    // put back if the swap fails), so SQLite never replays an old log onto the restored
    // file and nothing committed is ever deleted.
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let aside = sibling(&db, &format!(".pre-restore-{stamp}"));
    let pairs: Vec<(PathBuf, PathBuf)> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| (sibling(&db, suffix), sibling(&aside, suffix)))
        .filter(|(from, _)| from.exists())
        .collect();
    let mut moved = Vec::new();
    for (from, to) in &pairs {
        if let Err(e) = std::fs::rename(from, to) {
            for (from, to) in moved.iter().rev() {
                let _ = std::fs::rename(to, from);
            }
            let _ = remove_database_files(&staging);
            return Err(operation(format!("cannot move {} aside: {e}; nothing was changed", from.display())));
        }
        moved.push((from.clone(), to.clone()));
    }
    if let Err(e) = std::fs::rename(&staging, &db) {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
        let _ = remove_database_files(&staging);
        return Err(operation(format!("cannot move the restored copy into place at {}: {e}; the database was put back", db.display())));
    }
    drop(lock);
    Ok(epoch)
}

/// Opens an existing database file without creating or migrating anything.
async fn open_existing(path: &Path, read_only: bool) -> StoreResult<sqlx::SqliteConnection> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(10));
    Ok(sqlx::SqliteConnection::connect_with(&options).await?)
}

/// A Bouquet database whose pages are all sound.
async fn check(path: &Path) -> StoreResult<()> {
    let mut conn = open_existing(path, true).await?;
    let verdict: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut conn).await?.try_get(0)?;
    if verdict != "ok" {
        return Err(operation(format!("the integrity check failed: {verdict}")));
    }
    let tables: i64 = sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', '_sqlx_migrations')")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    conn.close().await?;
    if tables != 2 {
        return Err(operation("it is an SQLite file but not a Bouquet database"));
    }
    Ok(())
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a database file and its write-ahead log and shared-memory index, if present.
fn remove_database_files(db: &Path) -> StoreResult<()> {
    for path in [db.to_path_buf(), sibling(db, "-wal"), sibling(db, "-shm")] {
        remove_file_if_present(&path)?;
    }
    Ok(())
}

fn remove_file_if_present(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(operation(format!("cannot remove {}: {e}", path.display()))),
    }
}
