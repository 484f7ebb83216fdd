//! Invitation email delivery (docs/email.md): the states an invitation passes through once
//! a supplier queues it, how the server paces a supplier's sending (the seed's smart
//! batching: batches of 10, a pause between them, a daily cap, the most urgent weddings
//! first), how long it waits before trying a relay again, and what the app is told.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::batching::{self, BATCH_SIZE, Urgency};

/// The seed: an invitation nobody opened expires 30 days after it was sent.
pub const EXPIRES_AFTER_DAYS: i64 = 30;
/// Attempts before a relay that keeps answering "try later" is given up on. With the
/// default first wait of a minute, doubling up to four hours, the last try is a day
/// after the first.
pub const MAX_ATTEMPTS: i64 = 14;
/// The longest wait between two attempts.
pub const MAX_RETRY_WAIT_SECONDS: i64 = 4 * 60 * 60;

/// Where a queued invitation stands, as the app shows it. The first four are the
/// server's sending; the last three what the couple did with a sent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its batch (or for the relay to be configured, or to retry).
    Queued,
    /// Being handed to the relay right now.
    Sending,
    /// The relay accepted it.
    Sent,
    /// It will not be sent: the relay refused it for good, the address unsubscribed, or
    /// retries ran out. `reason` says which.
    Failed,
    /// The couple visited the link.
    Opened,
    /// The couple signed up.
    Joined,
    /// Sent 30 days ago and never opened.
    Expired,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Opened => "opened",
            Self::Joined => "joined",
            Self::Expired => "expired",
        }
    }
}

/// How the server paces one supplier's invitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Pacing {
    /// Invitations per batch (the seed's 10).
    pub batch_size: u32,
    /// The pause between two batches of one supplier.
    pub pause_seconds: u32,
    /// The most invitations one supplier sends in a day (UTC).
    pub daily_cap: u32,
}

impl Default for Pacing {
    fn default() -> Self {
        Self { batch_size: BATCH_SIZE as u32, pause_seconds: 60, daily_cap: 200 }
    }
}

impl Pacing {
    /// How many of a supplier's invitations the next batch may take, `sent_today` having
    /// gone today.
    pub fn allowance(&self, sent_today: i64) -> usize {
        (self.daily_cap as i64 - sent_today).clamp(0, self.batch_size as i64) as usize
    }
}

/// The delivery of one queued invitation, as the server tells its supplier's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct InvitationDelivery {
    /// The invitation's id (its synced record).
    pub id: Uuid,
    pub status: DeliveryStatus,
    /// Why it failed, or why the last attempt did not go (while it waits to retry).
    pub reason: Option<String>,
    pub attempts: i64,
    /// When it is due to go (its batch, or its next retry), while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What `GET /api/v1/sync/invitations` answers: every invitation of the account the
/// server has been asked to send, and how it sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct DeliveryReport {
    /// Whether the server has a mail relay: without one, invitations wait in the queue.
    pub relay_configured: bool,
    pub pacing: Pacing,
    pub invitations: Vec<InvitationDelivery>,
}

/// What the server keeps of a delivery: its sending state, and what the couple did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendState {
    Queued,
    Sending,
    Sent,
    Failed,
    /// The supplier took it back before it went.
    Cancelled,
}

