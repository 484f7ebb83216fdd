//! The life of a reward: its statuses, the events that move it, and which moves are
//! allowed. One pure function, `next_status`, so the server, the ledger and the tests
//! all agree on the rules. Expired, voided and clawed back are final; a mistake is fixed
//! by a new reward or a ledger adjustment, never by moving a reward back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RewardStatus {
    /// Earned, inside the holding period (or waiting for the referee's paid plan).
    Pending,
    /// The holding period passed: the holder may claim it.
    Eligible,
    /// Claimed by the holder (used as credit).
    Claimed,
    /// Not claimed in time, or still waiting for a paid plan when its time ran out.
    Expired,
    /// Cancelled before it was worth anything: a refund or churn in the holding period,
    /// or rejected after review.
    Voided,
    /// Taken back after it became eligible or was claimed: a later refund or churn.
    ClawedBack,
    /// Frozen for review (e.g. suspected fraud); released or rejected later.
    Held,
}

impl RewardStatus {
    pub const ALL: [RewardStatus; 7] = [
        Self::Pending,
        Self::Eligible,
        Self::Claimed,
        Self::Expired,
        Self::Voided,
        Self::ClawedBack,
        Self::Held,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Eligible => "eligible",
            Self::Claimed => "claimed",
            Self::Expired => "expired",
            Self::Voided => "voided",
            Self::ClawedBack => "clawed_back",
            Self::Held => "held",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No event moves a reward out of these.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Expired | Self::Voided | Self::ClawedBack)
    }
}

impl std::fmt::Display for RewardStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to a reward. The facts an event needs to be judged are
/// carried in it, worked out by the caller at the event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardEvent {
    /// `eligible_at` passed. `awaiting_paid_plan`: the conversion was on the free plan
    /// and the referee has not paid since, so the reward stays pending.
    HoldingPeriodPassed { awaiting_paid_plan: bool },
    /// The holder claims the reward.
    Claim,
    /// `expires_at` passed.
    ExpiryPassed,
    /// The referee was refunded or churned. `before_eligible`: it happened before the
    /// reward's `eligible_at` (an event captured offline may arrive after the reward became
    /// eligible; judged by when it happened, it voids rather than claws back).
    RefundOrChurn { before_eligible: bool },
    /// Frozen for review.
    Hold,
    /// Review passed. `due`: see `is_due`; a due reward goes straight to eligible.
    Release { due: bool },
    /// Review failed.
    Reject,
}

impl RewardEvent {
    fn passive(self) -> &'static str {
        match self {
            Self::HoldingPeriodPassed { .. } => "become eligible",
            Self::Claim => "be claimed",
            Self::ExpiryPassed => "expire",
            Self::RefundOrChurn { .. } => "be voided or clawed back",
            Self::Hold => "be held",
            Self::Release { .. } => "be released",
            Self::Reject => "be rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewardError {
    #[error("a {from} reward cannot {}", event.passive())]
    InvalidTransition { from: RewardStatus, event: RewardEvent },
    #[error("the reward waits for the referee's first paid plan")]
    AwaitingPaidPlan,
    #[error("a reward's amount cannot be negative (got {0})")]
    NegativeAmount(i64),
}

impl RewardError {
    /// The machine-readable code the API sends with the message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidTransition { .. } => "invalid_reward_transition",
            Self::AwaitingPaidPlan => "awaiting_paid_plan",
            Self::NegativeAmount(_) => "negative_amount",
        }
    }
}

/// Whether a reward may be eligible at `now`: its holding period has passed and it is not
/// waiting for a paid plan.
pub fn is_due(eligible_at: DateTime<Utc>, awaiting_paid_plan: bool, now: DateTime<Utc>) -> bool {
    now >= eligible_at && !awaiting_paid_plan
}

