//! Changes the server refused (docs/sync.md, "Refused changes"). A refused change would
//! otherwise block the outbox for good — every later change waits behind it, and the
//! user never learns why. It is set aside instead, so the rest go, and kept with the
//! server's reason until the user
//!
//! - **fixes** the record: saving it again queues its fields afresh, which supersedes the
//!   refused change (it disappears from the list), or
//! - **discards** the change: the record goes back to what the server holds (the next
//!   sync pulls it again); a record the server never had is removed from this device.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use ts_rs::TS;

use bouquet_core::sync::{Entity, RecordState};

use super::tracking;
use super::{LocalStore, Result, now_text};
use crate::ClientError;

/// A change the server would not take, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RefusedChange {
    pub id: i64,
    /// `contact`, `fair`, `code`, `lead`, `invitation`, `profile`.
    pub entity: String,
    pub entity_id: String,
    /// What the record is called (a contact's names, a fair's name, a code), if it still
    /// exists here.
    pub label: Option<String>,
    /// The fields the change carried.
    pub fields: Vec<String>,
    /// The server's code (`invalid_change`, `code_taken`, …) and its sentence.
    pub code: String,
    pub reason: String,
    pub refused_at: String,
}

impl LocalStore {
    /// Sets aside the change the server refused: `device_seq` is its number as pushed.
    /// Every change before it must already be acknowledged (the sync pushes those
    /// first); the changes after it are renumbered to take its place, so the server
    /// sees no gap.
    pub(crate) fn set_aside_refused(&self, device_seq: i64, code: &str, reason: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let base: i64 = tx.query_row("SELECT seq_base FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        let seq = device_seq + base;
        let head: Option<i64> = tx.query_row("SELECT MIN(seq) FROM outbox", [], |r| r.get(0))?;
        if head != Some(seq) {
            return Err(ClientError::Protocol(format!("the refused change {device_seq} is not the next one to send")));
        }
        let (entity, entity_id, payload): (String, String, String) =
            tx.query_row("SELECT entity, entity_id, payload FROM outbox WHERE seq = ?1", [seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        // The server speaks of the push ("change 21: … Nothing was applied."); the person
        // reads about this record, with the rest of the push applied.
        let prefix = format!("change {device_seq}: ");
        let reason = reason.strip_prefix(prefix.as_str()).unwrap_or(reason);
        let reason = reason.strip_suffix(" Nothing was applied.").unwrap_or(reason).trim_end_matches('.');
        tx.execute(
            "INSERT INTO refused_changes (entity, entity_id, payload, code, reason, refused_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![entity, entity_id, payload, code, format!("{reason}."), now_text()],
        )?;
        tx.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
        // The next change takes the refused one's number.
        if let Some(next) = tx.query_row("SELECT MIN(seq) FROM outbox", [], |r| r.get::<_, Option<i64>>(0))? {
            tx.execute("UPDATE sync_state SET seq_base = ?1 WHERE id = 1", [next - device_seq])?;
        } else {
            // Nothing else waits: the next change made will be numbered `device_seq`.
            tx.execute("UPDATE sync_state SET seq_base = next_seq - ?1 WHERE id = 1", [device_seq])?;
        }
        // Saving the record again must send these fields again, whatever their values.
        let entity = Entity::parse(&entity).ok_or_else(|| ClientError::Database(format!("refused change of unknown kind {entity}")))?;
        let change: RecordState = serde_json::from_str(&payload).map_err(|e| ClientError::Database(format!("a refused change: {e}")))?;
        tracking::forget_stamped(&tx, entity, &entity_id, change.fields.keys(), false)?;
        tx.commit()?;
        Ok(())
    }

    /// The refused changes, newest first.
    pub fn refused_changes(&self) -> Result<Vec<RefusedChange>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, entity, entity_id, payload, code, reason, refused_at FROM refused_changes ORDER BY id DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })?;
        let mut refused = Vec::new();
        for row in rows {
            let (id, entity, entity_id, payload, code, reason, refused_at) = row?;
            let change: RecordState = serde_json::from_str(&payload).unwrap_or_default();
            let label = Entity::parse(&entity).and_then(|e| tracking::label(&conn, e, &entity_id).ok().flatten());
            let mut fields: Vec<String> = change.fields.keys().cloned().collect();
            if change.deleted.is_some() {
                fields.push("deleted".into());
            }
            refused.push(RefusedChange { id, entity, entity_id, label, fields, code, reason, refused_at });
        }
        Ok(refused)
    }

    /// Discards a refused change: the record takes the server's values again at the next
    /// sync; a record the server never had (its creation was refused) is removed here.
    pub fn discard_refused(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let found: Option<(String, String, String)> = tx
            .query_row("SELECT entity, entity_id, payload FROM refused_changes WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((entity, entity_id, payload)) = found else {
            return Err(ClientError::NotFound("that refused change is no longer waiting (it was fixed or discarded)".into()));
        };
        tx.execute("DELETE FROM refused_changes WHERE id = ?1", [id])?;
        let entity = Entity::parse(&entity).ok_or_else(|| ClientError::Database(format!("refused change of unknown kind {entity}")))?;
        let change: RecordState = serde_json::from_str(&payload).map_err(|e| ClientError::Database(format!("a refused change: {e}")))?;
        let never_sent = tracking::forget_stamped(&tx, entity, &entity_id, change.fields.keys(), true)?;
        if never_sent {
            tracking::remove_local_only(&tx, entity, &entity_id)?;
        }
        // The server's values come back with a pull from the start (rare: a refusal).
        tx.execute("UPDATE sync_state SET cursor = 0 WHERE id = 1", [])?;
        tx.commit()?;
        Ok(())
    }
}
