//! Outgoing webhooks in SQL once for both databases (docs/webhooks.md): subscriptions, the
//! outbox an event is written to in its own transaction ([`emit`]), the deliveries a
//! dispatcher claims, and the log of attempts.

use async_trait::async_trait;
use bouquet_core::Channel;
use bouquet_core::webhooks::{AttemptView, DeliveryView, EventType, WebhookView};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::db::{Pool, Tx, args};
use super::dialect::skipping_locked;
use super::rows::Columns;
use super::sql::SqlStore;
use super::StoreResult;

/// One delivery a dispatcher claimed: what to post, where, signed with what.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub event_id: Uuid,
    pub subscription_id: Uuid,
    pub url: String,
    pub secret: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What the dispatcher decided after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// Given up: the subscription is disabled with this reason.
    GiveUp(String),
}

fn event_list(types: &[EventType]) -> String {
    let mut names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    names.sort();
    names.dedup();
    format!(" {} ", names.join(" "))
}

fn parse_list(text: &str) -> Vec<EventType> {
    text.split_whitespace().filter_map(EventType::parse).collect()
}

/// Writes an event to the outbox, in the caller's transaction, with one delivery for each
/// live subscription to its type: it is sent if and only if the transaction commits.
/// `at` is when it happened (the body's `timestamp`: a device's lead may be days old);
/// the delivery's clock — due now, given up a day from now — is the server's.
pub(super) async fn emit(tx: &mut Tx, event_type: EventType, payload: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()> {
    let id = Uuid::now_v7();
    let pattern = format!("% {} %", event_type.as_str());
    let body = serde_json::json!({"type": event_type.as_str(), "timestamp": at, "data": payload}).to_string();
    let now = Utc::now();
    // Written only if someone listens (no outbox row otherwise): the check and the write
    // are one statement, so a hot path pays one round trip when nobody subscribes and
    // two when someone does.
    let written = tx
        .execute(
            "INSERT INTO webhook_events (id, event_type, payload, created_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM webhook_subscriptions
                WHERE deleted_at IS NULL AND disabled_at IS NULL AND event_types LIKE $5)",
            &args![id, event_type.as_str(), body.as_str(), now, pattern.as_str()],
        )
        .await?;
    if written == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO webhook_deliveries (event_id, subscription_id, status, next_attempt_at, created_at)
         SELECT $1, id, 'pending', $2, $2 FROM webhook_subscriptions
         WHERE deleted_at IS NULL AND disabled_at IS NULL AND event_types LIKE $3",
        &args![id, now, pattern.as_str()],
    )
    .await?;
    Ok(())
}

/// `touch.recorded`'s body: the journey's step, never the visitor's traces (no IP hash,
/// user agent or visitor key).
pub(super) fn touch_payload(touch_id: Uuid, referral_id: Uuid, referrer_id: Uuid, channel: Channel, at: DateTime<Utc>, unique: bool) -> serde_json::Value {
    serde_json::json!({
        "touch_id": touch_id,
        "referral_id": referral_id,
        "referrer_id": referrer_id,
        "channel": channel,
        "occurred_at": at,
        "unique": unique,
    })
}

/// `lead.created`'s body: which referral the lead came through and where; the couple's
/// name and address stay in Bouquet.
pub(super) fn lead_payload(lead_id: Uuid, touch_id: Uuid, referral_id: Uuid, wedding_date: Option<chrono::NaiveDate>, source: &str, at: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "lead_id": lead_id,
        "touch_id": touch_id,
        "referral_id": referral_id,
        "wedding_date": wedding_date,
        "source": source,
        "created_at": at,
    })
}

/// Which event types have a live subscription, as this process last read them: the
/// landing page's hot path asks it instead of the database (one statement per visit when
/// nobody subscribes to `touch.recorded`). A subscription made in another process is seen
/// within [`Interest::FRESH_FOR`]; one made or deleted here at once.
#[derive(Default)]
pub struct Interest {
    known: std::sync::Mutex<Option<(std::time::Instant, Vec<EventType>)>>,
}

impl Interest {
    pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

