//! Invitations from the supplier to couples: drafted one at a time with a live preview,
//! or queued in bulk with the seed's smart batching. Each invitation gets its own email
//! referral code. Queued ones sync to the server, which sends them as email under the
//! supplier's pacing (docs/email.md); how each went comes back with every sync round.

use bouquet_core::ReferralMethod;
use bouquet_core::account::normalize_email;
use bouquet_core::batching::{self, Urgency};
use bouquet_core::template::{self, TemplateValues};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::codes::{CodeInput, make_codes};
use super::contacts::ContactKind;
use super::syncing::{AsOf, DELIVERIES_VIEW};
use super::tracking;
use bouquet_core::delivery::{DeliveryReport, DeliveryStatus, InvitationDelivery};
use bouquet_core::sync::Entity;
use super::session::LocalSession;
use super::{LocalStore, Result, clean, now_text, time_text};
use crate::ClientError;

/// The seed: an invitation expires 30 days after it is sent.
pub const EXPIRES_AFTER_DAYS: i64 = 30;
/// Default pause between bulk batches.
pub const DEFAULT_BATCH_DELAY_SECONDS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Draft,
    Queued,
    Sending,
    Sent,
    Failed,
    Opened,
    Joined,
    Expired,
}

impl InvitationStatus {
    pub const ALL: [Self; 8] =
        [Self::Draft, Self::Queued, Self::Sending, Self::Sent, Self::Failed, Self::Opened, Self::Joined, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Opened => "opened",
            Self::Joined => "joined",
            Self::Expired => "expired",
        }
    }

    /// A queued invitation's status as the server last told it.
    fn of_delivery(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Queued => Self::Queued,
            DeliveryStatus::Sending => Self::Sending,
            DeliveryStatus::Sent => Self::Sent,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Opened => Self::Opened,
            DeliveryStatus::Joined => Self::Joined,
            DeliveryStatus::Expired => Self::Expired,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What a supplier fills in for one invitation.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct InvitationInput {
    pub contact_id: Option<Uuid>,
    pub couple_names: String,
    pub email: String,
    pub phone: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    /// A template with `{couple_names}`, `{wedding_date}`, `{business_name}`, `{link}`.
    pub message_template: String,
    pub discount_offered: Option<String>,
    pub exclusive_content: Option<String>,
    #[serde(default)]
    #[ts(optional, as = "Option<Vec<String>>")]
    pub forms_shared: Vec<String>,
    #[serde(default)]
    #[ts(optional, as = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub prefilled_data: serde_json::Map<String, serde_json::Value>,
    /// The campaign the invitation's code is made under (one open as of the last sync).
    pub campaign_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Invitation {
    pub id: Uuid,
    pub contact_id: Option<Uuid>,
    pub code: String,
    pub link: String,
    pub couple_names: String,
    pub email: String,
    pub wedding_date: Option<NaiveDate>,
    pub personal_message: String,
    pub discount_offered: Option<String>,
    /// Draft or queued as the supplier left it; once the server has it, how its sending
    /// went as of the last sync (sending, sent, failed, opened, joined, expired).
    pub status: InvitationStatus,
    pub batch_number: Option<i64>,
    pub send_after: Option<String>,
    pub expires_at: Option<String>,
    /// Why it failed, or why the last try did not go while it waits to retry.
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What bulk queueing did.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct BulkResult {
    pub queued: usize,
    pub batches: Vec<BatchSummary>,
    pub skipped: Vec<Skipped>,
    /// Predicted conversions and the rate the prediction used (basis points).
    pub predicted_conversions: i64,
    pub prediction_rate_bp: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct BatchSummary {
    pub number: usize,
    pub send_after: String,
    pub urgent: usize,
    pub soon: usize,
    pub future: usize,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Skipped {
    pub couple_names: String,
    pub reason: String,
}

fn render(session: &LocalSession, template_text: &str, names: &str, date: Option<NaiveDate>, link: &str) -> Result<String> {
    let values = TemplateValues {
        couple_names: names.to_string(),
        wedding_date: date,
        business_name: session.display_name.clone(),
        link: link.to_string(),
    };
    template::render(template_text, &values).map_err(|e| ClientError::Invalid(e.to_string()))
}

/// Where the invitation stands once written.
struct Placement {
    status: InvitationStatus,
    batch_number: Option<i64>,
    send_after: Option<DateTime<Utc>>,
}

fn insert_invitation(tx: &rusqlite::Transaction<'_>, session: &LocalSession, input: InvitationInput, at: Placement) -> Result<Invitation> {
    let names = clean("couple_names", Some(&input.couple_names), 200)?
        .ok_or_else(|| ClientError::Invalid("the couple's names are required".into()))?;
    let email = normalize_email(&input.email).ok_or_else(|| ClientError::Invalid(format!("'{}' is not an email address", input.email)))?;
    template::check(&input.message_template).map_err(|e| ClientError::Invalid(e.to_string()))?;
    let discount = clean("discount_offered", input.discount_offered.as_deref(), 200)?;
    let exclusive = clean("exclusive_content", input.exclusive_content.as_deref(), 500)?;
    // An invitation to a contact marked as a fellow supplier is a supplier → supplier one:
    // its code is for a supplier, rewarded by the supplier rules when they subscribe.
    let for_supplier = match input.contact_id {
        Some(contact) => {
            let kind: Option<String> =
                tx.query_row("SELECT kind FROM contacts WHERE id = ?1 AND deleted_at IS NULL", [contact.to_string()], |r| r.get(0)).optional()?;
            kind.ok_or_else(|| ClientError::NotFound("that contact does not exist".into()))? == ContactKind::Supplier.as_str()
        }
        None => false,
    };
    let code_input =
        CodeInput { method: ReferralMethod::Email, incentive: discount.clone(), campaign_id: input.campaign_id, for_supplier, ..Default::default() };
    let code = make_codes(tx, session, &code_input, 1)?.remove(0);
    let message = render(session, &input.message_template, &names, input.wedding_date, &code.link)?;
    let id = Uuid::now_v7();
    let now = now_text();
    let send_after = at.send_after.map(time_text);
    tx.execute(
        "INSERT INTO invitations (id, contact_id, code_id, couple_names, email, phone, wedding_date, personal_message,
            discount_offered, exclusive_content, forms_shared, prefilled_data, status, batch_number, send_after, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
        params![
            id.to_string(),
            input.contact_id.map(|c| c.to_string()),
            code.id.to_string(),
            names,
            email,
            clean("phone", input.phone.as_deref(), 40)?,
            input.wedding_date.map(|d| d.to_string()),
            message,
            discount,
            exclusive,
            input.forms_shared.join("\n"),
            serde_json::Value::Object(input.prefilled_data).to_string(),
            at.status.as_str(),
            at.batch_number,
            send_after,
            now
        ],
    )?;
    let invitation = Invitation {
        id,
        contact_id: input.contact_id,
        code: code.code.to_string(),
        link: code.link,
        couple_names: names,
        email,
        wedding_date: input.wedding_date,
        personal_message: message,
        discount_offered: discount,
        status: at.status,
        batch_number: at.batch_number,
        send_after,
        expires_at: None,
        reason: None,
        sent_at: None,
    };
    tracking::record(tx, Entity::Invitation, &id.to_string())?;
    Ok(invitation)
}

impl LocalStore {
    /// The message as the couple would read it, for the live preview (nothing saved).
    pub fn preview_invitation(&self, template_text: &str, couple_names: &str, wedding_date: Option<NaiveDate>) -> Result<String> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        let sample_link = format!("{}/r/…", session.server_url);
        render(&session, template_text, couple_names, wedding_date, &sample_link)
    }

    pub fn draft_invitation(&self, input: InvitationInput) -> Result<Invitation> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let placement = Placement { status: InvitationStatus::Draft, batch_number: None, send_after: None };
        let invitation = insert_invitation(&tx, &session, input, placement)?;
        tx.commit()?;
        Ok(invitation)
    }

    /// Queues invitations to these contacts with the seed's smart batching: urgent
    /// weddings first, batches of 10, `delay_seconds` apart. Contacts without an email,
    /// suppliers, and weddings already past are skipped with the reason. All or nothing.
    pub fn queue_bulk_invitations(
        &self,
        contact_ids: &[Uuid],
        message_template: &str,
        discount_offered: Option<String>,
        delay_seconds: u64,
        today: NaiveDate,
    ) -> Result<BulkResult> {
        self.queue_bulk_invitations_under(None, contact_ids, message_template, discount_offered, delay_seconds, today)
    }

    /// [`Self::queue_bulk_invitations`] with every invitation's code made under
    /// `campaign_id` (one open as of the last sync), or none.
    pub fn queue_bulk_invitations_under(
        &self,
        campaign_id: Option<Uuid>,
        contact_ids: &[Uuid],
        message_template: &str,
        discount_offered: Option<String>,
        delay_seconds: u64,
        today: NaiveDate,
    ) -> Result<BulkResult> {
        let session = self.session()?.ok_or(ClientError::NotSignedIn)?;
        template::check(message_template).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let mut skipped = Vec::new();
        let mut candidates = Vec::new();
        for id in contact_ids {
            let contact = self.contact(*id)?.ok_or_else(|| ClientError::NotFound(format!("contact {id} does not exist")))?;
            match (&contact.kind, &contact.email) {
                (ContactKind::Supplier, _) => {
                    skipped.push(Skipped { couple_names: contact.names, reason: "a supplier, not a couple".into() })
                }
                (_, None) => skipped.push(Skipped { couple_names: contact.names, reason: "no email address".into() }),
                _ => candidates.push(contact),
            }
        }
        let plan = batching::plan(candidates, |c| c.wedding_date, today, delay_seconds);
        for past in &plan.skipped_past {
            skipped.push(Skipped { couple_names: past.names.clone(), reason: "the wedding has already happened".into() });
        }
        let start = Utc::now();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut batches = Vec::with_capacity(plan.batches.len());
        for batch in &plan.batches {
            let send_after = start + Duration::seconds(batch.send_after_seconds as i64);
            let count = |u: Urgency| batch.items.iter().filter(|(x, _)| *x == u).count();
            batches.push(BatchSummary {
                number: batch.number,
                send_after: time_text(send_after),
                urgent: count(Urgency::Urgent),
                soon: count(Urgency::Soon),
                future: count(Urgency::Future),
            });
            for (_, contact) in &batch.items {
                let input = InvitationInput {
                    contact_id: Some(contact.id),
                    couple_names: contact.names.clone(),
                    email: contact.email.clone().unwrap_or_default(),
                    phone: contact.phone.clone(),
                    wedding_date: contact.wedding_date,
                    message_template: message_template.to_string(),
                    discount_offered: discount_offered.clone(),
                    campaign_id,
                    ..Default::default()
                };
                let placement =
                    Placement { status: InvitationStatus::Queued, batch_number: Some(batch.number as i64), send_after: Some(send_after) };
                insert_invitation(&tx, &session, input, placement)?;
            }
        }
        tx.commit()?;
        let (predicted_conversions, prediction_rate_bp) = batching::predict_conversions(plan.queued(), None, 0);
        Ok(BulkResult { queued: plan.queued(), batches, skipped, predicted_conversions, prediction_rate_bp })
    }

    /// Rewrites an invitation's message (the rendered text the couple will read).
    pub fn edit_invitation_message(&self, id: Uuid, message: &str) -> Result<()> {
        let message = clean("message", Some(message), 10_000)?.ok_or_else(|| ClientError::Invalid("the message cannot be empty".into()))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE invitations SET personal_message = ?2, updated_at = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), message, now_text()],
        )?;
        if changed == 0 {
            return Err(ClientError::NotFound("that invitation does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Invitation, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes an invitation (its code keeps working; delete the code to stop it).
    pub fn delete_invitation(&self, id: Uuid) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_text();
        let changed = tx.execute("UPDATE invitations SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", params![id.to_string(), now])?;
        if changed == 0 {
            return Err(ClientError::NotFound("that invitation does not exist (it may have been deleted)".into()));
        }
        tracking::record(&tx, Entity::Invitation, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Invitations, oldest queued first, optionally of one status (as shown: a queued one
    /// the server has sent is `sent`).
    pub fn invitations(&self, status: Option<InvitationStatus>) -> Result<Vec<Invitation>> {
        let local = self.local_invitations()?;
        let all = self.with_deliveries(local)?;
        Ok(all.into_iter().filter(|i| status.is_none_or(|s| s == i.status)).collect())
    }

    /// Invitations as the supplier left them (draft or queued), oldest queued first.
    fn local_invitations(&self) -> Result<Vec<Invitation>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT i.id, i.contact_id, c.code, c.link, i.couple_names, i.email, i.wedding_date, i.personal_message,
                    i.discount_offered, i.status, i.batch_number, i.send_after, i.expires_at
             FROM invitations i JOIN codes c ON c.id = i.code_id
             WHERE i.deleted_at IS NULL
             ORDER BY i.batch_number IS NULL, i.batch_number, i.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, Option<i64>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<String>>(12)?,
            ))
        })?;
        let bad = |what: &str| ClientError::Database(format!("stored invitation has a bad {what}"));
        rows.map(|row| {
            let (id, contact, code, link, names, email, date, message, discount, status, batch, send_after, expires) = row?;
            Ok(Invitation {
                id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
                contact_id: contact.map(|c| Uuid::parse_str(&c)).transpose().map_err(|_| bad("contact id"))?,
                code,
                link,
                couple_names: names,
                email,
                wedding_date: date.map(|d| d.parse()).transpose().map_err(|_| bad("wedding date"))?,
                personal_message: message,
                discount_offered: discount,
                status: InvitationStatus::parse(&status).ok_or_else(|| bad("status"))?,
                batch_number: batch,
                send_after,
                expires_at: expires,
                reason: None,
                sent_at: None,
            })
        })
        .collect()
    }

    /// Overlays how the server is sending each queued invitation, as of the last sync.
    fn with_deliveries(&self, mut local: Vec<Invitation>) -> Result<Vec<Invitation>> {
        let Some(report) = self.delivery_report()? else { return Ok(local) };
        let by_id: std::collections::HashMap<Uuid, &InvitationDelivery> = report.value.invitations.iter().map(|d| (d.id, d)).collect();
        for invitation in local.iter_mut() {
            let Some(delivery) = by_id.get(&invitation.id) else { continue };
            // A draft the server still lists was cancelled too late (it had started to go,
            // and the server's word stands) — unless the server simply has not heard of the
            // cancel yet, when it still says queued.
            let applies = invitation.status == InvitationStatus::Queued || delivery.status != DeliveryStatus::Queued;
            if applies {
                invitation.status = InvitationStatus::of_delivery(delivery.status);
                invitation.reason = delivery.reason.clone();
                invitation.sent_at = delivery.sent_at;
                invitation.expires_at = delivery.sent_at.map(|at| time_text(at + Duration::days(EXPIRES_AFTER_DAYS)));
            }
        }
        Ok(local)
    }

    /// How the server sends queued invitations (pacing, whether it has a mail relay) and
    /// how each went, as of the last sync.
    pub fn delivery_report(&self) -> Result<Option<AsOf<DeliveryReport>>> {
        self.server_view(DELIVERIES_VIEW)
    }

    /// The pause between bulk batches: the server's, as of the last sync, so the send
    /// times the app predicts are the ones the server keeps.
    pub fn batch_pause_seconds(&self) -> Result<u64> {
        Ok(self.delivery_report()?.map_or(DEFAULT_BATCH_DELAY_SECONDS, |r| r.value.pacing.pause_seconds.into()))
    }

    /// How many invitations are in each status (for the Invitations screen).
    pub fn invitation_counts(&self) -> Result<Vec<(InvitationStatus, i64)>> {
        let all = self.invitations(None)?;
        Ok(InvitationStatus::ALL.into_iter().map(|s| (s, all.iter().filter(|i| i.status == s).count() as i64)).collect())
    }

    /// Takes a queued invitation back to drafts before it goes. Refused once the server
    /// has started sending it (as of the last sync; should it start before this reaches
    /// the server, the server's word stands and the next sync shows it sent).
    pub fn cancel_invitation(&self, id: Uuid) -> Result<()> {
        let current = self.invitations(None)?.into_iter().find(|i| i.id == id);
        match current.map(|i| i.status) {
            None => return Err(ClientError::NotFound("that invitation does not exist (it may have been deleted)".into())),
            Some(InvitationStatus::Queued) => {}
            Some(InvitationStatus::Draft) => return Err(ClientError::Invalid("that invitation is a draft: it is not queued".into())),
            Some(other) => return Err(ClientError::Invalid(format!("that invitation is already {}: it can no longer be cancelled", other.as_str()))),
        }
        self.set_queued(id, None)
    }

    /// Queues a draft to be sent now, or sends again one that failed (the server still
    /// paces it with the supplier's others).
    pub fn send_invitation(&self, id: Uuid) -> Result<()> {
        match self.invitations(None)?.into_iter().find(|i| i.id == id).map(|i| i.status) {
            Some(InvitationStatus::Draft | InvitationStatus::Failed) => self.set_queued(id, Some(Utc::now())),
            None => Err(ClientError::NotFound("that invitation does not exist (it may have been deleted)".into())),
            Some(other) => Err(ClientError::Invalid(format!("that invitation is {}: only a draft or a failed one can be sent", other.as_str()))),
        }
    }

    /// Queued (to go after `send_after`) or back to drafts (`None`).
    fn set_queued(&self, id: Uuid, send_after: Option<DateTime<Utc>>) -> Result<()> {
        let status = if send_after.is_some() { InvitationStatus::Queued } else { InvitationStatus::Draft };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE invitations SET status = ?2, send_after = ?3, batch_number = NULL, updated_at = ?4 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), status.as_str(), send_after.map(time_text), now_text()],
        )?;
        tracking::record(&tx, Entity::Invitation, &id.to_string())?;
        tx.commit()?;
        Ok(())
    }
}
