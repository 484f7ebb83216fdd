//! Outgoing webhooks (docs/webhooks.md): operators' subscriptions, and the dispatcher
//! that posts each event from the outbox, signed as Standard Webhooks does, at least once,
//! retrying with a growing wait; a receiver that keeps failing for a day is disabled and
//! the operator told.

use std::sync::Arc;
use std::time::Instant;

use bouquet_core::delivery::retry_wait;
use bouquet_core::webhooks::{CreateWebhook, DeliveryView, WebhookView};
use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::service::webhook_signature::WebhookSecret;
use crate::store::{Attempt, AttemptOutcome, DueDelivery, Store};

/// How the dispatcher works.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub tick: std::time::Duration,
    /// A process's claim on the deliveries it is posting.
    pub lease: Duration,
    /// The wait after the first failed attempt; it doubles up to four hours.
    pub first_retry: Duration,
    /// A delivery still failing this long after its event gives up, and disables its
    /// subscription.
    pub give_up_after: Duration,
    /// How long a receiver may take to answer.
    pub timeout: std::time::Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            tick: std::time::Duration::from_secs(1),
            lease: Duration::minutes(2),
            first_retry: Duration::minutes(1),
            give_up_after: Duration::hours(24),
            timeout: std::time::Duration::from_secs(15),
        }
    }
}

/// A receiver's address: `https://`, or `http://` to this machine only (a test receiver,
/// a local tool) — never plain HTTP across a network.
fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = || ApiError::invalid("invalid_url", format!("'{url}' is not a webhook address: use https://… (http:// only to localhost)"));
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://").filter(|r| is_local(r))).ok_or_else(bad)?;
    if rest.is_empty() || rest.starts_with('/') || url.len() > 2000 || url.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok(())
}

fn is_local(rest: &str) -> bool {
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Makes a subscription; the answer carries its secret, shown this once.
pub async fn create(store: &Arc<dyn Store>, req: CreateWebhook) -> Result<WebhookView, ApiError> {
    let url = req.url.trim().to_string();
    check_url(&url)?;
    if req.event_types.is_empty() {
        return Err(ApiError::invalid("invalid_events", "name at least one event type".to_string()));
    }
    let description = req.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > 200) {
        return Err(ApiError::invalid("invalid_description", "the description is longer than 200 characters".to_string()));
    }
    let (_, secret) = WebhookSecret::generate();
    let mut view = store.create_webhook(&url, &req.event_types, description.as_deref(), &secret, Utc::now()).await?;
    view.secret = Some(secret);
    Ok(view)
}

pub async fn deliveries(store: &Arc<dyn Store>, id: Uuid) -> Result<Vec<DeliveryView>, ApiError> {
    store.webhook_deliveries(id, 100).await?.ok_or(ApiError::NotFound("no such webhook subscription"))
}

/// Posts due deliveries, a few at a time; several server processes share the outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    http: reqwest::Client,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, settings: WebhookSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            // A receiver answers for itself: a redirect is a failure, not a new address.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Bouquet-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        Self { store, settings, http }
    }

    pub async fn run(self) {
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "delivering webhooks failed; it will try again");
            }
        }
    }

    /// Posts everything due now. How many were delivered.
    pub async fn round(&self) -> Result<usize, crate::store::StoreError> {
        let mut delivered = 0;
        loop {
            let due = self.store.claim_deliveries(20, self.settings.lease, Utc::now()).await?;
            if due.is_empty() {
                return Ok(delivered);
            }
            for delivery in due {
                delivered += usize::from(self.post(&delivery).await?);
            }
        }
    }

    async fn post(&self, delivery: &DueDelivery) -> Result<bool, crate::store::StoreError> {
        let started = Instant::now();
        let at = Utc::now();
        let result = match WebhookSecret::parse(&delivery.secret) {
            Err(e) => Err(format!("the subscription's secret: {e}")),
            Ok(secret) => {
                let id = delivery.event_id.to_string();
                let timestamp = at.timestamp();
                let signature = secret.sign(&id, timestamp, delivery.payload.as_bytes());
                self.http
                    .post(&delivery.url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(delivery.payload.clone())
                    .send()
                    .await
                    .map_err(|e| format!("the receiver could not be reached: {e}"))
                    .map(|r| r.status().as_u16())
            }
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match &result {
            Ok(code) if (200..300).contains(code) => (Some(i64::from(*code)), None),
            Ok(code) => (Some(i64::from(*code)), Some(format!("the receiver answered {code}"))),
            Err(e) => (None, Some(e.clone())),
        };
        let ok = error.is_none();
        let outcome = if ok {
            AttemptOutcome::Delivered
        } else if at - delivery.created_at >= self.settings.give_up_after {
            let reason = format!(
                "every attempt for {} failed; the last: {}",
                human(self.settings.give_up_after),
                error.as_deref().unwrap_or("unknown")
            );
            tracing::warn!(subscription = %delivery.subscription_id, reason, "a webhook subscription is disabled");
            AttemptOutcome::GiveUp(reason)
        } else {
            AttemptOutcome::RetryAt(at + retry_wait(delivery.attempts + 1, self.settings.first_retry))
        };
        let attempt = Attempt { at, status_code, error, duration_ms };
        self.store.record_attempt(delivery, &attempt, &outcome).await?;
        Ok(ok)
    }
}

fn human(d: Duration) -> String {
    if d.num_hours() >= 1 { format!("{} hours", d.num_hours()) } else { format!("{} seconds", d.num_seconds()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_are_https_or_this_machine() {
        assert!(check_url("https://hooks.wedsync.example/bouquet").is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://hooks.wedsync.example/bouquet").is_err(), "plain HTTP across a network");
        assert!(check_url("http://localhost.evil.example/hook").is_err());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://a b").is_err());
    }
}
