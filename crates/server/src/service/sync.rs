//! Sync (docs/sync.md). A push applies a device's numbered changes exactly once: the
//! device's position is locked, changes it already applied are skipped, a gap is
//! refused, and every change is merged field by field into the account's records, all
//! in one transaction. Codes become referrals (under the campaign they were made for, if
//! it is still open to the account) and fair leads become touches with their original
//! times. A pull pages through the account's records by change number.

use std::collections::HashSet;
use std::sync::Arc;

use bouquet_core::campaigns::CampaignStatus;
use bouquet_core::code::prefixes_for;
use bouquet_core::sync::{
    CLOCK_TOLERANCE_MS, Change, ChangeV1, CodeStatus, Entity, MAX_BATCH, OLDEST_SCHEMA_VERSION, PullPage, PushRequest,
    PushResponse, RecordState, SCHEMA_VERSION, SyncState, check_change,
};
use bouquet_core::{AccountKind, ReferralCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::service::campaigns;
use crate::store::{Caller, NewFairLead, NewReferral, QueuedInvitation, Store, StoreError, SyncTx};

pub const DEFAULT_PULL: i64 = 500;

fn check_version(version: u32) -> Result<(), ApiError> {
    if (OLDEST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&version) {
        return Ok(());
    }
    let advice = if version > SCHEMA_VERSION { "this server is older than the app; update the server" } else { "update the app" };
    Err(ApiError::invalid(
        "unsupported_schema_version",
        format!("sync version {version} is not supported (this server accepts {OLDEST_SCHEMA_VERSION} and {SCHEMA_VERSION}); {advice}. Nothing was applied."),
    ))
}

/// Reads the changes in the shape their version has.
fn parse_changes(req: PushRequest) -> Result<Vec<Change>, ApiError> {
    check_version(req.schema_version)?;
    if req.changes.len() > MAX_BATCH {
        return Err(ApiError::invalid("too_many_changes", format!("send at most {MAX_BATCH} changes per push")));
    }
    let mut changes = Vec::with_capacity(req.changes.len());
    for (i, raw) in req.changes.into_iter().enumerate() {
        let bad = |e: serde_json::Error| ApiError::invalid("invalid_change", format!("change #{i}: {e}"));
        changes.push(match req.schema_version {
            1 => serde_json::from_value::<ChangeV1>(raw).map_err(bad)?.into(),
            _ => serde_json::from_value::<Change>(raw).map_err(bad)?,
        });
    }
    for pair in changes.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(ApiError::invalid("invalid_change", format!("change {} follows change {}: numbers must run without gaps", pair[1].seq, pair[0].seq)));
        }
    }
    if changes.first().is_some_and(|c| c.seq < 1) {
        return Err(ApiError::invalid("invalid_change", "change numbers start at 1"));
    }
    Ok(changes)
}

pub async fn push(store: &Arc<dyn Store>, caller: &Caller, req: PushRequest, referral_lifetime: Duration) -> Result<PushResponse, ApiError> {
    let mut changes = parse_changes(req)?;
    let now = Utc::now();
    // A device whose clock runs ahead must not win every merge until real time catches up.
    for change in &mut changes {
        for clock in change.clocks.values_mut().chain(change.deleted.iter_mut()) {
            *clock = clock.clone().clamped(now.timestamp_millis(), CLOCK_TOLERANCE_MS);
        }
    }
    let mut tx = store.begin_sync().await?;
    let applied = tx.applied_through(caller.device_id).await?;
    let Some(first) = changes.first().map(|c| c.seq) else {
        return Ok(PushResponse { applied_through: applied, server_time: now });
    };
    if first > applied + 1 {
        return Err(ApiError::PushGap(format!(
            "this device's changes up to {applied} are applied; send from change {}. Nothing was applied.",
            applied + 1
        )));
    }
    let mut last = applied;
    let mut push = Push { store, caller, referral_lifetime, now, own_namespaces: HashSet::new(), campaigns: None };
    for change in changes.into_iter().filter(|c| c.seq > applied) {
        last = change.seq;
        push.apply(&mut *tx, change).await.map_err(|e| e.for_change(last))?;
    }
    tx.set_applied_through(caller.device_id, last).await?;
    tx.commit().await?;
    Ok(PushResponse { applied_through: last, server_time: now })
}