/// The status `event` moves a `current` reward to, or why it cannot.
///
/// - holding period passed: pending → eligible (stays pending, as an error, while the
///   referee has not paid);
/// - claim: eligible → claimed;
/// - expiry passed: pending or eligible → expired;
/// - refund or churn: pending or held → voided; eligible → clawed back (voided if the
///   refund happened before eligibility); claimed → clawed back;
/// - hold: pending or eligible → held;
/// - release: held → eligible when due, otherwise pending;
/// - reject: held → voided.
///
/// Everything else, and anything from expired, voided or clawed back, is an error.
pub fn next_status(current: RewardStatus, event: RewardEvent) -> Result<RewardStatus, RewardError> {
    use RewardEvent as E;
    use RewardStatus as S;
    let next = match (current, event) {
        (S::Pending, E::HoldingPeriodPassed { awaiting_paid_plan: true }) => {
            return Err(RewardError::AwaitingPaidPlan)
        }
        (S::Pending, E::HoldingPeriodPassed { awaiting_paid_plan: false }) => S::Eligible,
        (S::Eligible, E::Claim) => S::Claimed,
        (S::Pending | S::Eligible, E::ExpiryPassed) => S::Expired,
        (S::Pending | S::Held, E::RefundOrChurn { .. }) => S::Voided,
        (S::Eligible, E::RefundOrChurn { before_eligible: true }) => S::Voided,
        (S::Eligible, E::RefundOrChurn { before_eligible: false }) => S::ClawedBack,
        (S::Claimed, E::RefundOrChurn { .. }) => S::ClawedBack,
        (S::Pending | S::Eligible, E::Hold) => S::Held,
        (S::Held, E::Release { due: true }) => S::Eligible,
        (S::Held, E::Release { due: false }) => S::Pending,
        (S::Held, E::Reject) => S::Voided,
        (from, event) => return Err(RewardError::InvalidTransition { from, event }),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use RewardEvent as E;
    use RewardStatus as S;

    const EVENTS: [RewardEvent; 10] = [
        E::HoldingPeriodPassed { awaiting_paid_plan: false },
        E::HoldingPeriodPassed { awaiting_paid_plan: true },
        E::Claim,
        E::ExpiryPassed,
        E::RefundOrChurn { before_eligible: false },
        E::RefundOrChurn { before_eligible: true },
        E::Hold,
        E::Release { due: false },
        E::Release { due: true },
        E::Reject,
    ];

    /// Every allowed move; anything not listed must be refused.
    const VALID: &[(RewardStatus, RewardEvent, RewardStatus)] = &[
        (S::Pending, E::HoldingPeriodPassed { awaiting_paid_plan: false }, S::Eligible),
        (S::Eligible, E::Claim, S::Claimed),
        (S::Pending, E::ExpiryPassed, S::Expired),
        (S::Eligible, E::ExpiryPassed, S::Expired),
        (S::Pending, E::RefundOrChurn { before_eligible: true }, S::Voided),
        (S::Pending, E::RefundOrChurn { before_eligible: false }, S::Voided),
        (S::Held, E::RefundOrChurn { before_eligible: true }, S::Voided),
        (S::Held, E::RefundOrChurn { before_eligible: false }, S::Voided),
        (S::Eligible, E::RefundOrChurn { before_eligible: false }, S::ClawedBack),
        (S::Eligible, E::RefundOrChurn { before_eligible: true }, S::Voided),
        (S::Claimed, E::RefundOrChurn { before_eligible: false }, S::ClawedBack),
        (S::Claimed, E::RefundOrChurn { before_eligible: true }, S::ClawedBack),
        (S::Pending, E::Hold, S::Held),
        (S::Eligible, E::Hold, S::Held),
        (S::Held, E::Release { due: false }, S::Pending),
        (S::Held, E::Release { due: true }, S::Eligible),
        (S::Held, E::Reject, S::Voided),
    ];

    #[test]
    fn every_valid_transition() {
        for &(from, event, to) in VALID {
            assert_eq!(next_status(from, event), Ok(to), "{from} {event:?}");
        }
    }

    #[test]
    fn every_other_transition_is_refused() {
        for from in RewardStatus::ALL {
            for event in EVENTS {
                if VALID.iter().any(|&(f, e, _)| f == from && e == event) {
                    continue;
                }
                let err = next_status(from, event).unwrap_err();
                let expected = if from == S::Pending && event == (E::HoldingPeriodPassed { awaiting_paid_plan: true }) {
                    RewardError::AwaitingPaidPlan
                } else {
                    RewardError::InvalidTransition { from, event }
                };
                assert_eq!(err, expected);
            }
        }
    }

    #[test]
    fn final_statuses_accept_nothing() {
        for from in RewardStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for event in EVENTS {
                assert!(next_status(from, event).is_err(), "{from} {event:?}");
            }
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let e = next_status(S::Pending, E::Claim).unwrap_err();
        assert_eq!(e.to_string(), "a pending reward cannot be claimed");
        assert_eq!(e.code(), "invalid_reward_transition");
        let e = next_status(S::ClawedBack, E::Release { due: true }).unwrap_err();
        assert_eq!(e.to_string(), "a clawed_back reward cannot be released");
        let e = next_status(S::Pending, E::HoldingPeriodPassed { awaiting_paid_plan: true }).unwrap_err();
        assert_eq!(e.code(), "awaiting_paid_plan");
    }

    #[test]
    fn due_means_past_eligibility_and_paid() {
        let at = Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap();
        assert!(is_due(at, false, at));
        assert!(!is_due(at, false, at - Duration::seconds(1)));
        assert!(!is_due(at, true, at + Duration::days(30)));
    }

    #[test]
    fn statuses_round_trip() {
        for s in RewardStatus::ALL {
            assert_eq!(RewardStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(RewardStatus::parse("Pending"), None);
    }
}
