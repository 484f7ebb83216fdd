//! The app's local dashboard: what this device has done, by fair, from the local
//! database alone (so it works at a fair with no network). Scans are counted by the
//! server; they join these figures through sync.

use rusqlite::params;
use ts_rs::TS;
use serde::Serialize;
use uuid::Uuid;

use super::{LocalStore, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Figures {
    pub codes_made: i64,
    pub leads_captured: i64,
    pub invitations_drafted: i64,
    pub invitations_queued: i64,
    pub invitations_sent: i64,
    pub contacts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FairFigures {
    pub fair_id: Uuid,
    pub name: String,
    pub codes_made: i64,
    pub leads_captured: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Dashboard {
    pub totals: Figures,
    pub by_fair: Vec<FairFigures>,
}

impl LocalStore {
    pub fn dashboard(&self) -> Result<Dashboard> {
        let conn = self.conn();
        let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, params![], |r| r.get(0))?) };
        let totals = Figures {
            codes_made: count("SELECT COUNT(*) FROM codes WHERE deleted_at IS NULL")?,
            leads_captured: count("SELECT COUNT(*) FROM fair_leads WHERE deleted_at IS NULL")?,
            invitations_drafted: count("SELECT COUNT(*) FROM invitations WHERE status = 'draft' AND deleted_at IS NULL")?,
            invitations_queued: count("SELECT COUNT(*) FROM invitations WHERE status = 'queued' AND deleted_at IS NULL")?,
            invitations_sent: count("SELECT COUNT(*) FROM invitations WHERE status IN ('sent', 'opened', 'joined') AND deleted_at IS NULL")?,
            contacts: count("SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL")?,
        };
        let mut stmt = conn.prepare(
            "SELECT f.id, f.name,
                (SELECT COUNT(*) FROM codes c WHERE c.fair_id = f.id AND c.deleted_at IS NULL),
                (SELECT COUNT(*) FROM fair_leads l WHERE l.fair_id = f.id)
             FROM fairs f WHERE f.deleted_at IS NULL ORDER BY f.date IS NULL, f.date DESC, f.name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let mut by_fair = Vec::new();
        for row in rows {
            let (id, name, codes_made, leads_captured) = row?;
            let fair_id = Uuid::parse_str(&id).map_err(|e| crate::ClientError::Database(format!("fair id: {e}")))?;
            by_fair.push(FairFigures { fair_id, name, codes_made, leads_captured });
        }
        Ok(Dashboard { totals, by_fair })
    }
}
