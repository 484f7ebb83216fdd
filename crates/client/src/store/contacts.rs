//! Contacts: couples (both names, wedding date, budget, style…) and fellow suppliers.
//! Saving never refuses a possible duplicate — the same email or phone may belong to a
//! planner working for two couples — it returns the look-alikes so the UI can warn.

use bouquet_core::account::normalize_email;
use bouquet_core::money::parse_currency;
use bouquet_core::{Money, VendorType};
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Row, ToSql, params, params_from_iter};
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::csv_io::{ImportPhase, ImportProgress, PROGRESS_EVERY};
use super::tracking;
use bouquet_core::sync::Entity;
use super::{LocalStore, Result, clean, now_text};
use crate::ClientError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    #[default]
    Couple,
    Supplier,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Couple => "couple",
            Self::Supplier => "supplier",
        }
    }
}

/// A contact as typed in a form or read from a CSV row.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct ContactInput {
    #[serde(default)]
    #[ts(optional, as = "Option<ContactKind>")]
    pub kind: ContactKind,
    /// Couples: both names ("Anna & Ben"); suppliers: the person to talk to.
    pub names: String,
    pub business_name: Option<String>,
    pub vendor_type: Option<VendorType>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub budget: Option<Money>,
    pub style: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    #[ts(optional, as = "Option<Vec<String>>")]
    pub tags: Vec<String>,
    #[serde(default)]
    #[ts(optional, as = "Option<bool>")]
    pub marketing_consent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Contact {
    pub id: Uuid,
    pub kind: ContactKind,
    pub names: String,
    pub business_name: Option<String>,
    pub vendor_type: Option<VendorType>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub budget: Option<Money>,
    pub style: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub marketing_consent: bool,
}

/// A saved contact and the other contacts sharing its email or phone.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Saved {
    pub contact: Contact,
    pub possible_duplicates: Vec<Contact>,
}

/// Digits with an optional leading `+`, so "+44 7700 900-123" and "+447700900123" match.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    let allowed = trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || !(6..=15).contains(&digits.len()) {
        return None;
    }
    Some(if trimmed.starts_with('+') { format!("+{digits}") } else { digits })
}

fn validate(input: ContactInput, id: Uuid) -> Result<Contact> {
    let names = clean("names", Some(&input.names), 200)?.ok_or_else(|| ClientError::Invalid("names are required".into()))?;
    let email = match clean("email", input.email.as_deref(), 254)? {
        None => None,
        Some(e) => Some(normalize_email(&e).ok_or_else(|| ClientError::Invalid(format!("'{e}' is not an email address")))?),
    };
    let phone = match clean("phone", input.phone.as_deref(), 40)? {
        None => None,
        Some(p) => Some(normalize_phone(&p).ok_or_else(|| ClientError::Invalid(format!("'{p}' is not a phone number")))?),
    };
    let budget = match input.budget {
        None => None,
        Some(m) if m.amount_minor < 0 => return Err(ClientError::Invalid("budget cannot be negative".into())),
        Some(m) => Some(Money {
            amount_minor: m.amount_minor,
            currency: parse_currency(&m.currency)
                .ok_or_else(|| ClientError::Invalid(format!("'{}' is not a currency code like GBP", m.currency)))?,
        }),
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in input.tags {
        if let Some(t) = clean("tag", Some(&tag), 50)? {
            if t.contains(',') {
                return Err(ClientError::Invalid(format!("tag '{t}' cannot contain a comma")));
            }
            if !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                tags.push(t);
            }
        }
    }
    Ok(Contact {
        id,
        kind: input.kind,
        names,
        business_name: clean("business_name", input.business_name.as_deref(), 200)?,
        vendor_type: input.vendor_type,
        email,
        phone,
        wedding_date: input.wedding_date,
        location: clean("location", input.location.as_deref(), 200)?,
        budget,
        style: clean("style", input.style.as_deref(), 200)?,
        notes: clean("notes", input.notes.as_deref(), 5000)?,
        tags,
        marketing_consent: input.marketing_consent,
    })
}

const COLUMNS: &str = "id, kind, names, business_name, vendor_type, email, phone, wedding_date, location, budget_minor, \
                       budget_currency, style, notes, tags, marketing_consent";