/// What applying one push's changes needs besides the transaction.
struct Push<'a> {
    store: &'a Arc<dyn Store>,
    caller: &'a Caller,
    referral_lifetime: Duration,
    now: DateTime<Utc>,
    /// Code namespaces already found to be the caller's: a push of offline codes is
    /// mostly from one namespace, checked once.
    own_namespaces: HashSet<String>,
    /// The campaigns and the caller's successes, read once per push when a code needs them.
    campaigns: Option<(Vec<crate::store::CampaignRow>, i64)>,
}

impl Push<'_> {
    async fn apply(&mut self, tx: &mut dyn SyncTx, change: Change) -> Result<(), ApiError> {
        let account = self.caller.account.id;
        if change.entity == Entity::Profile {
            check_profile(self.caller, &change)
                .map_err(|m| ApiError::invalid("invalid_change", format!("change {}: {m}. Nothing was applied.", change.seq)))?;
        }
        let existing = tx.record(account, change.entity, change.id).await?;
        check_change(change.entity, &change, existing.as_ref())
            .map_err(|e| ApiError::invalid("invalid_change", format!("change {}: {e}. Nothing was applied.", change.seq)))?;
        let was_new = existing.as_ref().is_none_or(|r| r.fields.is_empty());
        let was_deleted = existing.as_ref().is_some_and(|r| r.deleted.is_some());
        let mut state = existing.unwrap_or_default();
        if !state.merge(&change.fields, &change.clocks, change.deleted.as_ref()) {
            return Ok(());
        }
        tx.save_record(account, change.entity, change.id, &state).await?;
        let seq = change.seq;
        match change.entity {
            Entity::Code if was_new && !state.fields.is_empty() => {
                let referral = self.referral_of(&state, seq).await?;
                // Uploaded before through `POST /api/v1/referrals`: already a referral.
                let uploaded = self.store.referral_by_code(&referral.code).await?.is_some_and(|r| r.view.referrer_id == account);
                if !uploaded {
                    tx.add_referral(&referral).await.map_err(|e| match e {
                        StoreError::Conflict(_) => ApiError::Conflict(format!("change {seq}: the code {} is already taken", referral.code)),
                        other => other.into(),
                    })?;
                }
            }
            Entity::Code if !was_deleted && state.deleted.is_some() => {
                if let Some(code) = text(&state, "code") {
                    tx.end_referral(&code, account, self.now).await?;
                }
            }
            Entity::Lead if was_new && !state.fields.is_empty() => add_fair_lead(tx, account, change.id, &state, seq).await?,
            Entity::Fair if state.deleted.is_none() => {
                let date = text(&state, "date").and_then(|d| d.parse::<NaiveDate>().ok());
                tx.save_fair(account, change.id, date).await?;
            }
            _ => {}
        }
        if change.entity == Entity::Invitation {
            self.follow_invitation(tx, change.id, &state).await?;
        }
        // A booth contact corrected afterwards (a mistyped email): its fair leads follow.
        if change.entity == Entity::Contact && !was_new && ["email", "names", "wedding_date"].iter().any(|f| change.fields.contains_key(*f)) {
            relink_fair_leads(tx, account, change.id, &state, seq).await?;
        }
        // A code tied to a fair: its traffic on the fair's days is expected (docs/fraud.md).
        if change.entity == Entity::Code && state.deleted.is_none() && (was_new || change.fields.contains_key("fair_id")) {
            if let Some(code) = text(&state, "code") {
                let fair = text(&state, "fair_id").and_then(|f| Uuid::parse_str(&f).ok());
                tx.tie_code_to_fair(&code, account, fair).await?;
            }
        }
        Ok(())
    }

    /// A queued invitation is the server's to send (docs/email.md); one taken back to
    /// drafts or deleted is cancelled unless it has started to go.
    async fn follow_invitation(&mut self, tx: &mut dyn SyncTx, id: Uuid, state: &RecordState) -> Result<(), ApiError> {
        follow_invitation(tx, self.caller.account.id, id, state, self.now).await
    }

    /// The referral a code made on a device stands for. The code must be in one of the
    /// account's namespaces, so no device can claim another account's codes.
    async fn referral_of(&mut self, state: &RecordState, seq: i64) -> Result<NewReferral, ApiError> {
        let caller = self.caller;
        let invalid = |m: String| ApiError::invalid("invalid_change", format!("change {seq}: {m}"));
        let kind = caller.account.kind;
        if kind == AccountKind::Admin {
            return Err(ApiError::Forbidden("admin accounts do not refer anyone"));
        }
        let typed = text(state, "code").unwrap_or_default();
        let code = ReferralCode::parse(&typed).map_err(|e| invalid(format!("{typed}: {e}")))?;
        let namespace = code.namespace();
        let own = prefixes_for(kind).contains(&code.prefix())
            && (self.own_namespaces.contains(namespace) || self.store.namespace_belongs_to(namespace, caller.account.id).await?);
        if !own {
            return Err(ApiError::invalid("foreign_code_namespace", format!("change {seq}: the code {code} was not made in one of this account's code namespaces")));
        }
        self.own_namespaces.insert(namespace.to_string());
        let method = text(state, "method").unwrap_or_default();
        if !["email", "link", "qr", "social"].contains(&method.as_str()) {
            return Err(invalid(format!("method '{method}' is not email, link, qr or social")));
        }
        let referee_type = match text(state, "referee_type").as_deref() {
            None => if kind == AccountKind::Couple { AccountKind::Supplier } else { AccountKind::Couple },
            Some("couple") => AccountKind::Couple,
            Some("supplier") => AccountKind::Supplier,
            Some(other) => return Err(invalid(format!("referee_type '{other}' is not couple or supplier"))),
        };
        let created_at = time(state, "created_at", seq)?.min(Utc::now());
        if self.campaigns.is_none() {
            let open = self.store.campaigns(500).await?;
            let successful = campaigns::successes(&self.store, caller.account.id).await?;
            self.campaigns = Some((open, successful));
        }
        let seasonal_campaigns = self
            .campaigns
            .as_ref()
            .map(|(open, successful)| campaigns::seasonal_covering(open, &caller.account, *successful, created_at, None))
            .unwrap_or_default();
        Ok(NewReferral {
            id: Uuid::now_v7(),
            seasonal_campaigns,
            code: code.to_string(),
            referrer_id: caller.account.id,
            referrer_type: kind,
            referee_type,
            method,
            campaign_id: self.open_campaign(state).await?,
            source_url: None,
            utm_source: text(state, "utm_source"),
            utm_medium: text(state, "utm_medium"),
            utm_campaign: text(state, "utm_campaign"),
            vendor_type: caller.account.vendor_type.map(|v| v.as_str().to_string()),
            wedding_date: None,
            location: None,
            message: text(state, "message"),
            incentive_offered: text(state, "incentive"),
            incentive_amount: None,
            created_at,
            expires_at: Some(created_at + self.referral_lifetime),
        })
    }

    /// The campaign a code was made under, if it is open to the account now. The device
    /// offered it from the list of its last sync, which may be out of date (the campaign
    /// ended, was paused or retargeted since): then the referral is made without it, and
    /// the code still works. Never a reason to refuse the push.
    async fn open_campaign(&self, state: &RecordState) -> Result<Option<Uuid>, ApiError> {
        let Some(id) = text(state, "campaign_id").and_then(|t| Uuid::parse_str(&t).ok()) else { return Ok(None) };
        let Some(campaign) = self.store.campaign(id).await? else { return Ok(None) };
        let successful = campaigns::successes(&self.store, self.caller.account.id).await?;
        let open = campaign.status == CampaignStatus::Active && campaigns::admits(&campaign, &self.caller.account, successful);
        Ok(open.then_some(id))
    }
}

