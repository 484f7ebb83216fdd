//! Notifications in SQL once for both databases (docs/notifications.md): written in the
//! transaction of what they tell ([`notify`]), listed for the app, emailed by the sender
//! (at least once: a process stopped mid-send leaves a claim that lapses and is tried
//! again), and each account's choice of which kinds to email.

use async_trait::async_trait;
use bouquet_core::notifications::{Message, NotificationKind, NotificationPreference, NotificationView, Notice, preferences_with_defaults};
use bouquet_core::AccountKind;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::db::{Tx, args};
use super::dialect::skipping_locked;
use super::email::SendOutcome;
use super::rows::Columns;
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// Writes a notification for `account_id` in the caller's transaction: the app sees it,
/// and its email is sent, if and only if the transaction commits.
pub(super) async fn notify(tx: &mut Tx, account_id: Uuid, notice: &Notice, m: &Message, at: DateTime<Utc>) -> StoreResult<()> {
    let notice = serde_json::to_string(notice).map_err(|e| StoreError::Corrupt(format!("a notice: {e}")))?;
    // A deleted account is told nothing more (its rewards still move, so the books do).
    tx.execute(
        "INSERT INTO notifications (id, account_id, kind, title, body, notice, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND deleted_at IS NOT NULL)",
        &args![Uuid::now_v7(), account_id, m.kind.as_str(), m.title.as_str(), m.body.as_str(), notice.as_str(), at],
    )
    .await?;
    Ok(())
}

/// The notice a row keeps, if it keeps one this server can read (rows from before it did,
/// or from a newer server, are told in their stored words).
fn notice_of(row: &impl Columns) -> StoreResult<Option<Notice>> {
    Ok(row.opt_text("notice")?.and_then(|json| serde_json::from_str(&json).ok()))
}

fn view(row: &impl Columns) -> StoreResult<NotificationView> {
    let kind = row.text("kind")?;
    Ok(NotificationView {
        id: row.uuid("id")?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("notification kind {kind}")))?,
        title: row.text("title")?,
        body: row.text("body")?,
        created_at: row.time("created_at")?,
    })
}

/// A notification as stored: its words when it was made, and what happened.
#[derive(Debug, Clone)]
pub struct StoredNotification {
    pub view: NotificationView,
    pub notice: Option<Notice>,
}

/// One notification email the sender claimed.
#[derive(Debug, Clone)]
pub struct NotificationEmail {
    pub id: Uuid,
    pub to: String,
    /// The account's name (business or couple), for the greeting.
    pub name: Option<String>,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// Whether the account still wants this kind by email.
    pub wanted: bool,
    /// Whose: a couple chooses their emails on their page, a supplier in the app.
    pub account_kind: AccountKind,
    pub attempts: i64,
    /// The language the account chose, if any.
    pub locale: Option<String>,
    /// What happened, told again in `locale` when the email is written.
    pub notice: Option<Notice>,
}

/// How a notification's email ended (or waits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationEmailOutcome {
    Send(SendOutcome),
    /// The account turned this kind's email off.
    Off,
    /// The address unsubscribed from every email.
    Suppressed,
}

/// A notification with how its email went, for the operators' console.
#[derive(Debug, Clone)]
pub struct NotificationLogRow {
    pub notification: NotificationView,
    /// `pending`, `sent`, `failed`, `off` (the account turned the kind off) or
    /// `suppressed` (the address unsubscribed from everything).
    pub email_status: String,
    pub email_error: Option<String>,
}

