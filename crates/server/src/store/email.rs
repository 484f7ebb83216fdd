//! Invitation email in SQL once for both databases (docs/email.md): the deliveries a
//! supplier's pushes queue, the batches the sender claims under each supplier's pacing, one
//! email's way from queued to sent or failed, the suppression list, and what the app is told.
//!
//! Never twice: an email is marked `sending` (committed) before the relay is spoken to and
//! `sent` after it accepts. A process that stops in between leaves it `sending`; once its
//! claim lapses it is marked failed as interrupted, never sent again — a couple who may
//! already have it does not get it twice.

use async_trait::async_trait;
use bouquet_core::delivery::{self, InvitationDelivery, Pacing, SendState, Waiting};
use bouquet_core::sync::Entity;
use bouquet_core::webhooks::EventType;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::db::args;
use super::dialect::skipping_locked;
use super::rows::{self, Columns};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// An invitation a push queued: what the sender needs besides its synced record.
#[derive(Debug, Clone)]
pub struct QueuedInvitation {
    pub id: Uuid,
    pub account_id: Uuid,
    pub referral_code: String,
    pub wedding_date: Option<NaiveDate>,
    /// Not before (the supplier's batch time; now when that has passed).
    pub send_after: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// One email about to go to the relay.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub id: Uuid,
    pub account_id: Uuid,
    pub to: String,
    pub couple_names: String,
    /// The invitation's personalised message as the supplier last wrote it.
    pub message: String,
    pub referral_code: String,
    /// The supplier's business name (or their email when they have none).
    pub supplier_name: String,
    /// Where the couple's replies go.
    pub supplier_email: String,
    /// The keyed hash of `to`: the unsubscribe token.
    pub address_hash: String,
    /// Failed attempts before this one.
    pub attempts: i64,
    /// The language of the email's own words (BCP 47), if known.
    pub locale: Option<String>,
}

/// One supplier's batch, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedBatch {
    pub account_id: Uuid,
    pub ids: Vec<Uuid>,
}

/// Why an email claimed for a batch does not go after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginSend {
    Go(Box<OutgoingEmail>),
    /// The supplier cancelled or deleted it, or another process has it.
    Gone,
    /// It failed before the relay was asked (the address unsubscribed, or is not one).
    Failed(String),
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Try again at `at` (the relay said "later", or could not be reached).
    Retry { error: String, at: DateTime<Utc> },
    Failed(String),
}

/// The sender's counts, for the console and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailBacklog {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub suppressed: i64,
}