/// A supplier's profile is one record per account, its id the account's, never deleted,
/// and each value a device sends must read as the profile editor would accept it
/// (docs/metrics.md).
fn check_profile(caller: &Caller, change: &Change) -> Result<(), String> {
    if caller.account.kind != AccountKind::Supplier {
        return Err("only suppliers have a profile".into());
    }
    if change.id != caller.account.id {
        return Err("a profile's id is its account's id".into());
    }
    if change.deleted.is_some() {
        return Err("a profile is not deleted; save it with its fields empty instead".into());
    }
    let text = |name: &str| change.fields.get(name).and_then(Value::as_str);
    let int = |name: &str| change.fields.get(name).and_then(Value::as_i64);
    bouquet_core::recommend::SupplierProfile::check_synced_fields(text("styles"), int("budget_min_minor"), int("budget_max_minor"), text("booked_dates"))
        .map_err(|e| format!("profile: {e}"))
}

/// A queued invitation is the server's to send (docs/email.md); one taken back to
/// drafts or deleted is cancelled unless it has started to go.
async fn follow_invitation(tx: &mut dyn SyncTx, account: Uuid, id: Uuid, state: &RecordState, now: DateTime<Utc>) -> Result<(), ApiError> {
    let queued = state.deleted.is_none() && text(state, "status").as_deref() == Some("queued");
    if !queued {
        tx.cancel_invitation(account, id, now).await?;
        return Ok(());
    }
    // Its code comes before it in the device's outbox; one that never reached the
    // server leaves nothing to send a link to.
    let code_id = text(state, "code_id").and_then(|c| Uuid::parse_str(&c).ok());
    let code = match code_id {
        Some(code_id) => tx.record(account, Entity::Code, code_id).await?,
        None => None,
    };
    let Some(referral_code) = code.as_ref().and_then(|c| text(c, "code")) else {
        tracing::warn!(invitation = %id, "a queued invitation without its code on the server is not sent");
        return Ok(());
    };
    let send_after = text(state, "send_after")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let invitation = QueuedInvitation {
        id,
        account_id: account,
        referral_code,
        wedding_date: text(state, "wedding_date").and_then(|d| d.parse::<NaiveDate>().ok()),
        send_after,
        at: now,
    };
    tx.queue_invitation(&invitation).await?;
    Ok(())
}

