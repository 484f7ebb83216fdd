//! The outbox: every change that must reach the server, in order, written in the same
//! transaction as the change itself (by `tracking::record`), so a crash can never keep
//! one without the other.

use serde::Serialize;

use super::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub payload: String,
}

impl super::LocalStore {
    /// Pending changes, oldest first.
    pub fn outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq, entity, entity_id, op, payload FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([limit], |r| {
            Ok(OutboxEntry { seq: r.get(0)?, entity: r.get(1)?, entity_id: r.get(2)?, op: r.get(3)?, payload: r.get(4)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn pending_changes(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?)
    }
}
