//! Multi-touch attribution: which referrals get credit for a conversion, and how much.
//!
//! A couple may scan a florist's QR at a fair, click a photographer's link a week later
//! and type the venue's code at sign-up. Every such *touch* inside the attribution
//! window before the conversion is eligible; the model divides the credit among them.
//! Weights are exact integers (parts per million, summing to exactly 1,000,000) and the
//! conversion value is split in minor units so the shares add up to the value exactly.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::split_exact;

/// The whole of a conversion's credit, in parts per million.
pub const FULL_WEIGHT: u32 = 1_000_000;
/// The seed's attribution window.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;
/// How fast credit fades with the time-decay model: a touch this old counts half.
pub const DEFAULT_HALF_LIFE_DAYS: i64 = 7;
/// Position-based ("U-shaped"): first and last touch 40% each, the middle shares 20%.
pub const POSITION_ENDS_SHARE_PPM: u32 = 400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionModel {
    #[default]
    LastTouch,
    FirstTouch,
    Linear,
    TimeDecay,
    PositionBased,
}

impl AttributionModel {
    pub const ALL: [AttributionModel; 5] =
        [Self::LastTouch, Self::FirstTouch, Self::Linear, Self::TimeDecay, Self::PositionBased];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastTouch => "last_touch",
            Self::FirstTouch => "first_touch",
            Self::Linear => "linear",
            Self::TimeDecay => "time_decay",
            Self::PositionBased => "position_based",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s.trim().to_ascii_lowercase().replace('-', "_"))
    }
}

/// How a touch reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A QR code scanned with a phone (the link carried the QR marker).
    Qr,
    /// A shared referral link clicked.
    Link,
    /// A link in an email invitation.
    Email,
    /// A link shared on social media.
    Social,
    /// The code typed in by hand at sign-up.
    DirectCode,
    /// Details captured at a wedding-fair booth.
    FairLead,
}

impl Channel {
    pub const ALL: [Channel; 6] =
        [Self::Qr, Self::Link, Self::Email, Self::Social, Self::DirectCode, Self::FairLead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Link => "link",
            Self::Email => "email",
            Self::Social => "social",
            Self::DirectCode => "direct_code",
            Self::FairLead => "fair_lead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionRules {
    pub model: AttributionModel,
    pub window: Duration,
    pub half_life: Duration,
}

impl Default for AttributionRules {
    fn default() -> Self {
        Self {
            model: AttributionModel::default(),
            window: Duration::days(DEFAULT_WINDOW_DAYS),
            half_life: Duration::days(DEFAULT_HALF_LIFE_DAYS),
        }
    }
}

/// One interaction of the converting person with a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub id: Uuid,
    pub referral_id: Uuid,
    pub referrer_id: Uuid,
    pub channel: Channel,
    pub at: DateTime<Utc>,
}

/// One touch's share of a conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Credit {
    pub touch_id: Uuid,
    pub referral_id: Uuid,
    pub referrer_id: Uuid,
    pub channel: Channel,
    pub touched_at: DateTime<Utc>,
    /// Share of the conversion in parts per million; a conversion's weights sum to 1,000,000.
    pub weight_ppm: u32,
    /// Share of the conversion value in minor units; the shares sum to the value.
    pub value_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub model: AttributionModel,
    /// In touch order, oldest first.
    pub credits: Vec<Credit>,
    /// The touch with the largest share (the latest one on a tie): its referral is the
    /// one marked converted and counted as the referrer's successful referral.
    pub primary: usize,
    /// From the primary referral's first eligible touch to the conversion.
    pub time_to_convert: Duration,
}

impl Attribution {
    pub fn primary_credit(&self) -> &Credit {
        &self.credits[self.primary]
    }
}