/// An account a campaign's start may be announced to, with what its targeting reads.
#[derive(Debug, Clone)]
pub struct AudienceMember {
    pub account_id: Uuid,
    pub kind: AccountKind,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    pub successful_referrals: i64,
    /// The language the account chose, if any.
    pub locale: Option<String>,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// The account's newest notifications, newest first.
    async fn notifications_of(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<StoredNotification>>;
    /// The account's newest notifications with how each one's email went (the console).
    async fn notification_log(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<NotificationLogRow>>;
    /// Every kind's email choice (defaults for kinds never chosen).
    async fn notification_preferences(&self, account_id: Uuid) -> StoreResult<Vec<NotificationPreference>>;
    /// Sets choices made at their `changed_at` (else `at`); a choice older than the one
    /// kept is ignored.
    async fn set_notification_preferences(&self, account_id: Uuid, choices: &[NotificationPreference], at: DateTime<Utc>) -> StoreResult<()>;
    /// Claims up to `limit` notification emails due, for `lease`.
    async fn claim_notification_emails(&self, limit: i64, lease: Duration, now: DateTime<Utc>) -> StoreResult<Vec<NotificationEmail>>;
    async fn finish_notification_email(&self, id: Uuid, outcome: &NotificationEmailOutcome, now: DateTime<Utc>) -> StoreResult<()>;
    /// Active campaigns whose start nobody announced yet.
    async fn unannounced_campaigns(&self) -> StoreResult<Vec<Uuid>>;
    /// The accounts (not operators) a campaign for `kind` (any when `None`) may cover.
    async fn campaign_audience(&self, kind: Option<AccountKind>) -> StoreResult<Vec<AudienceMember>>;
    /// Announces a campaign's start once: marks it announced and tells each recipient its
    /// message, in one transaction; `false` when another process announced it first.
    async fn announce_campaign(&self, campaign_id: Uuid, notice: &Notice, recipients: &[(Uuid, Message)], now: DateTime<Utc>) -> StoreResult<bool>;
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn notifications_of(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<StoredNotification>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT id, kind, title, body, notice, created_at FROM notifications WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                &args![account_id, limit],
            )
            .await?;
        rows.iter().map(|r| Ok(StoredNotification { view: view(r)?, notice: notice_of(r)? })).collect()
    }

    async fn notification_log(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<NotificationLogRow>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT id, kind, title, body, created_at, email_status, email_error FROM notifications
                 WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                &args![account_id, limit],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(NotificationLogRow { notification: view(r)?, email_status: r.text("email_status")?, email_error: r.opt_text("email_error")? }))
            .collect()
    }