/// Invitations queued in the app before the server sent email (before migration 13)
/// never got a delivery: they are queued now, as a push would have queued them. Run when
/// the server starts; queuing is idempotent, so several processes starting together agree,
/// and once caught up it finds nothing. How many queued invitations it found.
pub async fn queue_missed_invitations(store: &Arc<dyn Store>, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let missed: Vec<_> = store
        .invitations_without_delivery()
        .await?
        .into_iter()
        .filter(|(_, _, state)| state.deleted.is_none() && text(state, "status").as_deref() == Some("queued"))
        .collect();
    if missed.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin_sync().await?;
    for (account, id, _) in &missed {
        // Read again in the transaction: a push may have taken it back to drafts since.
        if let Some(state) = tx.record(*account, Entity::Invitation, *id).await? {
            follow_invitation(tx.as_mut(), *account, *id, &state, now).await?;
        }
    }
    tx.commit().await?;
    Ok(missed.len())
}

fn text(state: &RecordState, field: &str) -> Option<String> {
    state.fields.get(field).and_then(Value::as_str).map(str::to_string)
}

fn time(state: &RecordState, field: &str, seq: i64) -> Result<DateTime<Utc>, ApiError> {
    text(state, field)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid("invalid_change", format!("change {seq}: {field} must be an RFC 3339 time")))
}