impl PartialEq for OutgoingEmail {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for OutgoingEmail {}

#[async_trait]
pub trait EmailStore: Send + Sync {
    /// Marks emails left `sending` by a process that stopped (their claim lapsed) as
    /// failed: they may have reached the relay, so they are not sent again. How many.
    async fn fail_interrupted(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Claims the next batch of one supplier whose pacing allows one now: at most
    /// `pacing.allowance` of their due invitations, the most urgent weddings first. `None`
    /// when no supplier has a batch due.
    async fn claim_email_batch(&self, worker: &str, pacing: &Pacing, lease: Duration, now: DateTime<Utc>) -> StoreResult<Option<ClaimedBatch>>;
    /// The supplier's batch is done: their next may start after the pause.
    async fn end_email_batch(&self, account_id: Uuid, pause: Duration, now: DateTime<Utc>) -> StoreResult<()>;
    /// Takes a claimed email to `sending`, reading its address and message as they are now.
    async fn begin_send(
        &self,
        id: Uuid,
        worker: &str,
        address_hash: &(dyn for<'s> Fn(&'s str) -> String + Sync),
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<BeginSend>;
    async fn finish_send(&self, id: Uuid, worker: &str, outcome: &SendOutcome, now: DateTime<Utc>) -> StoreResult<()>;
    /// Adds the address an email went to (by its hash, the unsubscribe token) to the
    /// suppression list. `false` when no email went to such an address (an invitation or
    /// a couple's recommendation).
    async fn suppress(&self, address_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Whether the address with this hash unsubscribed; `None` when no email went to it.
    async fn suppressed(&self, address_hash: &str) -> StoreResult<Option<bool>>;
    /// The account's queued invitations and how each went.
    async fn invitation_deliveries(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<InvitationDelivery>>;
    async fn email_backlog(&self) -> StoreResult<EmailBacklog>;
    /// Synced invitations (not deleted) that have no delivery row: drafts, and any queued
    /// before the server sent email. (account, id, record).
    async fn invitations_without_delivery(&self) -> StoreResult<Vec<(Uuid, Uuid, bouquet_core::sync::RecordState)>>;
}

/// A transaction's part: what a push does to its invitations (called by `SyncTx`).
pub(super) async fn queue(tx: &mut super::db::Tx, q: &QueuedInvitation) -> StoreResult<()> {
    // A new one is queued; one the supplier cancelled and queued again, or sent again
    // after it failed, is queued afresh. One already queued, sending or sent is left as it is.
    tx.execute(
        "INSERT INTO invitation_emails (id, account_id, referral_code, wedding_date, status, next_attempt_at, queued_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6)
         ON CONFLICT (id) DO UPDATE SET status = 'queued', wedding_date = excluded.wedding_date, attempts = 0,
             next_attempt_at = excluded.next_attempt_at, last_error = NULL, claimed_by = NULL, claimed_until = NULL,
             queued_at = excluded.queued_at, updated_at = excluded.updated_at
         WHERE invitation_emails.account_id = excluded.account_id
           AND (invitation_emails.status = 'cancelled'
                -- Sent again from the app after it failed: a send time after the failure.
                OR (invitation_emails.status = 'failed' AND excluded.next_attempt_at > invitation_emails.updated_at))",
        &args![q.id, q.account_id, &q.referral_code, q.wedding_date, q.send_after, q.at],
    )
    .await?;
    // A wedding date moved while it waits moves it in the order.
    tx.execute(
        "UPDATE invitation_emails SET wedding_date = $3 WHERE id = $1 AND account_id = $2 AND status = 'queued'",
        &args![q.id, q.account_id, q.wedding_date],
    )
    .await?;
    Ok(())
}

/// The supplier took the invitation back (to drafts, or deleted it): cancelled if it has
/// not started to go.
pub(super) async fn cancel(tx: &mut super::db::Tx, account_id: Uuid, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
    tx.execute(
        "UPDATE invitation_emails SET status = 'cancelled', claimed_by = NULL, claimed_until = NULL, updated_at = $3
         WHERE id = $1 AND account_id = $2 AND status = 'queued'",
        &args![id, account_id, at],
    )
    .await?;
    Ok(())
}

fn field(fields: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    fields.get(name).and_then(Value::as_str).map(str::to_string).filter(|s| !s.trim().is_empty())
}

#[async_trait]
impl EmailStore for SqlStore {
    async fn fail_interrupted(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        // A plain read first: an idle sender never takes SQLite's write lock.
        let stuck = self
            .pool()
            .fetch_optional("SELECT 1 AS one FROM invitation_emails WHERE status = 'sending' AND claimed_until < $1 LIMIT 1", &args![now])
            .await?;
        if stuck.is_none() {
            return Ok(0);
        }
        self.pool()
            .execute(
                // claimed_by stays: should that process be alive after all (only slow), its
                // word on how the send went still lands (finish_send).
                "UPDATE invitation_emails SET status = 'failed', claimed_until = NULL, updated_at = $1,
                     last_error = 'the server stopped while handing it to the mail relay, so it may or may not have arrived; it is not sent twice — resend it by hand if the couple did not get it'
                 WHERE status = 'sending' AND claimed_until < $1",
                &args![now],
            )
            .await
    }

    async fn claim_email_batch(&self, worker: &str, pacing: &Pacing, lease: Duration, now: DateTime<Utc>) -> StoreResult<Option<ClaimedBatch>> {
        let due = self
            .pool()
            .fetch_optional("SELECT 1 AS one FROM invitation_emails WHERE status = 'queued' AND next_attempt_at <= $1 LIMIT 1", &args![now])
            .await?;
        if due.is_none() {
            return Ok(None);
        }
        let mut tx = self.pool().begin_write().await?;
        let dialect = tx.dialect();
        let candidates = tx
            .fetch_all(
                "SELECT DISTINCT e.account_id FROM invitation_emails e
                 LEFT JOIN email_pacing p ON p.account_id = e.account_id
                 WHERE e.status = 'queued' AND e.next_attempt_at <= $1 AND (e.claimed_until IS NULL OR e.claimed_until < $1)
                   AND (p.next_batch_at IS NULL OR p.next_batch_at <= $1)
                 LIMIT 50",
                &args![now],
            )
            .await?;
        let today = now.date_naive();
        for candidate in candidates {
            let account_id = candidate.uuid("account_id")?;
            tx.execute(
                "INSERT INTO email_pacing (account_id, next_batch_at, day, sent_on_day) VALUES ($1, $2, $3, 0)
                 ON CONFLICT (account_id) DO NOTHING",
                &args![account_id, now, today],
            )
            .await?;
            // Another process sending this supplier's batch holds the row: leave it to it.
            let sql = skipping_locked!(dialect, "SELECT next_batch_at, day, sent_on_day FROM email_pacing WHERE account_id = $1");
            let Some(pace) = tx.fetch_optional(sql, &args![account_id]).await? else { continue };
            if pace.time("next_batch_at")? > now {
                continue;
            }
            let sent_today = if pace.opt_date("day")? == Some(today) { pace.int("sent_on_day")? } else { 0 };
            let allowance = pacing.allowance(sent_today);
            if allowance == 0 {
                // The daily cap is reached: nothing more until tomorrow (UTC).
                let tomorrow = (today + Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                tx.execute(
                    "UPDATE email_pacing SET next_batch_at = $2, day = $3, sent_on_day = $4 WHERE account_id = $1",
                    &args![account_id, tomorrow, today, sent_today],
                )
                .await?;
                continue;
            }
            let waiting = tx
                .fetch_all(
                    "SELECT id, wedding_date, queued_at FROM invitation_emails
                     WHERE account_id = $1 AND status = 'queued' AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2)",
                    &args![account_id, now],
                )
                .await?
                .iter()
                .map(|r| Ok(Waiting { id: r.uuid("id")?, wedding_date: r.opt_date("wedding_date")?, queued_at: r.time("queued_at")? }))
                .collect::<StoreResult<Vec<_>>>()?;
            // The batch, most urgent first: the order it is sent in.
            let picked = delivery::next_batch(waiting, allowance, today);
            // Rows are locked in id order, as everywhere else, so two transactions never
            // wait on each other in opposite orders.
            let mut by_id = picked.clone();
            by_id.sort();
            let mut claimed = std::collections::HashSet::new();
            for id in by_id {
                // Read without a lock: a row another process took or moved since is skipped.
                let taken = tx
                    .execute(
                        "UPDATE invitation_emails SET claimed_by = $2, claimed_until = $3
                         WHERE id = $1 AND status = 'queued' AND (claimed_until IS NULL OR claimed_until < $4)",
                        &args![id, worker, now + lease, now],
                    )
                    .await?;
                if taken == 1 {
                    claimed.insert(id);
                }
            }
            let batch: Vec<Uuid> = picked.into_iter().filter(|id| claimed.contains(id)).collect();
            if batch.is_empty() {
                continue;
            }
            // The supplier is busy until the batch ends (`end_email_batch` starts the pause
            // then), or until the claim lapses should this process stop.
            tx.execute(
                "UPDATE email_pacing SET next_batch_at = $2, day = $3, sent_on_day = $4 WHERE account_id = $1",
                &args![account_id, now + lease, today, sent_today + batch.len() as i64],
            )
            .await?;
            tx.commit().await?;
            return Ok(Some(ClaimedBatch { account_id, ids: batch }));
        }
        tx.commit().await?;
        Ok(None)
    }

    async fn end_email_batch(&self, account_id: Uuid, pause: Duration, now: DateTime<Utc>) -> StoreResult<()> {
        self.pool()
            .execute("UPDATE email_pacing SET next_batch_at = $2 WHERE account_id = $1", &args![account_id, now + pause])
            .await?;
        Ok(())
    }

    async fn begin_send(
        &self,
        id: Uuid,
        worker: &str,
        address_hash: &(dyn for<'s> Fn(&'s str) -> String + Sync),
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<BeginSend> {
        let mut tx = self.pool().begin_write().await?;
        // `OF e`: only the email's row. Locking the supplier's account row too would queue
        // behind (and could deadlock with) every push inserting rows that reference it.
        let sql = tx.dialect().pick(
            concat!(
                "SELECT e.account_id, e.referral_code, e.attempts, a.business_name, a.email AS supplier_email, a.locale AS supplier_locale
                 FROM invitation_emails e JOIN accounts a ON a.id = e.account_id
                 WHERE e.id = $1 AND e.status = 'queued' AND e.claimed_by = $2"
            ),
            concat!(
                "SELECT e.account_id, e.referral_code, e.attempts, a.business_name, a.email AS supplier_email, a.locale AS supplier_locale
                 FROM invitation_emails e JOIN accounts a ON a.id = e.account_id
                 WHERE e.id = $1 AND e.status = 'queued' AND e.claimed_by = $2",
                " FOR UPDATE OF e"
            ),
        );
        let Some(row) = tx.fetch_optional(sql, &args![id, worker]).await? else {
            tx.rollback().await?;
            return Ok(BeginSend::Gone);
        };
        let account_id = row.uuid("account_id")?;
        let record = tx
            .fetch_optional(
                "SELECT fields, clocks, deleted FROM sync_records WHERE account_id = $1 AND entity = $2 AND id = $3",
                &args![account_id, Entity::Invitation.as_str(), id],
            )
            .await?;
        let state = record.as_ref().map(rows::record_state).transpose()?;
        let still_queued = state.as_ref().is_some_and(|s| s.deleted.is_none() && field(&s.fields, "status").as_deref() == Some("queued"));
        let Some(state) = state.filter(|_| still_queued) else {
            super::email::cancel(&mut tx, account_id, id, now).await?;
            tx.commit().await?;
            return Ok(BeginSend::Gone);
        };
        let outcome = match (field(&state.fields, "email"), field(&state.fields, "personal_message")) {
            (Some(to), Some(message)) => {
                let hash = address_hash(&to);
                let suppressed = tx
                    .fetch_optional("SELECT 1 AS one FROM email_suppressions WHERE address_hash = $1", &args![&hash])
                    .await?
                    .is_some();
                if suppressed {
                    Err(("the couple unsubscribed from Bouquet invitations, so no supplier's invitation goes to that address".to_string(), Some(hash)))
                } else {
                    // The couple's own language when they have an account; else the
                    // supplier's, the language their message is written in.
                    let couple_locale = match bouquet_core::account::normalize_email(&to) {
                        Some(address) => tx
                            .fetch_optional("SELECT locale FROM accounts WHERE email = $1", &args![&address])
                            .await?
                            .map(|r| r.opt_text("locale"))
                            .transpose()?
                            .flatten(),
                        None => None,
                    };
                    Ok(OutgoingEmail {
                        locale: couple_locale.or(row.opt_text("supplier_locale")?),
                        id,
                        account_id,
                        to,
                        couple_names: field(&state.fields, "couple_names").unwrap_or_default(),
                        message,
                        referral_code: row.text("referral_code")?,
                        supplier_name: row.opt_text("business_name")?.filter(|n| !n.trim().is_empty()).unwrap_or(row.text("supplier_email")?),
                        supplier_email: row.text("supplier_email")?,
                        address_hash: hash,
                        attempts: row.int("attempts")?,
                    })
                }
            }
            _ => Err(("the invitation has no address or no message".to_string(), None)),
        };
        match outcome {
            Ok(email) => {
                tx.execute(
                    "UPDATE invitation_emails SET status = 'sending', address_hash = $2, claimed_until = $3, updated_at = $4 WHERE id = $1",
                    &args![id, &email.address_hash, now + lease, now],
                )
                .await?;
                tx.commit().await?;
                Ok(BeginSend::Go(Box::new(email)))
            }
            Err((reason, hash)) => {
                tx.execute(
                    "UPDATE invitation_emails SET status = 'failed', last_error = $2, address_hash = COALESCE($3, address_hash),
                         claimed_by = NULL, claimed_until = NULL, updated_at = $4 WHERE id = $1",
                    &args![id, &reason, hash.as_deref(), now],
                )
                .await?;
                tx.commit().await?;
                Ok(BeginSend::Failed(reason))
            }
        }
    }

    async fn finish_send(&self, id: Uuid, worker: &str, outcome: &SendOutcome, now: DateTime<Utc>) -> StoreResult<()> {
        // Only the process that sent it records how it went: what happened is the truth,
        // even over an "interrupted" mark another process made while this one was slow.
        let mut tx = self.pool().begin_write().await?;
        let row = match outcome {
            SendOutcome::Sent => {
                tx.fetch_optional(
                    "UPDATE invitation_emails SET status = 'sent', sent_at = $3, last_error = NULL, claimed_by = NULL, claimed_until = NULL, updated_at = $3
                     WHERE id = $1 AND claimed_by = $2 RETURNING account_id",
                    &args![id, worker, now],
                )
                .await?
            }
            SendOutcome::Retry { error, at } => {
                tx.fetch_optional(
                    "UPDATE invitation_emails SET status = 'queued', attempts = attempts + 1, next_attempt_at = $4, last_error = $3,
                         claimed_by = NULL, claimed_until = NULL, updated_at = $5
                     WHERE id = $1 AND claimed_by = $2 RETURNING account_id",
                    &args![id, worker, error.as_str(), *at, now],
                )
                .await?
            }
            SendOutcome::Failed(reason) => {
                tx.fetch_optional(
                    "UPDATE invitation_emails SET status = 'failed', attempts = attempts + 1, last_error = $3, claimed_by = NULL, claimed_until = NULL, updated_at = $4
                     WHERE id = $1 AND claimed_by = $2 RETURNING account_id",
                    &args![id, worker, reason.as_str(), now],
                )
                .await?
            }
        };
        // The platform hears of it in the same transaction (docs/webhooks.md).
        let event = match outcome {
            SendOutcome::Sent => Some((EventType::InvitationSent, None)),
            SendOutcome::Failed(reason) => Some((EventType::InvitationFailed, Some(reason.as_str()))),
            SendOutcome::Retry { .. } => None,
        };
        if let (Some(row), Some((kind, reason))) = (row, event) {
            let payload = serde_json::json!({"invitation_id": id, "account_id": row.uuid("account_id")?, "reason": reason, "at": now});
            super::webhooks::emit(&mut tx, kind, &payload, now).await?;
        }
        tx.commit().await
    }

    async fn suppress(&self, address_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        let known = tx
            .fetch_optional(
                "SELECT 1 AS one FROM invitation_emails WHERE address_hash = $1
                 UNION ALL SELECT 1 AS one FROM friend_recommendations WHERE address_hash = $1 LIMIT 1",
                &args![address_hash],
            )
            .await?
            .is_some();
        if known {
            tx.execute(
                "INSERT INTO email_suppressions (address_hash, created_at) VALUES ($1, $2) ON CONFLICT (address_hash) DO NOTHING",
                &args![address_hash, now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(known)
    }

    async fn suppressed(&self, address_hash: &str) -> StoreResult<Option<bool>> {
        let row = self
            .pool()
            .fetch_optional(
                "SELECT (EXISTS (SELECT 1 FROM invitation_emails WHERE address_hash = $1)
                         OR EXISTS (SELECT 1 FROM friend_recommendations WHERE address_hash = $1)) AS known,
                        EXISTS (SELECT 1 FROM email_suppressions WHERE address_hash = $1) AS suppressed",
                &args![address_hash],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("no answer".into()))?;
        Ok(row.flag("known")?.then_some(row.flag("suppressed")?))
    }

    async fn invitation_deliveries(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<InvitationDelivery>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT e.id, e.status, e.attempts, e.next_attempt_at, e.last_error, e.sent_at, r.clicked_at, r.signed_up_at
                 FROM invitation_emails e LEFT JOIN referrals r ON r.code = e.referral_code AND r.referrer_id = e.account_id
                 WHERE e.account_id = $1 ORDER BY e.queued_at, e.id",
                &args![account_id],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let state = row.parsed("status", SendState::parse)?;
            let sent_at = row.opt_time("sent_at")?;
            let Some(status) = delivery::displayed_status(state, sent_at, row.opt_time("clicked_at")?, row.opt_time("signed_up_at")?, now)
            else {
                continue;
            };
            out.push(InvitationDelivery {
                id: row.uuid("id")?,
                status,
                reason: row.opt_text("last_error")?,
                attempts: row.int("attempts")?,
                next_attempt_at: (state == SendState::Queued).then(|| row.opt_time("next_attempt_at")).transpose()?.flatten(),
                sent_at,
            });
        }
        Ok(out)
    }

    async fn email_backlog(&self) -> StoreResult<EmailBacklog> {
        let pool = self.pool();
        let rows = pool.fetch_all("SELECT status, COUNT(*) AS n FROM invitation_emails GROUP BY status", &[]).await?;
        let mut backlog = EmailBacklog::default();
        for row in rows {
            let n = row.int("n")?;
            match row.text("status")?.as_str() {
                "queued" => backlog.queued = n,
                "sending" => backlog.sending = n,
                "sent" => backlog.sent = n,
                "failed" => backlog.failed = n,
                _ => {}
            }
        }
        backlog.suppressed = pool.fetch_one("SELECT COUNT(*) AS n FROM email_suppressions", &[]).await?.int("n")?;
        Ok(backlog)
    }

    async fn invitations_without_delivery(&self) -> StoreResult<Vec<(Uuid, Uuid, bouquet_core::sync::RecordState)>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT r.account_id, r.id, r.fields, r.clocks, r.deleted FROM sync_records r
                 WHERE r.entity = $1 AND r.deleted IS NULL AND NOT EXISTS (SELECT 1 FROM invitation_emails e WHERE e.id = r.id)
                 ORDER BY r.account_id, r.id",
                &args![Entity::Invitation.as_str()],
            )
            .await?;
        rows.iter().map(|r| Ok((r.uuid("account_id")?, r.uuid("id")?, rows::record_state(r)?))).collect()
    }
}
