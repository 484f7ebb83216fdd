//! Referral codes made on this device, offline, in the namespace the server issued it
//! at log-in: no network needed, and no collision with any other device, ever.

use bouquet_core::referral::{Utm, referral_link};
use bouquet_core::{ReferralCode, ReferralMethod};
use rusqlite::params;
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::syncing::{AsOf, CAMPAIGNS_VIEW, saved_view};
use super::tracking;
use bouquet_core::api::ActiveCampaign;
use bouquet_core::sync::Entity;
use super::session::LocalSession;
use super::{LocalStore, Result, clean, now_text};
use crate::ClientError;

#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct CodeInput {
    #[serde(default)]
    pub method: ReferralMethod,
    pub fair_id: Option<Uuid>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// Shown on the landing page.
    pub message: Option<String>,
    /// What the couple is offered, in words.
    pub incentive: Option<String>,
    /// A campaign open to the account as of the last sync (`LocalStore::active_campaigns`):
    /// the code's referral falls under it if the campaign is still open when it syncs.
    pub campaign_id: Option<Uuid>,
    /// A code for a fellow supplier (a supplier → supplier invitation) rather than for
    /// a couple: the referrer is rewarded by the supplier rules when they subscribe.
    #[serde(default)]
    #[ts(optional, as = "Option<bool>")]
    pub for_supplier: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LocalCode {
    pub id: Uuid,
    #[ts(type = "string")]
    pub code: ReferralCode,
    pub method: ReferralMethod,
    pub fair_id: Option<Uuid>,
    pub utm: Utm,
    pub message: Option<String>,
    pub incentive: Option<String>,
    /// What the code's QR encodes / the link to share (`<server>/r/CODE`, with the QR
    /// marker for QR codes, and the UTM fields).
    pub link: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The campaign it was made under, if any.
    pub campaign_id: Option<Uuid>,
}

impl LocalStore {
    /// Makes one code.
    pub fn create_code(&self, input: CodeInput) -> Result<LocalCode> {
        Ok(self.create_codes(input, 1)?.remove(0))
    }

    /// Makes `count` distinct codes with the same settings (e.g. one per table at a
    /// fair), in one transaction: all of them or none.
    pub fn create_codes(&self, input: CodeInput, count: usize) -> Result<Vec<LocalCode>> {
        if !(1..=100_000).contains(&count) {
            return Err(ClientError::Invalid("make between 1 and 100,000 codes at a time".into()));
        }
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        if let Some(fair) = input.fair_id
            && self.fair(fair)?.is_none() {
                return Err(ClientError::NotFound("that fair does not exist".into()));
            }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let made = make_codes(&tx, &session, &input, count)?;
        tx.commit()?;
        Ok(made)
    }