/// A couple captured at the booth becomes a fair-lead touch on the code they were
/// shown, at the time they were captured, linked to them by email when they sign up.
async fn add_fair_lead(tx: &mut dyn SyncTx, account: Uuid, id: Uuid, lead: &RecordState, seq: i64) -> Result<(), ApiError> {
    let invalid = |m: &str| ApiError::invalid("invalid_change", format!("change {seq}: {m}. Nothing was applied."));
    let reference = |field: &str| text(lead, field).and_then(|t| Uuid::parse_str(&t).ok());
    let code_id = reference("code_id").ok_or_else(|| invalid("lead.code_id must be a code's id"))?;
    let contact_id = reference("contact_id").ok_or_else(|| invalid("lead.contact_id must be a contact's id"))?;
    let code = tx.record(account, Entity::Code, code_id).await?.and_then(|c| text(&c, "code"));
    let code = code.ok_or_else(|| invalid("the lead's code has not been sent before the lead"))?;
    let contact = tx.record(account, Entity::Contact, contact_id).await?;
    let contact = contact.ok_or_else(|| invalid("the lead's contact has not been sent before the lead"))?;
    // Without an email the lead cannot be matched to a sign-up; it stays a contact only.
    let Some(email) = text(&contact, "email") else { return Ok(()) };
    let fair_lead = NewFairLead {
        id,
        code,
        referrer_id: account,
        couple_names: text(&contact, "names").unwrap_or_default(),
        email,
        wedding_date: text(&contact, "wedding_date").and_then(|d| d.parse::<NaiveDate>().ok()),
        captured_at: time(lead, "captured_at", seq)?.min(Utc::now()),
    };
    if !tx.add_fair_lead(&fair_lead).await? {
        return Err(invalid("the lead's code is not one of this account's referrals"));
    }
    Ok(())
}

/// The fair leads captured for a contact take its corrected names, email and date, and are
/// tied to a couple who already signed up with the corrected email; a lead whose contact
/// had no email at the booth becomes a fair lead once it has one.
async fn relink_fair_leads(tx: &mut dyn SyncTx, account: Uuid, contact_id: Uuid, contact: &RecordState, seq: i64) -> Result<(), ApiError> {
    let names = text(contact, "names").unwrap_or_default();
    let email = text(contact, "email");
    let date = text(contact, "wedding_date").and_then(|d| d.parse::<NaiveDate>().ok());
    for lead_id in tx.leads_of_contact(account, contact_id).await? {
        if !tx.relink_fair_lead(account, lead_id, &names, email.as_deref(), date).await? {
            if let Some(lead) = tx.record(account, Entity::Lead, lead_id).await? {
                add_fair_lead(tx, account, lead_id, &lead, seq).await?;
            }
        }
    }
    Ok(())
}

pub async fn state(store: &Arc<dyn Store>, caller: &Caller, epoch: &str) -> Result<SyncState, ApiError> {
    let (applied_through, last_change) = store.sync_position(caller.account.id, caller.device_id).await?;
    Ok(SyncState { applied_through, last_change, epoch: epoch.to_string(), server_time: Utc::now() })
}

/// The version of an app that says none: every app before the `profile` record.
const UNSTATED_VERSION: u32 = 2;

pub async fn pull(
    store: &Arc<dyn Store>,
    caller: &Caller,
    after: i64,
    epoch: Option<&str>,
    limit: Option<i64>,
    version: Option<u32>,
    server_epoch: &str,
) -> Result<PullPage, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PULL);
    if !(1..=MAX_BATCH as i64).contains(&limit) {
        return Err(ApiError::BadRequest { code: "invalid_limit", message: format!("limit must be between 1 and {MAX_BATCH}") });
    }
    if after < 0 {
        return Err(ApiError::BadRequest { code: "invalid_cursor", message: "after must be 0 or a next_after this server gave".into() });
    }
    let now = Utc::now();
    let (_, last_change) = store.sync_position(caller.account.id, caller.device_id).await?;
    // A cursor from another epoch, or past the newest change, was not given by this
    // database as it is now (e.g. it was restored from a backup): start again.
    if epoch.is_some_and(|e| e != server_epoch) || after > last_change {
        return Ok(PullPage { reset: true, epoch: server_epoch.to_string(), records: vec![], next_after: 0, more: true, server_time: now });
    }
    let mut records = store.pull(caller.account.id, after, limit + 1).await?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let next_after = records.last().map_or(after, |r| r.change);
    // Kinds the app cannot read are skipped, past them the cursor still moves.
    let version = version.unwrap_or(UNSTATED_VERSION);
    records.retain(|r| r.entity.since_version() <= version);
    Ok(PullPage { reset: false, epoch: server_epoch.to_string(), records, next_after, more, server_time: now })
}

pub async fn code_statuses(store: &Arc<dyn Store>, caller: &Caller) -> Result<Vec<CodeStatus>, ApiError> {
    Ok(store.code_statuses(caller.account.id, Utc::now()).await?)
}
