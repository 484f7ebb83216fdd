//! Wedding fairs and other events a supplier makes codes for.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tracking;
use bouquet_core::sync::Entity;
use super::{LocalStore, Result, clean, now_text};
use crate::ClientError;

#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct FairInput {
    pub name: String,
    pub date: Option<NaiveDate>,
    pub place: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Fair {
    pub id: Uuid,
    pub name: String,
    pub date: Option<NaiveDate>,
    pub place: Option<String>,
    pub notes: Option<String>,
}

impl LocalStore {
    pub fn create_fair(&self, input: FairInput) -> Result<Fair> {
        let name = clean("name", Some(&input.name), 200)?.ok_or_else(|| ClientError::Invalid("a fair needs a name".into()))?;
        let fair = Fair {
            id: Uuid::now_v7(),
            name,
            date: input.date,
            place: clean("place", input.place.as_deref(), 200)?,
            notes: clean("notes", input.notes.as_deref(), 2000)?,
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_text();
        tx.execute(
            "INSERT INTO fairs (id, name, date, place, notes, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![fair.id.to_string(), fair.name, fair.date.map(|d| d.to_string()), fair.place, fair.notes, now],
        )?;
        tracking::record(&tx, Entity::Fair, &fair.id.to_string())?;
        tx.commit()?;
        Ok(fair)
    }

    pub fn fairs(&self) -> Result<Vec<Fair>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, date, place, notes FROM fairs WHERE deleted_at IS NULL ORDER BY date IS NULL, date DESC, name",
        )?;
        let rows = stmt.query_map([], fair_from_row)?;
        rows.map(|r| r.map_err(ClientError::from).and_then(|f| f)).collect()
    }

    pub fn fair(&self, id: Uuid) -> Result<Option<Fair>> {
        let found = self
            .conn()
            .query_row(
                "SELECT id, name, date, place, notes FROM fairs WHERE id = ?1 AND deleted_at IS NULL",
                [id.to_string()],
                fair_from_row,
            )
            .optional()?;
        found.transpose()
    }
}

fn fair_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Fair>> {
    let id: String = r.get(0)?;
    let date: Option<String> = r.get(2)?;
    Ok((|| {
        Ok(Fair {
            id: Uuid::parse_str(&id).map_err(|e| ClientError::Database(e.to_string()))?,
            name: r.get(1)?,
            date: date.map(|d| d.parse()).transpose().map_err(|e| ClientError::Database(format!("fair date: {e}")))?,
            place: r.get(3)?,
            notes: r.get(4)?,
        })
    })())
}