impl SendState {
    pub const ALL: [Self; 5] = [Self::Queued, Self::Sending, Self::Sent, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What the app shows for a delivery: a sent invitation is `joined` once its couple signed
/// up through it, `opened` once they visited, `expired` when 30 days passed without a
/// visit. `None` for a cancelled one (the app shows it as a draft again).
pub fn displayed_status(
    state: SendState,
    sent_at: Option<DateTime<Utc>>,
    visited_at: Option<DateTime<Utc>>,
    signed_up_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DeliveryStatus> {
    Some(match state {
        SendState::Queued => DeliveryStatus::Queued,
        SendState::Sending => DeliveryStatus::Sending,
        SendState::Failed => DeliveryStatus::Failed,
        SendState::Cancelled => return None,
        SendState::Sent if signed_up_at.is_some() => DeliveryStatus::Joined,
        SendState::Sent if visited_at.is_some() => DeliveryStatus::Opened,
        SendState::Sent if sent_at.is_some_and(|at| now - at >= Duration::days(EXPIRES_AFTER_DAYS)) => DeliveryStatus::Expired,
        SendState::Sent => DeliveryStatus::Sent,
    })
}

/// How long to wait after the `attempt`th failed try (1-based) before the next: `first`,
/// doubling, at most four hours.
pub fn retry_wait(attempt: i64, first: Duration) -> Duration {
    let doublings = (attempt - 1).clamp(0, 30) as u32;
    let wait = first.num_seconds().max(1).saturating_mul(1_i64 << doublings);
    Duration::seconds(wait.min(MAX_RETRY_WAIT_SECONDS))
}

/// One invitation waiting for a batch: what ordering it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: Uuid,
    pub wedding_date: Option<NaiveDate>,
    /// When the supplier queued it.
    pub queued_at: DateTime<Utc>,
}

/// The next batch of one supplier: the `allowance` most urgent waiting invitations —
/// weddings under 3 months away, then under 6, then the rest (or no date yet), each group
/// in the order they were queued. A wedding already past comes last: it is still sent, as
/// the supplier asked, but never ahead of a couple who can still use it.
pub fn next_batch(mut waiting: Vec<Waiting>, allowance: usize, today: NaiveDate) -> Vec<Uuid> {
    let rank = |w: &Waiting| match batching::urgency(w.wedding_date, today) {
        Some(Urgency::Urgent) => 0,
        Some(Urgency::Soon) => 1,
        Some(Urgency::Future) => 2,
        None => 3,
    };
    waiting.sort_by_key(|w| (rank(w), w.queued_at, w.id));
    waiting.into_iter().take(allowance).map(|w| w.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_batch_takes_the_most_urgent_first_and_keeps_queue_order_within_a_group() {
        let today = day(2027, 1, 10);
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let w = |n: u128, wedding: Option<NaiveDate>, queued: i64| Waiting { id: Uuid::from_u128(n), wedding_date: wedding, queued_at: at(queued) };
        let waiting = vec![
            w(1, None, 0),
            w(2, Some(day(2027, 9, 1)), 1),  // future
            w(3, Some(day(2027, 5, 1)), 2),  // soon
            w(4, Some(day(2027, 2, 1)), 3),  // urgent
            w(5, Some(day(2026, 12, 1)), 4), // past
            w(6, Some(day(2027, 3, 1)), 5),  // urgent, queued later
        ];
        let ids = |v: Vec<Uuid>| v.into_iter().map(|u| u.as_u128()).collect::<Vec<_>>();
        assert_eq!(ids(next_batch(waiting.clone(), 10, today)), [4, 6, 3, 1, 2, 5]);
        assert_eq!(ids(next_batch(waiting, 3, today)), [4, 6, 3]);
    }

    #[test]
    fn the_daily_cap_shrinks_the_last_batch_of_the_day() {
        let pacing = Pacing { batch_size: 10, pause_seconds: 60, daily_cap: 25 };
        assert_eq!(pacing.allowance(0), 10);
        assert_eq!(pacing.allowance(20), 5);
        assert_eq!(pacing.allowance(25), 0);
        assert_eq!(pacing.allowance(30), 0, "a lowered cap never goes negative");
    }

    #[test]
    fn retries_double_up_to_four_hours() {
        let first = Duration::minutes(1);
        assert_eq!(retry_wait(1, first), Duration::minutes(1));
        assert_eq!(retry_wait(2, first), Duration::minutes(2));
        assert_eq!(retry_wait(5, first), Duration::minutes(16));
        assert_eq!(retry_wait(9, first), Duration::hours(4), "256 minutes is over the cap");
        assert_eq!(retry_wait(200, first), Duration::hours(4));
        // Every wait before giving up adds to about a day.
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| retry_wait(a, first).num_minutes()).sum();
        assert!((18 * 60..=30 * 60).contains(&total), "{total} minutes");
    }

    #[test]
    fn what_the_couple_did_shows_on_a_sent_invitation() {
        let sent = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let later = |d: i64| sent + Duration::days(d);
        let show = |visit, signup, now| displayed_status(SendState::Sent, Some(sent), visit, signup, now);
        assert_eq!(show(None, None, later(1)), Some(DeliveryStatus::Sent));
        assert_eq!(show(Some(later(1)), None, later(2)), Some(DeliveryStatus::Opened));
        assert_eq!(show(Some(later(1)), Some(later(2)), later(40)), Some(DeliveryStatus::Joined));
        assert_eq!(show(None, None, later(29)), Some(DeliveryStatus::Sent));
        assert_eq!(show(None, None, later(30)), Some(DeliveryStatus::Expired));
        assert_eq!(show(Some(later(3)), None, later(60)), Some(DeliveryStatus::Opened), "opened ones never expire");
        assert_eq!(displayed_status(SendState::Cancelled, None, None, None, sent), None);
        assert_eq!(displayed_status(SendState::Failed, None, None, None, sent), Some(DeliveryStatus::Failed));
    }
}