fn contact_from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    let bad = |i: usize, e: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let vendor: Option<String> = r.get(4)?;
    let date: Option<String> = r.get(7)?;
    let tags: String = r.get(13)?;
    let budget_minor: Option<i64> = r.get(9)?;
    let budget_currency: Option<String> = r.get(10)?;
    Ok(Contact {
        id: Uuid::parse_str(&id).map_err(|e| bad(0, e.to_string()))?,
        kind: if kind == "supplier" { ContactKind::Supplier } else { ContactKind::Couple },
        names: r.get(2)?,
        business_name: r.get(3)?,
        vendor_type: vendor.as_deref().and_then(VendorType::parse),
        email: r.get(5)?,
        phone: r.get(6)?,
        wedding_date: date.map(|d| d.parse()).transpose().map_err(|e: chrono::ParseError| bad(7, e.to_string()))?,
        location: r.get(8)?,
        budget: budget_minor.zip(budget_currency).map(|(amount_minor, currency)| Money { amount_minor, currency }),
        style: r.get(11)?,
        notes: r.get(12)?,
        tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        marketing_consent: r.get(14)?,
    })
}

impl LocalStore {
    pub fn create_contact(&self, input: ContactInput) -> Result<Saved> {
        let contact = prepare(input)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        insert(&tx, &contact)?;
        let possible_duplicates = duplicates_of(&tx, &contact)?;
        tx.commit()?;
        Ok(Saved { contact, possible_duplicates })
    }