/// Attributes a conversion at `converted_at` worth `value_minor` to `touches`.
/// Returns `None` when no touch falls inside the window (an organic conversion).
pub fn attribute(
    touches: &[Touch],
    converted_at: DateTime<Utc>,
    value_minor: i64,
    rules: &AttributionRules,
) -> Option<Attribution> {
    let window_start = converted_at - rules.window;
    let mut eligible: Vec<&Touch> =
        touches.iter().filter(|t| t.at <= converted_at && t.at >= window_start).collect();
    if eligible.is_empty() {
        return None;
    }
    eligible.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    eligible.dedup_by_key(|t| t.id);

    let raw = raw_weights(rules, &eligible, converted_at);
    let weights = split_exact(FULL_WEIGHT as i64, &raw);
    let values = split_exact(value_minor, &raw);
    let credits: Vec<Credit> = eligible
        .iter()
        .zip(weights.iter().zip(values))
        .map(|(t, (&w, v))| Credit {
            touch_id: t.id,
            referral_id: t.referral_id,
            referrer_id: t.referrer_id,
            channel: t.channel,
            touched_at: t.at,
            weight_ppm: w as u32,
            value_minor: v,
        })
        .collect();

    // Judged on the unrounded weights, so a rounding unit never breaks a tie.
    let max_raw = raw.iter().copied().max().unwrap_or(0);
    let primary = raw.iter().rposition(|&w| w == max_raw).unwrap_or(credits.len() - 1);
    let primary_referral = credits[primary].referral_id;
    let journey_start = credits
        .iter()
        .filter(|c| c.referral_id == primary_referral)
        .map(|c| c.touched_at)
        .min()
        .unwrap_or(converted_at);

    Some(Attribution {
        model: rules.model,
        credits,
        primary,
        time_to_convert: converted_at - journey_start,
    })
}

