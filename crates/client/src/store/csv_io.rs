//! Contacts in and out as CSV (a CRM export, a spreadsheet). Import reports each bad row
//! with its line number and reason and still imports the good ones — all of them in one
//! transaction, so a crash half-way leaves nothing half-imported.

use std::io::{Read, Write};

use bouquet_core::{Money, VendorType};
use chrono::NaiveDate;
use ts_rs::TS;
use serde::Serialize;

use super::contacts::{Contact, ContactInput, ContactKind, prepare};
use super::{LocalStore, Result};

use crate::ClientError;

/// The columns written on export and understood on import (header names, any case;
/// unknown columns are ignored, missing ones are empty).
pub const COLUMNS: [&str; 14] = [
    "kind", "names", "business_name", "vendor_type", "email", "phone", "wedding_date", "location", "budget",
    "currency", "style", "notes", "tags", "marketing_consent",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RowProblem {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// How often (in rows) an import reports its progress.
pub(crate) const PROGRESS_EVERY: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ImportPhase {
    /// Reading the file: `done` and `total` count bytes (`total` is 0 when unknown).
    Reading,
    /// Writing the contacts: rows.
    Saving,
    /// Looking up each imported contact's look-alikes: rows.
    Checking,
}

/// Where a long import is; sent every few hundred rows and at each phase's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImportProgress {
    pub phase: ImportPhase,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportReport {
    pub imported: usize,
    /// Imported rows that share an email or phone with another contact.
    pub possible_duplicates: usize,
    /// The first [`PROBLEMS_LISTED`] rows refused, with why.
    pub problems: Vec<RowProblem>,
    /// How many rows were refused in all (a wrong file can have millions).
    pub rows_with_problems: usize,
}

/// Problems listed in a report at most; the rest are counted.
pub const PROBLEMS_LISTED: usize = 1000;

/// A cell as text: UTF-8, else Windows-1252, which is what Excel on Windows saves as "CSV".
fn cell_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

fn parse_row(get: &dyn Fn(&str) -> String) -> std::result::Result<ContactInput, String> {
    let opt = |name: &str| Some(get(name)).filter(|v| !v.trim().is_empty());
    let kind = match get("kind").trim().to_ascii_lowercase().as_str() {
        "" | "couple" => ContactKind::Couple,
        "supplier" => ContactKind::Supplier,
        other => return Err(format!("kind must be couple or supplier, not '{other}'")),
    };
    let vendor_type = match opt("vendor_type") {
        None => None,
        Some(v) => Some(
            VendorType::parse(&v.trim().to_ascii_lowercase().replace([' ', '/'], "_"))
                .ok_or_else(|| format!("unknown vendor type '{v}'"))?,
        ),
    };
    let wedding_date = match opt("wedding_date") {
        None => None,
        Some(d) => Some(
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(d.trim(), "%d/%m/%Y"))
                .map_err(|_| format!("wedding_date '{d}' is not a date like 2027-06-12"))?,
        ),
    };
    let budget = match opt("budget") {
        None => None,
        Some(b) => Some(Money { amount_minor: parse_amount(&b)?, currency: opt("currency").unwrap_or_else(|| "GBP".into()) }),
    };
    let consent = match get("marketing_consent").trim().to_ascii_lowercase().as_str() {
        "" | "no" | "false" | "0" | "n" => false,
        "yes" | "true" | "1" | "y" => true,
        other => return Err(format!("marketing_consent must be yes or no, not '{other}'")),
    };
    Ok(ContactInput {
        kind,
        names: get("names"),
        business_name: opt("business_name"),
        vendor_type,
        email: opt("email"),
        phone: opt("phone"),
        wedding_date,
        location: opt("location"),
        budget,
        style: opt("style"),
        notes: opt("notes"),
        tags: get("tags").split([';', '|']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
        marketing_consent: consent,
    })
}

/// "2500", "2,500.50" → minor units (no floats: the digits are read as text).
fn parse_amount(text: &str) -> std::result::Result<i64, String> {
    let bad = || format!("budget '{text}' is not an amount like 2500 or 2500.50");
    let cleaned: String = text.trim().trim_start_matches(['£', '$', '€']).chars().filter(|c| *c != ',').collect();
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)
}

impl LocalStore {
    pub fn import_contacts_csv(&self, input: impl Read) -> Result<ImportReport> {
        self.import_contacts_csv_reporting(input, 0, &mut |_| {})
    }

    /// Imports as [`Self::import_contacts_csv`] does, telling `progress` how far it is:
    /// reading (bytes of `total_bytes`, when known), then saving and checking for
    /// duplicates (rows). The file is read as a stream; the contacts it holds are kept
    /// until they are saved together.
    pub fn import_contacts_csv_reporting(
        &self,
        input: impl Read,
        total_bytes: u64,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::Fields).from_reader(input);
        // Data deleted with the account while the file is read must not come back with it.
        let forgets = self.forgets();
        let headers: Vec<String> = reader
            .byte_headers()
            .map_err(|e| ClientError::Invalid(format!("the file's first line must name the columns: {e}")))?
            .iter()
            .map(|h| cell_text(h).trim().to_ascii_lowercase().replace(' ', "_"))
            .collect();
        if !headers.iter().any(|h| h == "names") {
            return Err(ClientError::Invalid(format!("no 'names' column; expected columns: {}", COLUMNS.join(", "))));
        }
        let mut good: Vec<Contact> = Vec::new();
        let mut problems = Vec::new();
        let mut rows_with_problems = 0;
        let mut refuse = |line: u64, reason: String| {
            rows_with_problems += 1;
            if problems.len() < PROBLEMS_LISTED {
                problems.push(RowProblem { line, reason });
            }
        };
        let mut rows = 0u64;
        for record in reader.byte_records() {
            rows += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    refuse(e.position().map(|p| p.line()).unwrap_or(0), format!("unreadable row: {e}"));
                    continue;
                }
            };
            if rows % PROGRESS_EVERY == 0 {
                let at = record.position().map(|p| p.byte()).unwrap_or(0);
                progress(ImportProgress { phase: ImportPhase::Reading, done: at.min(total_bytes), total: total_bytes });
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let get = |name: &str| {
                headers.iter().position(|h| h == name).and_then(|i| record.get(i)).map(|c| cell_text(c).into_owned()).unwrap_or_default()
            };
            match parse_row(&get).and_then(|input| prepare(input).map_err(|e| e.to_string())) {
                Ok(contact) => good.push(contact),
                Err(reason) => refuse(line, reason),
            }
        }
        progress(ImportProgress { phase: ImportPhase::Reading, done: total_bytes, total: total_bytes });
        let saved = if good.is_empty() { Vec::new() } else { self.create_contacts(good, forgets, progress)? };
        Ok(ImportReport {
            imported: saved.len(),
            possible_duplicates: saved.iter().filter(|s| !s.possible_duplicates.is_empty()).count(),
            problems,
            rows_with_problems,
        })
    }

    /// Writes every contact as CSV with [`COLUMNS`]; returns how many.
    pub fn export_contacts_csv(&self, out: impl Write) -> Result<usize> {
        let contacts = self.contacts()?;
        let mut writer = csv::Writer::from_writer(out);
        let io = |e: csv::Error| ClientError::Io(format!("writing CSV: {e}"));
        writer.write_record(COLUMNS).map_err(io)?;
        for c in &contacts {
            let budget = c.budget.as_ref().map(|b| format!("{}.{:02}", b.amount_minor / 100, b.amount_minor % 100));
            writer
                .write_record([
                    c.kind.as_str().to_string(),
                    c.names.clone(),
                    c.business_name.clone().unwrap_or_default(),
                    c.vendor_type.map(|v| v.as_str().to_string()).unwrap_or_default(),
                    c.email.clone().unwrap_or_default(),
                    c.phone.clone().unwrap_or_default(),
                    c.wedding_date.map(|d| d.to_string()).unwrap_or_default(),
                    c.location.clone().unwrap_or_default(),
                    budget.unwrap_or_default(),
                    c.budget.as_ref().map(|b| b.currency.clone()).unwrap_or_default(),
                    c.style.clone().unwrap_or_default(),
                    c.notes.clone().unwrap_or_default(),
                    c.tags.join(";"),
                    if c.marketing_consent { "yes" } else { "no" }.to_string(),
                ])
                .map_err(io)?;
        }
        writer.flush()?;
        Ok(contacts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(parse_amount("2500"), Ok(250_000));
        assert_eq!(parse_amount("£2,500.5"), Ok(250_050));
        assert_eq!(parse_amount("0.07"), Ok(7));
        for bad in ["", "abc", "1.234", "-5", "1e3", "99999999999999999999"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }
}