    /// How many codes this device has made (for a fair, or all).
    /// Deletes a code: once synced, its link tells couples it is no longer active.
    pub fn delete_code(&self, id: Uuid) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute("UPDATE codes SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", params![id.to_string(), now_text()])?;
        if changed == 0 {
            return Err(ClientError::NotFound("that code does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Code, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Changes the message and offer printed with a code.
    pub fn edit_code(&self, id: Uuid, message: Option<&str>, incentive: Option<&str>) -> Result<()> {
        let message = clean("message", message, 500)?;
        let incentive = clean("incentive", incentive, 200)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE codes SET message = ?2, incentive = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), message, incentive],
        )?;
        if changed == 0 {
            return Err(ClientError::NotFound("that code does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Code, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn count_codes(&self, fair_id: Option<Uuid>) -> Result<i64> {
        let conn = self.conn();
        Ok(match fair_id {
            Some(f) => conn.query_row("SELECT COUNT(*) FROM codes WHERE fair_id = ?1 AND deleted_at IS NULL", [f.to_string()], |r| r.get(0))?,
            None => conn.query_row("SELECT COUNT(*) FROM codes WHERE deleted_at IS NULL", [], |r| r.get(0))?,
        })
    }

    /// The codes made for a fair, oldest first.
    pub fn codes_for_fair(&self, fair_id: Uuid) -> Result<Vec<LocalCode>> {
        self.codes_where("fair_id = ?1", &fair_id.to_string())
    }

    /// Every code, oldest first.
    pub fn all_codes(&self) -> Result<Vec<LocalCode>> {
        self.codes_where("?1 = ?1", "")
    }

    /// The code with this text (any case, dashes optional).
    pub fn code_by_text(&self, text: &str) -> Result<Option<LocalCode>> {
        let code = ReferralCode::parse(text).map_err(|e| ClientError::Invalid(format!("'{text}': {e}")))?;
        Ok(self.codes_where("code = ?1", code.as_str())?.pop())
    }

    fn codes_where(&self, condition: &str, param: &str) -> Result<Vec<LocalCode>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, code, method, utm_source, utm_medium, utm_campaign, message, incentive, link, fair_id, created_at, campaign_id
             FROM codes WHERE {condition} AND deleted_at IS NULL ORDER BY created_at, code"
        ))?;
        let rows = stmt.query_map([param], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                Utm { source: r.get(3)?, medium: r.get(4)?, campaign: r.get(5)? },
                (r.get::<_, Option<String>>(6)?, r.get::<_, Option<String>>(7)?, r.get::<_, String>(8)?, r.get::<_, Option<String>>(9)?),
                (r.get::<_, String>(10)?, r.get::<_, Option<String>>(11)?),
            ))
        })?;
        let bad = |what: &str| ClientError::Database(format!("stored code has a bad {what}"));
        rows.map(|row| {
            let ((id, code, method), utm, (message, incentive, link, fair_id), (created_at, campaign_id)) = row?;
            Ok(LocalCode {
                id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
                code: ReferralCode::parse(&code).map_err(|_| bad("code"))?,
                method: ReferralMethod::parse(&method).ok_or_else(|| bad("method"))?,
                fair_id: fair_id.map(|f| Uuid::parse_str(&f)).transpose().map_err(|_| bad("fair"))?,
                utm,
                message,
                incentive,
                link,
                created_at,
                campaign_id: campaign_id.map(|c| Uuid::parse_str(&c)).transpose().map_err(|_| bad("campaign"))?,
            })
        })
        .collect()
    }

    /// Every code string made on this device.
    pub fn all_code_strings(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT code FROM codes ORDER BY created_at, code")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Makes `count` codes inside `tx` (with their outbox entries).
pub(super) fn make_codes(tx: &rusqlite::Transaction<'_>, session: &LocalSession, input: &CodeInput, count: usize) -> Result<Vec<LocalCode>> {
    let utm = Utm {
        source: clean("utm_source", input.utm_source.as_deref(), 200)?,
        medium: clean("utm_medium", input.utm_medium.as_deref(), 200)?,
        campaign: clean("utm_campaign", input.utm_campaign.as_deref(), 200)?,
    };
    let message = clean("message", input.message.as_deref(), 500)?;
    let incentive = clean("incentive", input.incentive.as_deref(), 200)?;
    if let Some(campaign) = input.campaign_id {
        check_campaign(tx, campaign)?;
    }
    let now = now_text();
    let mut made = Vec::with_capacity(count);
    let mut pick = usize::from(nanoid_byte());
    while made.len() < count {
        pick = pick.wrapping_add(1);
        let code = ReferralCode::generate(session.account_kind, &session.code_namespace, pick);
        let link = referral_link(&session.server_url, &code, input.method == ReferralMethod::Qr, &utm);
        let id = Uuid::now_v7();
        // A random part already used on this device is simply drawn again.
        let inserted = tx.execute(
            "INSERT INTO codes (id, code, method, fair_id, utm_source, utm_medium, utm_campaign, message, incentive, link, created_at, campaign_id, referee_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (code) DO NOTHING",
            params![
                id.to_string(),
                code.as_str(),
                input.method.as_str(),
                input.fair_id.map(|f| f.to_string()),
                utm.source,
                utm.medium,
                utm.campaign,
                message,
                incentive,
                link,
                now,
                input.campaign_id.map(|c| c.to_string()),
                input.for_supplier.then_some("supplier")
            ],
        )?;
        if inserted == 0 {
            continue;
        }
        tracking::record(tx, Entity::Code, &id.to_string())?;
        made.push(LocalCode {
            id,
            code,
            method: input.method,
            fair_id: input.fair_id,
            utm: utm.clone(),
            message: message.clone(),
            incentive: incentive.clone(),
            link,
            created_at: now.clone(),
            campaign_id: input.campaign_id,
        });
    }
    Ok(made)
}

/// A code can be made under a campaign the last sync listed as open to the account and
/// whose end has not passed (by the device's corrected clock). The server has the last
/// word when the code arrives.
fn check_campaign(conn: &rusqlite::Connection, id: Uuid) -> Result<()> {
    let open: Option<AsOf<Vec<ActiveCampaign>>> = saved_view(conn, CAMPAIGNS_VIEW)?;
    let now = tracking::device_now(conn)?;
    match open.and_then(|o| o.value.into_iter().find(|c| c.id == id)) {
        Some(c) if c.ends_at > now => Ok(()),
        Some(c) => Err(ClientError::Invalid(format!("the campaign \"{}\" has ended", c.name))),
        None => Err(ClientError::Invalid("that campaign is not open to you (as of the last sync)".into())),
    }
}

/// A random starting point for the prefix rotation (which wedding word a code gets).
fn nanoid_byte() -> u8 {
    Uuid::new_v4().as_bytes()[0]
}

impl LocalStore {
    /// Writes the fair's sheet of table cards into `dir` (created if needed) and returns
    /// the file's path: `<fair name> table cards (A4).pdf`.
    pub fn export_fair_sheet(&self, fair_id: Uuid, paper: crate::sheet::Paper, dir: &std::path::Path) -> Result<std::path::PathBuf> {
        let fair = self.fair(fair_id)?.ok_or_else(|| ClientError::NotFound("that fair does not exist".into()))?;
        let pdf = self.fair_sheet(fair_id, paper, |_, _| {})?;
        std::fs::create_dir_all(dir)?;
        let safe_name: String = fair.name.chars().map(|c| if c.is_alphanumeric() || c == ' ' || c == '-' { c } else { '_' }).collect();
        let paper_name = match paper {
            crate::sheet::Paper::A4 => "A4",
            crate::sheet::Paper::Letter => "Letter",
        };
        let path = dir.join(format!("{} table cards ({paper_name}).pdf", safe_name.trim()));
        std::fs::write(&path, pdf)?;
        Ok(path)
    }

    /// The fair's QR codes as a printable PDF of table cards.
    pub fn fair_sheet(&self, fair_id: Uuid, paper: crate::sheet::Paper, progress: impl FnMut(usize, usize)) -> Result<Vec<u8>> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        if self.fair(fair_id)?.is_none() {
            return Err(ClientError::NotFound("that fair does not exist".into()));
        }
        let cards = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT code, link, incentive FROM codes WHERE fair_id = ?1 AND method = 'qr' AND deleted_at IS NULL ORDER BY created_at, code")?;
            let rows = stmt.query_map([fair_id.to_string()], |r| {
                Ok(crate::sheet::Card {
                    code: r.get(0)?,
                    link: r.get(1)?,
                    supplier_name: session.display_name.clone(),
                    incentive: r.get(2)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        crate::sheet::table_cards(&cards, paper, progress)
    }
}
