//! Leaderboards: who ranks where, how ties are broken, what an opted-out account is
//! called, and which period a board covers. Pure; the server gathers the standings.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::account::AccountKind;
use crate::api::{LeaderboardEntry, Milestone};
use crate::money::Money;
use crate::tiers::{next_tier, tier_for};

/// Shown instead of the name of a supplier who opted out of leaderboards.
pub const ANONYMOUS_SUPPLIER: &str = "A Bouquet supplier";
/// Shown instead of the names of a couple who opted out of leaderboards.
pub const ANONYMOUS_COUPLE: &str = "A Bouquet couple";
/// How many entries a board shows (the seed's `limit(100)`).
pub const LEADERBOARD_SIZE: usize = 100;
/// The week board counts the last 7 days.
pub const WEEK_DAYS: i64 = 7;
/// The month board counts the last 30 days.
pub const MONTH_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LeaderboardPeriod {
    Week,
    Month,
    #[default]
    All,
}

impl LeaderboardPeriod {
    pub const ALL: [LeaderboardPeriod; 3] = [Self::Week, Self::Month, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Month => "month",
            Self::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Conversions from this moment on count (rolling windows, so a board does not empty
    /// on the first of the month); `None` for all time.
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Week => Some(now - Duration::days(WEEK_DAYS)),
            Self::Month => Some(now - Duration::days(MONTH_DAYS)),
            Self::All => None,
        }
    }
}

/// One account's figures for a board's period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub account_id: Uuid,
    pub successful_referrals: i64,
    /// Value of the attributed conversions, in the board's currency's minor units.
    pub value_generated_minor: i64,
    /// When the account reached its current count (its latest successful referral in the
    /// period); `None` with no successful referral.
    pub reached_at: Option<DateTime<Utc>>,
}

/// The board's order: more successful referrals first; then more value generated; then
/// whoever reached their count first (an account that had no referral comes after one
/// that had); then account id ascending, so equal figures still rank the same every time.
pub fn leaderboard_order(a: &Standing, b: &Standing) -> Ordering {
    b.successful_referrals
        .cmp(&a.successful_referrals)
        .then(b.value_generated_minor.cmp(&a.value_generated_minor))
        .then(match (a.reached_at, b.reached_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then(a.account_id.cmp(&b.account_id))
}

/// Sorts `standings` into board order and numbers them from 1 (no shared ranks: the
/// order has no ties).
pub fn rank(mut standings: Vec<Standing>) -> Vec<(i64, Standing)> {
    standings.sort_by(leaderboard_order);
    standings.into_iter().enumerate().map(|(i, s)| (i as i64 + 1, s)).collect()
}

/// The name a board shows: the account's own, unless it opted out or has none.
pub fn display_name(kind: AccountKind, name: Option<&str>, opted_out: bool) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty() && !opted_out) {
        Some(n) => n.to_string(),
        None if kind == AccountKind::Couple => ANONYMOUS_COUPLE.to_string(),
        None => ANONYMOUS_SUPPLIER.to_string(),
    }
}

