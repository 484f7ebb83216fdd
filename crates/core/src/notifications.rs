//! Notifications (docs/notifications.md): what an account is told when something happens to
//! its referrals — in the app (through sync) and by email. The words it is told in live with
//! the server (`service::notices`, in the account's language).
//! Each kind's email can be turned off per account; the in-app list always has them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Money;
use crate::tiers::Tier;


/// What happened, as the account's Settings name the choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum NotificationKind {
    /// A conversion earned the account a reward (pending its holding period).
    RewardEarned,
    /// A reward's holding period ended: it can be claimed.
    RewardEligible,
    /// The account reached a tier.
    TierReached,
    /// A referral's conversion is held for a fraud review.
    ReferralHeld,
    /// The review decided: released or voided.
    ReviewDecided,
    /// A campaign the account's referrals count toward started.
    CampaignStarted,
}

impl NotificationKind {
    pub const ALL: [Self; 6] =
        [Self::RewardEarned, Self::RewardEligible, Self::TierReached, Self::ReferralHeld, Self::ReviewDecided, Self::CampaignStarted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RewardEarned => "reward_earned",
            Self::RewardEligible => "reward_eligible",
            Self::TierReached => "tier_reached",
            Self::ReferralHeld => "referral_held",
            Self::ReviewDecided => "review_decided",
            Self::CampaignStarted => "campaign_started",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The choice as Settings shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::RewardEarned => "A referral earns me a reward",
            Self::RewardEligible => "A reward can be claimed",
            Self::TierReached => "I reach a new tier",
            Self::ReferralHeld => "A referral is held for review",
            Self::ReviewDecided => "A review of my referral is decided",
            Self::CampaignStarted => "A campaign I can take part in starts",
        }
    }
}

/// One notification as the app and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
}

/// Whether a kind is also sent by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct NotificationPreference {
    pub kind: NotificationKind,
    pub email: bool,
    /// When the choice was made (on whichever device). Sent with a change, the later of
    /// two devices' choices stands; absent for a kind never chosen (or from a caller that
    /// does not say: then it is now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub changed_at: Option<DateTime<Utc>>,
}

/// Every kind's choice, in [`NotificationKind::ALL`]'s order: by default every kind is
/// emailed.
pub fn preferences_with_defaults(chosen: &[NotificationPreference]) -> Vec<NotificationPreference> {
    NotificationKind::ALL
        .into_iter()
        .map(|kind| chosen.iter().rev().find(|p| p.kind == kind).copied().unwrap_or(NotificationPreference { kind, email: true, changed_at: None }))
        .collect()
}

/// What happened, without words: kept with each notification, so it is told in the
/// language of whoever reads it, when they read it (the server's `service::notices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    RewardEarned { amount: Money, reason: String, eligible_at: Option<DateTime<Utc>> },
    RewardEligible { amount: Money, reason: String, expires_at: Option<DateTime<Utc>> },
    TierReached { tier: Tier },
    ReferralHeld { amount: Money },
    ReviewDecided { approved: bool, amount: Money },
    CampaignStarted { name: String, multiplier_bp: u32, bonus: Option<Money>, ends: NaiveDate },
}

impl Notice {
    pub fn kind(&self) -> NotificationKind {
        match self {
            Self::RewardEarned { .. } => NotificationKind::RewardEarned,
            Self::RewardEligible { .. } => NotificationKind::RewardEligible,
            Self::TierReached { .. } => NotificationKind::TierReached,
            Self::ReferralHeld { .. } => NotificationKind::ReferralHeld,
            Self::ReviewDecided { .. } => NotificationKind::ReviewDecided,
            Self::CampaignStarted { .. } => NotificationKind::CampaignStarted,
        }
    }
}

/// A notification's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_are_all_listed() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert_eq!(NotificationKind::parse("reward"), None);
    }

    #[test]
    fn a_notice_keeps_what_happened_through_json() {
        let notice = Notice::CampaignStarted { name: "Spring".into(), multiplier_bp: 15_000, bonus: Some(Money::credits(500)), ends: NaiveDate::from_ymd_opt(2027, 5, 31).unwrap() };
        let json = serde_json::to_string(&notice).unwrap();
        assert!(json.contains("\"notice\":\"campaign_started\""), "{json}");
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
        assert_eq!(notice.kind(), NotificationKind::CampaignStarted);
    }

    #[test]
    fn preferences_default_to_email_and_keep_choices() {
        let all = preferences_with_defaults(&[NotificationPreference { kind: NotificationKind::CampaignStarted, email: false, changed_at: None }]);
        assert_eq!(all.len(), NotificationKind::ALL.len());
        assert!(all.iter().filter(|p| p.kind != NotificationKind::CampaignStarted).all(|p| p.email));
        assert!(!all.iter().find(|p| p.kind == NotificationKind::CampaignStarted).unwrap().email);
    }
}