    pub(super) fn cached(&self, event: EventType) -> Option<bool> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.as_ref().filter(|(at, _)| at.elapsed() < Self::FRESH_FOR).map(|(_, types)| types.contains(&event))
    }

    pub(super) fn remember(&self, types: Vec<EventType>) {
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), types));
    }

    pub(super) fn forget(&self) {
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Whether a live subscription wants `event`, from [`Interest`] when it is fresh.
pub(super) async fn subscribed(pool: &Pool, interest: &Interest, event: EventType) -> StoreResult<bool> {
    if let Some(known) = interest.cached(event) {
        return Ok(known);
    }
    let rows = pool
        .fetch_all("SELECT DISTINCT event_types FROM webhook_subscriptions WHERE deleted_at IS NULL AND disabled_at IS NULL", &[])
        .await?;
    let mut types = Vec::new();
    for row in rows {
        types.extend(parse_list(&row.text("event_types")?));
    }
    let wanted = types.contains(&event);
    interest.remember(types);
    Ok(wanted)
}

fn subscription(row: &impl Columns) -> StoreResult<WebhookView> {
    Ok(WebhookView {
        id: row.uuid("id")?,
        url: row.text("url")?,
        event_types: parse_list(&row.text("event_types")?),
        description: row.opt_text("description")?,
        created_at: row.time("created_at")?,
        disabled_at: row.opt_time("disabled_at")?,
        disabled_reason: row.opt_text("disabled_reason")?,
        secret: None,
    })
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, url: &str, types: &[EventType], description: Option<&str>, secret: &str, at: DateTime<Utc>) -> StoreResult<WebhookView>;
    /// Live (not deleted) subscriptions, newest first.
    async fn webhooks(&self) -> StoreResult<Vec<WebhookView>>;
    /// Deletes a subscription: its pending deliveries stop. `false` when there is none.
    async fn delete_webhook(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// A subscription's newest deliveries with their attempts; `None` when it does not exist.
    async fn webhook_deliveries(&self, id: Uuid, limit: i64) -> StoreResult<Option<Vec<DeliveryView>>>;
    /// Claims up to `limit` due deliveries for `lease`.
    async fn claim_deliveries(&self, limit: i64, lease: Duration, now: DateTime<Utc>) -> StoreResult<Vec<DueDelivery>>;
    /// Records an attempt and what follows from it.
    async fn record_attempt(&self, delivery: &DueDelivery, attempt: &Attempt, outcome: &AttemptOutcome) -> StoreResult<()>;
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, url: &str, types: &[EventType], description: Option<&str>, secret: &str, at: DateTime<Utc>) -> StoreResult<WebhookView> {
        let id = Uuid::now_v7();
        self.pool()
            .execute(
                "INSERT INTO webhook_subscriptions (id, url, event_types, secret, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &args![id, url, event_list(types).as_str(), secret, description, at],
            )
            .await?;
        self.interest().forget();
        let row = self.pool().fetch_one("SELECT * FROM webhook_subscriptions WHERE id = $1", &args![id]).await?;
        subscription(&row)
    }

    async fn webhooks(&self) -> StoreResult<Vec<WebhookView>> {
        let rows = self.pool().fetch_all("SELECT * FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY created_at DESC, id", &[]).await?;
        rows.iter().map(subscription).collect()
    }

    async fn delete_webhook(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        let deleted = tx
            .execute("UPDATE webhook_subscriptions SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL", &args![id, at])
            .await?;
        tx.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE subscription_id = $1 AND status = 'pending'", &args![id])
            .await?;
        tx.commit().await?;
        self.interest().forget();
        Ok(deleted == 1)
    }

    async fn webhook_deliveries(&self, id: Uuid, limit: i64) -> StoreResult<Option<Vec<DeliveryView>>> {
        let pool = self.pool();
        if pool.fetch_optional("SELECT 1 AS one FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL", &args![id]).await?.is_none() {
            return Ok(None);
        }
        let rows = pool
            .fetch_all(
                "SELECT d.event_id, e.event_type, d.status, d.next_attempt_at, d.created_at FROM webhook_deliveries d
                 JOIN webhook_events e ON e.id = d.event_id
                 WHERE d.subscription_id = $1 ORDER BY d.created_at DESC, d.event_id DESC LIMIT $2",
                &args![id, limit],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let event_id = row.uuid("event_id")?;
            let attempts = pool
                .fetch_all(
                    "SELECT at, status_code, error, duration_ms FROM webhook_attempts WHERE event_id = $1 AND subscription_id = $2 ORDER BY at",
                    &args![event_id, id],
                )
                .await?
                .iter()
                .map(|a| Ok(AttemptView { at: a.time("at")?, status_code: a.opt_int("status_code")?, error: a.opt_text("error")?, duration_ms: a.int("duration_ms")? }))
                .collect::<StoreResult<Vec<_>>>()?;
            let status = row.text("status")?;
            out.push(DeliveryView {
                event_id,
                event_type: row.parsed("event_type", EventType::parse)?,
                next_attempt_at: if status == "pending" { Some(row.time("next_attempt_at")?) } else { None },
                status,
                attempts,
                created_at: row.time("created_at")?,
            });
        }
        Ok(Some(out))
    }

    async fn claim_deliveries(&self, limit: i64, lease: Duration, now: DateTime<Utc>) -> StoreResult<Vec<DueDelivery>> {
        // Most ticks find nothing: a plain read first, so an idle dispatcher never takes
        // SQLite's write lock.
        let due = self
            .pool()
            .fetch_optional(
                "SELECT 1 AS one FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1",
                &args![now],
            )
            .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool().begin_write().await?;
        let sql = skipping_locked!(
            tx.dialect(),
            "SELECT event_id, subscription_id, attempts, created_at FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
             ORDER BY next_attempt_at LIMIT $2"
        );
        let rows = tx.fetch_all(sql, &args![now, limit]).await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let (event_id, subscription_id) = (row.uuid("event_id")?, row.uuid("subscription_id")?);
            tx.execute(
                "UPDATE webhook_deliveries SET claimed_until = $3 WHERE event_id = $1 AND subscription_id = $2",
                &args![event_id, subscription_id, now + lease],
            )
            .await?;
            let detail = tx
                .fetch_one(
                    "SELECT s.url, s.secret, e.payload FROM webhook_subscriptions s, webhook_events e WHERE s.id = $1 AND e.id = $2",
                    &args![subscription_id, event_id],
                )
                .await?;
            due.push(DueDelivery {
                event_id,
                subscription_id,
                url: detail.text("url")?,
                secret: detail.text("secret")?,
                payload: detail.text("payload")?,
                attempts: row.int("attempts")?,
                created_at: row.time("created_at")?,
            });
        }
        tx.commit().await?;
        Ok(due)
    }

    async fn record_attempt(&self, delivery: &DueDelivery, attempt: &Attempt, outcome: &AttemptOutcome) -> StoreResult<()> {
        let mut tx = self.pool().begin_write().await?;
        let (ev, sub) = (delivery.event_id, delivery.subscription_id);
        tx.execute(
            "INSERT INTO webhook_attempts (event_id, subscription_id, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            &args![ev, sub, attempt.at, attempt.status_code, attempt.error.as_deref(), attempt.duration_ms],
        )
        .await?;
        match outcome {
            AttemptOutcome::Delivered => {
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, claimed_until = NULL WHERE event_id = $1 AND subscription_id = $2",
                    &args![ev, sub],
                )
                .await?;
            }
            AttemptOutcome::RetryAt(at) => {
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $3, claimed_until = NULL WHERE event_id = $1 AND subscription_id = $2",
                    &args![ev, sub, *at],
                )
                .await?;
            }
            AttemptOutcome::GiveUp(reason) => {
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, claimed_until = NULL WHERE event_id = $1 AND subscription_id = $2",
                    &args![ev, sub],
                )
                .await?;
                // A receiver failing for a day is switched off: its other pending deliveries stop.
                tx.execute(
                    "UPDATE webhook_subscriptions SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL",
                    &args![sub, attempt.at, reason.as_str()],
                )
                .await?;
                tx.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE subscription_id = $1 AND status = 'pending'", &args![sub])
                    .await?;
            }
        }
        tx.commit().await
    }
}