/// A board row for a ranked standing: tier, badge and next milestone from its count.
pub fn leaderboard_entry(
    kind: AccountKind,
    rank: i64,
    standing: &Standing,
    display_name: String,
    currency: &str,
    is_you: bool,
) -> LeaderboardEntry {
    let tier = tier_for(kind, standing.successful_referrals);
    LeaderboardEntry {
        rank,
        display_name,
        tier,
        badge: tier.map(|t| t.badge().to_string()),
        successful_referrals: standing.successful_referrals,
        value_generated: Money::new(standing.value_generated_minor, currency),
        next_milestone: next_tier(kind, standing.successful_referrals).map(|(t, to_go)| Milestone {
            tier: t,
            threshold: t.threshold(),
            referrals_to_go: to_go,
        }),
        is_you,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiers::Tier;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, 12, 0, 0).unwrap()
    }

    fn standing(id: u128, successful: i64, value: i64, reached: Option<u32>) -> Standing {
        Standing {
            account_id: Uuid::from_u128(id),
            successful_referrals: successful,
            value_generated_minor: value,
            reached_at: reached.map(at),
        }
    }

    #[test]
    fn ties_are_broken_by_value_then_time_then_id() {
        let standings = vec![
            standing(9, 0, 0, None),
            standing(5, 3, 10_000, Some(10)),
            standing(4, 3, 10_000, Some(10)), // same as 5 but a smaller id
            standing(3, 3, 10_000, Some(2)),  // reached it earlier
            standing(2, 3, 20_000, Some(20)), // more value
            standing(1, 7, 0, Some(28)),      // more referrals beat everything
            standing(8, 0, 0, Some(1)),       // a count of 0 reached (period start)
        ];
        let ids: Vec<u128> = rank(standings.clone()).iter().map(|(_, s)| s.account_id.as_u128()).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 8, 9]);
        let ranks: Vec<i64> = rank(standings.clone()).iter().map(|(r, _)| *r).collect();
        assert_eq!(ranks, vec![1, 2, 3, 4, 5, 6, 7]);
        // The input order does not matter.
        let mut reversed = standings;
        reversed.reverse();
        let again: Vec<u128> = rank(reversed).iter().map(|(_, s)| s.account_id.as_u128()).collect();
        assert_eq!(again, ids);
    }

    #[test]
    fn the_order_is_total() {
        let a = standing(1, 3, 100, Some(1));
        assert_eq!(leaderboard_order(&a, &a), Ordering::Equal);
        let b = standing(2, 3, 100, Some(1));
        assert_eq!(leaderboard_order(&a, &b), Ordering::Less);
        assert_eq!(leaderboard_order(&b, &a), Ordering::Greater);
    }

    #[test]
    fn opted_out_accounts_are_anonymous() {
        assert_eq!(display_name(AccountKind::Supplier, Some("Bloom & Wild"), false), "Bloom & Wild");
        assert_eq!(display_name(AccountKind::Supplier, Some("Bloom & Wild"), true), ANONYMOUS_SUPPLIER);
        assert_eq!(display_name(AccountKind::Couple, Some("Anna & Ben"), true), ANONYMOUS_COUPLE);
        assert_eq!(display_name(AccountKind::Couple, Some("  "), false), ANONYMOUS_COUPLE);
        assert_eq!(display_name(AccountKind::Supplier, None, false), "A Bouquet supplier");
    }

    #[test]
    fn entries_carry_tier_badge_and_next_milestone() {
        let e = leaderboard_entry(AccountKind::Supplier, 2, &standing(1, 4, 12_345, Some(3)), "X".into(), "GBP", true);
        assert_eq!((e.rank, e.tier, e.badge.as_deref(), e.is_you), (2, Some(Tier::Silver), Some("🥈"), true));
        assert_eq!(e.value_generated, Money::new(12_345, "GBP"));
        let m = e.next_milestone.unwrap();
        assert_eq!((m.tier, m.threshold, m.referrals_to_go), (Tier::Gold, 5, 1));
        let top = leaderboard_entry(AccountKind::Couple, 1, &standing(1, 5, 0, Some(3)), "Y".into(), "GBP", false);
        assert_eq!((top.tier, top.next_milestone), (Some(Tier::Champion), None));
    }

    #[test]
    fn periods_are_rolling_windows() {
        let now = at(30);
        assert_eq!(LeaderboardPeriod::Week.start(now), Some(at(23)));
        assert_eq!(LeaderboardPeriod::Month.start(now), Some(Utc.with_ymd_and_hms(2026, 5, 31, 12, 0, 0).unwrap()));
        assert_eq!(LeaderboardPeriod::All.start(now), None);
        for p in LeaderboardPeriod::ALL {
            assert_eq!(LeaderboardPeriod::parse(p.as_str()), Some(p));
        }
    }
}