/// Un-normalised weights per touch (oldest first); `split_exact` turns them into
/// exact parts.
fn raw_weights(rules: &AttributionRules, touches: &[&Touch], converted_at: DateTime<Utc>) -> Vec<u64> {
    let n = touches.len();
    let mut raw = vec![0u64; n];
    match rules.model {
        AttributionModel::LastTouch => raw[n - 1] = 1,
        AttributionModel::FirstTouch => raw[0] = 1,
        AttributionModel::Linear => raw.fill(1),
        AttributionModel::TimeDecay => {
            // 2^(-age / half-life), scaled to integers; only the ratios matter.
            let half_life = rules.half_life.num_seconds().max(1) as f64;
            for (w, t) in raw.iter_mut().zip(touches) {
                let age = (converted_at - t.at).num_seconds().max(0) as f64;
                *w = ((-age / half_life).exp2() * 1e12).round().max(1.0) as u64;
            }
        }
        AttributionModel::PositionBased => match n {
            1 => raw[0] = 1,
            2 => raw.fill(1),
            _ => {
                // Scaled by (n - 2) so the middle's 20% divides evenly among n - 2 touches.
                let middle_each = (FULL_WEIGHT - 2 * POSITION_ENDS_SHARE_PPM) as u64;
                let ends = POSITION_ENDS_SHARE_PPM as u64 * (n as u64 - 2);
                raw.fill(middle_each);
                raw[0] = ends;
                raw[n - 1] = ends;
            }
        },
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
    }

    fn touch(n: u128, referrer: u128, channel: Channel, when: DateTime<Utc>) -> Touch {
        Touch {
            id: Uuid::from_u128(n),
            referral_id: Uuid::from_u128(1000 + referrer),
            referrer_id: Uuid::from_u128(2000 + referrer),
            channel,
            at: when,
        }
    }

    /// A florist's QR scan on the 1st, a photographer's link on the 8th, the venue's
    /// code typed at sign-up on the 15th; the conversion (£49.00) lands on the 15th.
    fn journey() -> Vec<Touch> {
        vec![
            touch(3, 3, Channel::DirectCode, at(15, 9)),
            touch(1, 1, Channel::Qr, at(1, 9)),
            touch(2, 2, Channel::Link, at(8, 9)),
        ]
    }

    fn run(model: AttributionModel) -> Attribution {
        let rules = AttributionRules { model, ..Default::default() };
        attribute(&journey(), at(15, 9), 4900, &rules).unwrap()
    }

    fn shares(a: &Attribution) -> Vec<(u32, i64)> {
        a.credits.iter().map(|c| (c.weight_ppm, c.value_minor)).collect()
    }

    #[test]
    fn last_touch_gives_everything_to_the_latest_touch() {
        let a = run(AttributionModel::LastTouch);
        assert_eq!(shares(&a), vec![(0, 0), (0, 0), (1_000_000, 4900)]);
        assert_eq!(a.primary_credit().referrer_id, Uuid::from_u128(2003));
        assert_eq!(a.time_to_convert, Duration::zero());
    }

    #[test]
    fn first_touch_gives_everything_to_the_earliest_touch() {
        let a = run(AttributionModel::FirstTouch);
        assert_eq!(shares(&a), vec![(1_000_000, 4900), (0, 0), (0, 0)]);
        assert_eq!(a.primary_credit().channel, Channel::Qr);
        assert_eq!(a.time_to_convert, Duration::days(14));
    }

    #[test]
    fn linear_splits_evenly_and_exactly() {
        let a = run(AttributionModel::Linear);
        // 1,000,000 / 3 and 4900 / 3 do not divide: the leftover goes to the earliest.
        assert_eq!(shares(&a), vec![(333_334, 1634), (333_333, 1633), (333_333, 1633)]);
        // On a tie the latest touch is primary.
        assert_eq!(a.primary, 2);
    }

    #[test]
    fn time_decay_halves_credit_every_half_life() {
        let a = run(AttributionModel::TimeDecay);
        // Ages 14, 7 and 0 days with a 7-day half-life: raw weights 1/4, 1/2, 1 → 1:2:4.
        assert_eq!(shares(&a), vec![(142_857, 700), (285_714, 1400), (571_429, 2800)]);
        assert_eq!(a.primary, 2);
    }

    #[test]
    fn position_based_gives_forty_percent_to_each_end() {
        let a = run(AttributionModel::PositionBased);
        assert_eq!(shares(&a), vec![(400_000, 1960), (200_000, 980), (400_000, 1960)]);
        let mut four = journey();
        four.push(touch(4, 4, Channel::Email, at(10, 9)));
        let rules = AttributionRules { model: AttributionModel::PositionBased, ..Default::default() };
        let a = attribute(&four, at(15, 9), 1000, &rules).unwrap();
        assert_eq!(shares(&a), vec![(400_000, 400), (100_000, 100), (100_000, 100), (400_000, 400)]);
        let two = &journey()[..2];
        let a = attribute(two, at(15, 9), 999, &rules).unwrap();
        assert_eq!(shares(&a), vec![(500_000, 500), (500_000, 499)]);
    }

    #[test]
    fn touches_outside_the_window_or_after_the_conversion_do_not_count() {
        let mut touches = journey();
        touches.push(touch(9, 9, Channel::Social, at(15, 10))); // after the conversion
        let rules = AttributionRules { window: Duration::days(10), ..Default::default() };
        let a = attribute(&touches, at(15, 9), 100, &AttributionRules { model: AttributionModel::Linear, ..rules }).unwrap();
        let ids: Vec<u128> = a.credits.iter().map(|c| c.touch_id.as_u128()).collect();
        assert_eq!(ids, vec![2, 3]);
        assert!(attribute(&touches[1..2], at(15, 9), 100, &rules).is_none());
        assert!(attribute(&[], at(15, 9), 100, &rules).is_none());
    }

    #[test]
    fn weights_always_sum_to_one_and_values_to_the_total() {
        for model in AttributionModel::ALL {
            for n in 1..9u128 {
                let touches: Vec<Touch> =
                    (0..n).map(|i| touch(i, i, Channel::Link, at(1 + i as u32 * 3, 7))).collect();
                let rules = AttributionRules { model, ..Default::default() };
                let a = attribute(&touches, at(28, 0), 12_345, &rules).unwrap();
                assert_eq!(a.credits.iter().map(|c| c.weight_ppm).sum::<u32>(), FULL_WEIGHT, "{model:?} {n}");
                assert_eq!(a.credits.iter().map(|c| c.value_minor).sum::<i64>(), 12_345);
            }
        }
    }

    #[test]
    fn model_names_parse() {
        for m in AttributionModel::ALL {
            assert_eq!(AttributionModel::parse(m.as_str()), Some(m));
        }
        assert_eq!(AttributionModel::parse("Time-Decay"), Some(AttributionModel::TimeDecay));
        assert_eq!(AttributionModel::parse("random"), None);
    }
}
