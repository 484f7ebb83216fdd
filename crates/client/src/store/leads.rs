//! Fair mode's lead capture: a couple types their names, email and wedding date at the
//! booth. That makes a contact and a lead on the code on screen, stamped with the real
//! time of capture so attribution later judges it by when it happened — all offline,
//! all in one transaction with their outbox entries.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::contacts::{Contact, ContactInput, ContactKind, insert, prepare};
use super::tracking;
use bouquet_core::sync::Entity;
use super::{LocalStore, Result, now_text};
use crate::ClientError;

#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct LeadInput {
    pub fair_id: Uuid,
    /// The code shown on the booth's screen.
    pub code_id: Uuid,
    pub names: String,
    pub email: String,
    pub wedding_date: Option<NaiveDate>,
    #[serde(default)]
    #[ts(optional, as = "Option<bool>")]
    pub marketing_consent: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct CapturedLead {
    pub id: Uuid,
    pub contact: Contact,
    pub code: String,
    pub captured_at: String,
}

impl LocalStore {
    pub fn capture_lead(&self, input: LeadInput) -> Result<CapturedLead> {
        if input.email.trim().is_empty() {
            return Err(ClientError::Invalid("an email is needed to follow up".into()));
        }
        let fair = self.fair(input.fair_id)?.ok_or_else(|| ClientError::NotFound("that fair does not exist".into()))?;
        let contact = prepare(ContactInput {
            kind: ContactKind::Couple,
            names: input.names,
            email: Some(input.email),
            wedding_date: input.wedding_date,
            tags: vec![fair.name.replace(',', " ")],
            notes: Some(format!("Met at {}", fair.name)),
            marketing_consent: input.marketing_consent,
            ..Default::default()
        })?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let code: String = tx
            .query_row(
                "SELECT code FROM codes WHERE id = ?1 AND (fair_id = ?2 OR fair_id IS NULL) AND deleted_at IS NULL",
                params![input.code_id.to_string(), fair.id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ClientError::NotFound("that code does not belong to this fair".into()))?;
        insert(&tx, &contact)?;
        let id = Uuid::now_v7();
        let captured_at = now_text();
        tx.execute(
            "INSERT INTO fair_leads (id, fair_id, code_id, contact_id, captured_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.to_string(), fair.id.to_string(), input.code_id.to_string(), contact.id.to_string(), captured_at],
        )?;
        tracking::record(&tx, Entity::Lead, &id.to_string())?;
        tx.commit()?;
        Ok(CapturedLead { id, contact, code, captured_at })
    }

    /// Leads captured at a fair (or at all fairs).
    pub fn count_leads(&self, fair_id: Option<Uuid>) -> Result<i64> {
        let conn = self.conn();
        Ok(match fair_id {
            Some(f) => conn.query_row("SELECT COUNT(*) FROM fair_leads WHERE fair_id = ?1", [f.to_string()], |r| r.get(0))?,
            None => conn.query_row("SELECT COUNT(*) FROM fair_leads", [], |r| r.get(0))?,
        })
    }
}