    /// Saves contacts checked with [`prepare`] in one transaction: all of them or none.
    pub(crate) fn create_contacts(
        &self,
        contacts: Vec<Contact>,
        forgets_before: u64,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<Vec<Saved>> {
        let total = contacts.len() as u64;
        let report = |progress: &mut dyn FnMut(ImportProgress), phase, done: u64| {
            if done % PROGRESS_EVERY == 0 || done == total {
                progress(ImportProgress { phase, done, total });
            }
        };
        let mut conn = self.conn();
        if self.forgets() != forgets_before {
            return Err(ClientError::Invalid(
                "the account's data was deleted while the file was being read; nothing was imported".into(),
            ));
        }
        let tx = conn.transaction()?;
        for (i, contact) in contacts.iter().enumerate() {
            insert(&tx, contact)?;
            report(progress, ImportPhase::Saving, i as u64 + 1);
        }
        // Looked up once all are in, so two look-alike rows in one file warn about each other.
        let mut saved = Vec::with_capacity(contacts.len());
        for (i, contact) in contacts.into_iter().enumerate() {
            saved.push(Saved { possible_duplicates: duplicates_of(&tx, &contact)?, contact });
            report(progress, ImportPhase::Checking, i as u64 + 1);
        }
        tx.commit()?;
        Ok(saved)
    }

    pub fn update_contact(&self, id: Uuid, input: ContactInput) -> Result<Saved> {
        let contact = validate(input, id)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE contacts SET kind = ?2, names = ?3, business_name = ?4, vendor_type = ?5, email = ?6, phone = ?7,
                wedding_date = ?8, location = ?9, budget_minor = ?10, budget_currency = ?11, style = ?12, notes = ?13,
                tags = ?14, marketing_consent = ?15, updated_at = ?16
             WHERE id = ?1 AND deleted_at IS NULL",
            params_from_iter(values(&contact)),
        )?;
        if changed == 0 {
            return Err(ClientError::NotFound("that contact does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Contact, &id.to_string())?;
        let possible_duplicates = duplicates_of(&tx, &contact)?;
        tx.commit()?;
        Ok(Saved { contact, possible_duplicates })
    }

    /// Deletes a contact (kept as a tombstone so the delete can sync).
    pub fn delete_contact(&self, id: Uuid) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_text();
        let changed = tx.execute(
            "UPDATE contacts SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), now],
        )?;
        if changed == 0 {
            return Err(ClientError::NotFound("that contact does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Contact, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn contact(&self, id: Uuid) -> Result<Option<Contact>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {COLUMNS} FROM contacts WHERE id = ?1 AND deleted_at IS NULL"), [id.to_string()], contact_from_row)
            .optional()?)
    }

    /// All contacts, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        Ok(self.contact_page("", None)?.contacts)
    }

    /// Full-text search: every word must match the start of a word in names, business,
    /// email, phone, place, notes or tags ("ann bat" finds "Anna & Ben, Bath"). Best first.
    pub fn search_contacts(&self, query: &str) -> Result<Vec<Contact>> {
        Ok(self.contact_page(query, None)?.contacts)
    }

    /// The first `limit` contacts [`Self::search_contacts`] finds (all contacts by name for
    /// a blank query), and how many it finds in all: a screen shows a page, not ten
    /// thousand rows.
    pub fn contact_page(&self, query: &str, limit: Option<usize>) -> Result<ContactPage> {
        self.page_where(query, limit, "")
    }

    /// [`Self::contact_page`] of the couples an invitation can go to: those with an email.
    pub fn invitable_page(&self, query: &str, limit: Option<usize>) -> Result<ContactPage> {
        self.page_where(query, limit, " AND c.kind = 'couple' AND c.email IS NOT NULL AND c.email <> ''")
    }

    /// A page of live contacts matching `query` and the SQL condition `only` (on `c`).
    fn page_where(&self, query: &str, limit: Option<usize>, only: &str) -> Result<ContactPage> {
        // SQLite reads a negative LIMIT as none.
        let limit = limit.map_or(-1, |l| l as i64);
        let conn = self.conn();
        let columns = COLUMNS.split(", ").map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let (contacts, total) = match fts_prefix_query(query) {
            None => {
                let matching = format!("FROM contacts c WHERE c.deleted_at IS NULL{only}");
                let mut stmt = conn.prepare_cached(&format!("SELECT {columns} {matching} ORDER BY c.names COLLATE NOCASE, c.id LIMIT ?1"))?;
                let contacts = stmt.query_map([limit], contact_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
                let total = conn.prepare_cached(&format!("SELECT COUNT(*) {matching}"))?.query_row([], |r| r.get::<_, i64>(0))?;
                (contacts, total)
            }
            Some(fts_query) => {
                let matching = format!(
                    "FROM contacts_fts f JOIN contacts c ON c.rowid = f.rowid WHERE contacts_fts MATCH ?1 AND c.deleted_at IS NULL{only}"
                );
                let mut stmt = conn.prepare_cached(&format!("SELECT {columns} {matching} ORDER BY bm25(contacts_fts), c.names LIMIT ?2"))?;
                let contacts = stmt.query_map(params![fts_query, limit], contact_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
                let total = conn.prepare_cached(&format!("SELECT COUNT(*) {matching}"))?.query_row([&fts_query], |r| r.get::<_, i64>(0))?;
                (contacts, total)
            }
        };
        Ok(ContactPage { contacts, total: total as usize })
    }
}

/// A page of contacts and how many match in all.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ContactPage {
    pub contacts: Vec<Contact>,
    pub total: usize,
}

/// The contact's columns in `COLUMNS` order, then the time of the write (?16).
fn values(c: &Contact) -> Vec<Box<dyn ToSql>> {
    vec![
        Box::new(c.id.to_string()),
        Box::new(c.kind.as_str()),
        Box::new(c.names.clone()),
        Box::new(c.business_name.clone()),
        Box::new(c.vendor_type.map(|v| v.as_str())),
        Box::new(c.email.clone()),
        Box::new(c.phone.clone()),
        Box::new(c.wedding_date.map(|d| d.to_string())),
        Box::new(c.location.clone()),
        Box::new(c.budget.as_ref().map(|b| b.amount_minor)),
        Box::new(c.budget.as_ref().map(|b| b.currency.clone())),
        Box::new(c.style.clone()),
        Box::new(c.notes.clone()),
        Box::new(c.tags.join(",")),
        Box::new(c.marketing_consent),
        Box::new(now_text()),
    ]
}

/// Inserts the contact and its outbox entry.
pub(super) fn insert(tx: &rusqlite::Transaction<'_>, contact: &Contact) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO contacts ({COLUMNS}, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)"
    ))?
    .execute(params_from_iter(values(contact)))?;
    tracking::record(tx, Entity::Contact, &contact.id.to_string())?;
    Ok(())
}

/// Checks and normalises a new contact as typed, giving it an id, without saving it.
pub fn prepare(input: ContactInput) -> Result<Contact> {
    validate(input, Uuid::now_v7())
}

/// Each word quoted (so FTS syntax in what people type is just text) with a prefix star.
fn fts_prefix_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '+')
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn duplicates_of(tx: &rusqlite::Transaction<'_>, c: &Contact) -> Result<Vec<Contact>> {
    // One indexed lookup per field (an OR across both would scan the whole table, which
    // made importing a large CSV quadratic).
    let mut found: Vec<Contact> = Vec::new();
    for (column, value) in [("email", &c.email), ("phone", &c.phone)] {
        let Some(value) = value else { continue };
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contacts WHERE {column} = ?2 AND {column} IS NOT NULL AND deleted_at IS NULL AND id <> ?1"
        ))?;
        for row in stmt.query_map(params![c.id.to_string(), value], contact_from_row)? {
            let row = row?;
            if !found.iter().any(|f| f.id == row.id) {
                found.push(row);
            }
        }
    }
    found.sort_by(|a, b| a.names.cmp(&b.names));
    Ok(found)
}
