//! Notifications (docs/notifications.md): what an account is told when something happens to
//! its referrals — in the app (through sync) and by email — and the words it is told in.
//! Each kind's email can be turned off per account; the in-app list always has them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::{CREDITS, Money, format_factor_bp, format_minor_grouped};
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

/// A notification's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
}

/// An amount as people read it: credits by name, money with its currency.
pub fn amount_words(amount: &Money) -> String {
    if amount.currency == CREDITS {
        let plural = if amount.amount_minor == 100 { "" } else { "s" };
        format!("{} credit{plural}", format_minor_grouped(amount.amount_minor).trim_end_matches(".00"))
    } else {
        format!("{} {}", format_minor_grouped(amount.amount_minor), amount.currency)
    }
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

pub fn reward_earned(amount: &Money, reason: &str, eligible_at: Option<DateTime<Utc>>) -> Message {
    let when = match eligible_at {
        Some(at) => format!(" It can be claimed from {} once the customer has stayed past the holding period.", day(at)),
        None => String::new(),
    };
    Message {
        kind: NotificationKind::RewardEarned,
        title: format!("You earned {}", amount_words(amount)),
        body: format!("{reason}.{when}"),
    }
}

pub fn reward_eligible(amount: &Money, reason: &str, expires_at: Option<DateTime<Utc>>) -> Message {
    let until = match expires_at {
        Some(at) => format!(" Claim it before {}.", day(at)),
        None => String::new(),
    };
    Message {
        kind: NotificationKind::RewardEligible,
        title: format!("{} ready to claim", amount_words(amount)),
        body: format!("{reason}: the holding period is over.{until}"),
    }
}

pub fn tier_reached(tier: Tier) -> Message {
    Message { kind: NotificationKind::TierReached, title: format!("You reached the {} tier", tier.title()), body: format!("{}.", tier.reward_reason()) }
}

/// A referral's conversion held for review: the referrer is told what waits, never the
/// fraud signals (those stay with the operators).
pub fn referral_held(amount: &Money) -> Message {
    Message {
        kind: NotificationKind::ReferralHeld,
        title: "A referral is being reviewed".into(),
        body: format!(
            "A recent conversion through your referral is held for a routine review, and {} with it. Nothing is needed from you; you will hear when it is decided.",
            amount_words(amount)
        ),
    }
}

pub fn review_decided(approved: bool, amount: &Money) -> Message {
    let (title, body) = if approved {
        ("Your referral was approved".to_string(), format!("The review is done: {} is yours again and counts toward your tier.", amount_words(amount)))
    } else {
        (
            "Your referral was not approved".to_string(),
            format!("The review found this conversion does not qualify, so {} was voided. Reply to this email if you think that is wrong.", amount_words(amount)),
        )
    };
    Message { kind: NotificationKind::ReviewDecided, title, body }
}

pub fn campaign_started(name: &str, multiplier_bp: u32, bonus: Option<&Money>, ends: NaiveDate) -> Message {
    let mut boost = Vec::new();
    if multiplier_bp != 10_000 {
        boost.push(format!("rewards × {}", format_factor_bp(multiplier_bp)));
    }
    if let Some(bonus) = bonus.filter(|b| b.amount_minor > 0) {
        boost.push(format!("a bonus of {} per conversion", amount_words(bonus)));
    }
    let boost = if boost.is_empty() { String::new() } else { format!(": {}", boost.join(" and ")) };
    Message {
        kind: NotificationKind::CampaignStarted,
        title: format!("{name} has started"),
        body: format!("Referrals you make until {} count toward {name}{boost}.", ends.format("%-d %B %Y")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn kinds_round_trip_and_are_all_listed() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert_eq!(NotificationKind::parse("reward"), None);
    }

    #[test]
    fn preferences_default_to_email_and_keep_choices() {
        let all = preferences_with_defaults(&[NotificationPreference { kind: NotificationKind::CampaignStarted, email: false, changed_at: None }]);
        assert_eq!(all.len(), NotificationKind::ALL.len());
        assert!(all.iter().filter(|p| p.kind != NotificationKind::CampaignStarted).all(|p| p.email));
        assert!(!all.iter().find(|p| p.kind == NotificationKind::CampaignStarted).unwrap().email);
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(amount_words(&Money::credits(12_000)), "120 credits");
        assert_eq!(amount_words(&Money::credits(100)), "1 credit");
        assert_eq!(amount_words(&Money::credits(1_250)), "12.50 credits");
        assert_eq!(amount_words(&Money::new(123_456, "GBP")), "1,234.56 GBP");
    }

    #[test]
    fn messages_say_what_happened_and_what_comes_next() {
        let at = Utc.with_ymd_and_hms(2027, 3, 4, 10, 0, 0).unwrap();
        let earned = reward_earned(&Money::credits(5_000), "Referral of Amy & Ben", Some(at));
        assert_eq!(earned.title, "You earned 50 credits");
        assert!(earned.body.contains("4 March 2027"), "{}", earned.body);
        let started = campaign_started("Spring Booking Season", 13_000, None, NaiveDate::from_ymd_opt(2027, 5, 31).unwrap());
        assert_eq!(started.body, "Referrals you make until 31 May 2027 count toward Spring Booking Season: rewards × 1.3.");
        assert!(review_decided(false, &Money::credits(100)).body.contains("voided"));
    }
}