    async fn notification_preferences(&self, account_id: Uuid) -> StoreResult<Vec<NotificationPreference>> {
        let rows = self.pool().fetch_all("SELECT kind, email, updated_at FROM notification_preferences WHERE account_id = $1", &args![account_id]).await?;
        let chosen = rows
            .iter()
            .filter_map(|r| {
                let kind = NotificationKind::parse(&r.text("kind").ok()?)?;
                Some(r.flag("email").and_then(|email| Ok(NotificationPreference { kind, email, changed_at: Some(r.time("updated_at")?) })))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(preferences_with_defaults(&chosen))
    }

    async fn set_notification_preferences(&self, account_id: Uuid, choices: &[NotificationPreference], at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool().begin_write().await?;
        for choice in choices {
            // The later choice stands (two devices, one offline); never one from the future.
            let made = choice.changed_at.map_or(at, |c| c.min(at));
            tx.execute(
                "INSERT INTO notification_preferences (account_id, kind, email, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, kind) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at
                 WHERE notification_preferences.updated_at <= excluded.updated_at",
                &args![account_id, choice.kind.as_str(), choice.email, made],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_notification_emails(&self, limit: i64, lease: Duration, now: DateTime<Utc>) -> StoreResult<Vec<NotificationEmail>> {
        // Most ticks find nothing: a plain read first, so an idle sender never takes
        // SQLite's write lock.
        let due = self
            .pool()
            .fetch_optional(
                "SELECT 1 AS one FROM notifications WHERE email_status = 'pending' AND (email_next_at IS NULL OR email_next_at <= $1)
                   AND (email_claimed_until IS NULL OR email_claimed_until < $1) LIMIT 1",
                &args![now],
            )
            .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool().begin_write().await?;
        let sql = skipping_locked!(
            tx.dialect(),
            "SELECT id FROM notifications
             WHERE email_status = 'pending' AND (email_next_at IS NULL OR email_next_at <= $1)
               AND (email_claimed_until IS NULL OR email_claimed_until < $1)
             ORDER BY id LIMIT $2"
        );
        let ids = tx.fetch_all(sql, &args![now, limit]).await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for row in ids {
            let id = row.uuid("id")?;
            tx.execute("UPDATE notifications SET email_claimed_until = $2 WHERE id = $1", &args![id, now + lease]).await?;
            let n = tx
                .fetch_one(
                    "SELECT n.kind, n.title, n.body, n.notice, n.email_attempts, a.email, a.kind AS account_kind, a.locale, COALESCE(a.business_name, a.couple_names) AS name,
                            COALESCE((SELECT p.email FROM notification_preferences p WHERE p.account_id = n.account_id AND p.kind = n.kind), TRUE) AS wanted
                     FROM notifications n JOIN accounts a ON a.id = n.account_id WHERE n.id = $1",
                    &args![id],
                )
                .await?;
            let kind = n.text("kind")?;
            claimed.push(NotificationEmail {
                id,
                to: n.text("email")?,
                name: n.opt_text("name")?,
                kind: NotificationKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("notification kind {kind}")))?,
                title: n.text("title")?,
                body: n.text("body")?,
                wanted: n.flag("wanted")?,
                account_kind: {
                    let kind = n.text("account_kind")?;
                    AccountKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?
                },
                attempts: n.int("email_attempts")?,
                locale: n.opt_text("locale")?,
                notice: notice_of(&n)?,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_notification_email(&self, id: Uuid, outcome: &NotificationEmailOutcome, now: DateTime<Utc>) -> StoreResult<()> {
        let pool = self.pool();
        match outcome {
            NotificationEmailOutcome::Send(SendOutcome::Sent) => {
                pool.execute(
                    "UPDATE notifications SET email_status = 'sent', emailed_at = $2, email_attempts = email_attempts + 1, email_claimed_until = NULL, email_error = NULL WHERE id = $1",
                    &args![id, now],
                )
                .await?
            }
            NotificationEmailOutcome::Send(SendOutcome::Retry { error, at }) => {
                pool.execute(
                    "UPDATE notifications SET email_attempts = email_attempts + 1, email_next_at = $2, email_error = $3, email_claimed_until = NULL WHERE id = $1",
                    &args![id, *at, error.as_str()],
                )
                .await?
            }
            NotificationEmailOutcome::Send(SendOutcome::Failed(reason)) => {
                pool.execute(
                    "UPDATE notifications SET email_status = 'failed', email_attempts = email_attempts + 1, email_error = $2, email_claimed_until = NULL WHERE id = $1",
                    &args![id, reason.as_str()],
                )
                .await?
            }
            NotificationEmailOutcome::Off | NotificationEmailOutcome::Suppressed => {
                let status = if *outcome == NotificationEmailOutcome::Off { "off" } else { "suppressed" };
                pool.execute("UPDATE notifications SET email_status = $2, email_claimed_until = NULL WHERE id = $1", &args![id, status]).await?
            }
        };
        Ok(())
    }

    async fn unannounced_campaigns(&self) -> StoreResult<Vec<Uuid>> {
        let rows = self.pool().fetch_all("SELECT id FROM campaigns WHERE status = 'active' AND announced_at IS NULL ORDER BY starts_at", &[]).await?;
        rows.iter().map(|r| r.uuid("id")).collect()
    }

    async fn campaign_audience(&self, kind: Option<AccountKind>) -> StoreResult<Vec<AudienceMember>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT a.id, a.kind, a.vendor_type, a.location, a.locale, COALESCE(s.successful_referrals, 0) AS successful
                 FROM accounts a LEFT JOIN referrer_standing s ON s.account_id = a.id
                 WHERE a.kind <> 'admin' AND a.deleted_at IS NULL AND ($1 IS NULL OR a.kind = $1)",
                &args![kind.map(AccountKind::as_str)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let kind = r.text("kind")?;
                Ok(AudienceMember {
                    account_id: r.uuid("id")?,
                    kind: AccountKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?,
                    vendor_type: r.opt_text("vendor_type")?,
                    location: r.opt_text("location")?,
                    successful_referrals: r.int("successful")?,
                    locale: r.opt_text("locale")?,
                })
            })
            .collect()
    }

    async fn announce_campaign(&self, campaign_id: Uuid, notice: &Notice, recipients: &[(Uuid, Message)], now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        let claimed = tx
            .execute("UPDATE campaigns SET announced_at = $2 WHERE id = $1 AND announced_at IS NULL", &args![campaign_id, now])
            .await?;
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (account, message) in recipients {
            notify(&mut tx, *account, notice, message, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
