//! Tiers: the milestones a referrer reaches by successful referrals, each with a badge
//! and a perk (the seed's `REWARD_TIERS`). Pure lookups over one table.
//!
//! Perks are not credits: they are things billing or the product grants (a free month, a
//! discount, features), so a tier's reward row carries 0 credits and the perk's name.
//! Thresholds count successful referrals (conversions where the referrer's referral was
//! primary, as in `StatsView::successful_referrals`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::account::AccountKind;
use crate::api::TierView;

/// Supplier tiers by successful referrals.
pub const BRONZE_AT: i64 = 1;
pub const SILVER_AT: i64 = 3;
pub const GOLD_AT: i64 = 5;
pub const PLATINUM_AT: i64 = 10;
/// Couple tiers by successful referrals.
pub const FIRST_AT: i64 = 1;
pub const ACTIVE_AT: i64 = 3;
pub const CHAMPION_AT: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Bronze,
    Silver,
    Gold,
    Platinum,
    First,
    Active,
    Champion,
}

const SUPPLIER_TIERS: [Tier; 4] = [Tier::Bronze, Tier::Silver, Tier::Gold, Tier::Platinum];
const COUPLE_TIERS: [Tier; 3] = [Tier::First, Tier::Active, Tier::Champion];

impl Tier {
    pub const ALL: [Tier; 7] =
        [Self::Bronze, Self::Silver, Self::Gold, Self::Platinum, Self::First, Self::Active, Self::Champion];

    /// The tiers of `kind`, lowest first; none for admins.
    pub fn ladder(kind: AccountKind) -> &'static [Tier] {
        match kind {
            AccountKind::Supplier => &SUPPLIER_TIERS,
            AccountKind::Couple => &COUPLE_TIERS,
            AccountKind::Admin => &[],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bronze => "bronze",
            Self::Silver => "silver",
            Self::Gold => "gold",
            Self::Platinum => "platinum",
            Self::First => "first",
            Self::Active => "active",
            Self::Champion => "champion",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn kind(self) -> AccountKind {
        match self {
            Self::Bronze | Self::Silver | Self::Gold | Self::Platinum => AccountKind::Supplier,
            Self::First | Self::Active | Self::Champion => AccountKind::Couple,
        }
    }

    /// Successful referrals needed to reach the tier.
    pub fn threshold(self) -> i64 {
        match self {
            Self::Bronze => BRONZE_AT,
            Self::Silver => SILVER_AT,
            Self::Gold => GOLD_AT,
            Self::Platinum => PLATINUM_AT,
            Self::First => FIRST_AT,
            Self::Active => ACTIVE_AT,
            Self::Champion => CHAMPION_AT,
        }
    }

    pub fn perk(self) -> Perk {
        match self {
            Self::Bronze => Perk::MonthFree,
            Self::Silver => Perk::UpgradeDiscount,
            Self::Gold => Perk::AnnualDiscount,
            Self::Platinum => Perk::LifetimePerks,
            Self::First => Perk::VendorDiscount,
            Self::Active => Perk::PremiumPlanning,
            Self::Champion => Perk::ExclusiveVendors,
        }
    }

    /// Shown next to the name on leaderboards and the tier card.
    pub fn badge(self) -> &'static str {
        match self {
            Self::Bronze => "🥉",
            Self::Silver => "🥈",
            Self::Gold => "🥇",
            Self::Platinum => "💎",
            Self::First => "🌱",
            Self::Active => "💐",
            Self::Champion => "🏆",
        }
    }

    /// People's name for it: "Bronze".
    pub fn title(self) -> String {
        let s = self.as_str();
        s[..1].to_uppercase() + &s[1..]
    }

    pub fn info(self) -> TierInfo {
        TierInfo {
            tier: self,
            kind: self.kind(),
            title: self.title(),
            threshold: self.threshold(),
            badge: self.badge().to_string(),
            perk: self.perk().info(),
        }
    }

    /// The reason on a tier's reward row: "Silver tier (3 successful referrals): a
    /// discount when you upgrade your plan".
    pub fn reward_reason(self) -> String {
        let n = self.threshold();
        let plural = if n == 1 { "" } else { "s" };
        format!("{} tier ({n} successful referral{plural}): {}", self.title(), self.perk().description())
    }
}

/// What a tier grants; applied by billing or the product, not paid in credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Perk {
    MonthFree,
    UpgradeDiscount,
    AnnualDiscount,
    LifetimePerks,
    VendorDiscount,
    PremiumPlanning,
    ExclusiveVendors,
}

impl Perk {
    pub const ALL: [Perk; 7] = [
        Self::MonthFree,
        Self::UpgradeDiscount,
        Self::AnnualDiscount,
        Self::LifetimePerks,
        Self::VendorDiscount,
        Self::PremiumPlanning,
        Self::ExclusiveVendors,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MonthFree => "month_free",
            Self::UpgradeDiscount => "upgrade_discount",
            Self::AnnualDiscount => "annual_discount",
            Self::LifetimePerks => "lifetime_perks",
            Self::VendorDiscount => "vendor_discount",
            Self::PremiumPlanning => "premium_planning",
            Self::ExclusiveVendors => "exclusive_vendors",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// One sentence for people (no amounts: those belong to billing).
    pub fn description(self) -> &'static str {
        match self {
            Self::MonthFree => "a month of your plan free",
            Self::UpgradeDiscount => "a discount when you upgrade your plan",
            Self::AnnualDiscount => "a discount on annual billing",
            Self::LifetimePerks => "perks for life, kept whatever your plan",
            Self::VendorDiscount => "discounts from suppliers on Bouquet",
            Self::PremiumPlanning => "premium planning tools unlocked",
            Self::ExclusiveVendors => "access to exclusive suppliers",
        }
    }

    pub fn info(self) -> PerkInfo {
        PerkInfo { perk: self, description: self.description().to_string() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct PerkInfo {
    pub perk: Perk,
    /// One sentence, e.g. "a month of your plan free".
    pub description: String,
}

/// A tier as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct TierInfo {
    pub tier: Tier,
    pub kind: AccountKind,
    /// E.g. "Gold".
    pub title: String,
    /// Successful referrals needed.
    pub threshold: i64,
    pub badge: String,
    pub perk: PerkInfo,
}

/// The highest tier reached with `successful` referrals; `None` below the first.
pub fn tier_for(kind: AccountKind, successful: i64) -> Option<Tier> {
    Tier::ladder(kind).iter().copied().filter(|t| t.threshold() <= successful).last()
}

/// The next tier to reach and how many more successful referrals it takes; `None` at the top.
pub fn next_tier(kind: AccountKind, successful: i64) -> Option<(Tier, i64)> {
    let successful = successful.max(0);
    Tier::ladder(kind).iter().copied().find(|t| t.threshold() > successful).map(|t| (t, t.threshold() - successful))
}

/// Every tier crossed going from `before` to `after` successful referrals, lowest first: a
/// jump from 2 to 5 reaches silver and gold, and each earns its perk. Nothing when the
/// count did not grow.
pub fn tiers_reached(kind: AccountKind, before: i64, after: i64) -> Vec<Tier> {
    Tier::ladder(kind).iter().copied().filter(|t| before < t.threshold() && t.threshold() <= after).collect()
}

/// The `/me/tier` answer for a `kind` account with `successful` referrals.
pub fn tier_view(kind: AccountKind, successful: i64) -> TierView {
    let next = next_tier(kind, successful);
    TierView {
        kind,
        tier: tier_for(kind, successful).map(Tier::info),
        successful_referrals: successful,
        next_tier: next.map(|(t, _)| t.info()),
        referrals_to_next: next.map(|(_, n)| n),
        perks: tiers_reached(kind, 0, successful).into_iter().map(|t| t.perk().info()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountKind::{Admin, Couple, Supplier};
    use Tier::*;

    #[test]
    fn supplier_tiers_at_each_threshold() {
        // (successful, tier, next tier and referrals to go)
        let cases: &[(i64, Option<Tier>, Option<(Tier, i64)>)] = &[
            (-1, None, Some((Bronze, 1))),
            (0, None, Some((Bronze, 1))),
            (1, Some(Bronze), Some((Silver, 2))),
            (2, Some(Bronze), Some((Silver, 1))),
            (3, Some(Silver), Some((Gold, 2))),
            (4, Some(Silver), Some((Gold, 1))),
            (5, Some(Gold), Some((Platinum, 5))),
            (9, Some(Gold), Some((Platinum, 1))),
            (10, Some(Platinum), None),
            (11, Some(Platinum), None),
            (1_000, Some(Platinum), None),
        ];
        for &(n, tier, next) in cases {
            assert_eq!(tier_for(Supplier, n), tier, "{n}");
            assert_eq!(next_tier(Supplier, n), next, "{n}");
        }
    }

    #[test]
    fn couple_tiers_at_each_threshold() {
        let cases: &[(i64, Option<Tier>, Option<(Tier, i64)>)] = &[
            (0, None, Some((First, 1))),
            (1, Some(First), Some((Active, 2))),
            (2, Some(First), Some((Active, 1))),
            (3, Some(Active), Some((Champion, 2))),
            (5, Some(Champion), None),
            (9, Some(Champion), None),
            (10, Some(Champion), None),
            (11, Some(Champion), None),
        ];
        for &(n, tier, next) in cases {
            assert_eq!(tier_for(Couple, n), tier, "{n}");
            assert_eq!(next_tier(Couple, n), next, "{n}");
        }
        assert_eq!(tier_for(Admin, 50), None);
        assert_eq!(next_tier(Admin, 0), None);
    }

    #[test]
    fn every_tier_crossed_is_reached() {
        let cases: &[(AccountKind, i64, i64, &[Tier])] = &[
            (Supplier, 0, 1, &[Bronze]),
            (Supplier, 1, 2, &[]),
            (Supplier, 2, 3, &[Silver]),
            (Supplier, 2, 5, &[Silver, Gold]),
            (Supplier, 0, 10, &[Bronze, Silver, Gold, Platinum]),
            (Supplier, 9, 11, &[Platinum]),
            (Supplier, 10, 11, &[]),
            (Supplier, 5, 5, &[]),
            (Supplier, 5, 3, &[]),
            (Couple, 0, 5, &[First, Active, Champion]),
            (Couple, 1, 3, &[Active]),
            (Admin, 0, 100, &[]),
        ];
        for &(kind, before, after, want) in cases {
            assert_eq!(tiers_reached(kind, before, after), want, "{kind:?} {before} → {after}");
        }
    }

    #[test]
    fn the_table_is_the_seeds() {
        let perks: Vec<(&str, i64, &str)> =
            Tier::ALL.iter().map(|t| (t.as_str(), t.threshold(), t.perk().as_str())).collect();
        assert_eq!(
            perks,
            vec![
                ("bronze", 1, "month_free"),
                ("silver", 3, "upgrade_discount"),
                ("gold", 5, "annual_discount"),
                ("platinum", 10, "lifetime_perks"),
                ("first", 1, "vendor_discount"),
                ("active", 3, "premium_planning"),
                ("champion", 5, "exclusive_vendors"),
            ]
        );
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(t));
            assert_eq!(Perk::parse(t.perk().as_str()), Some(t.perk()));
            assert!(Tier::ladder(t.kind()).contains(&t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!(Silver.reward_reason(), "Silver tier (3 successful referrals): a discount when you upgrade your plan");
        assert_eq!(First.reward_reason(), "First tier (1 successful referral): discounts from suppliers on Bouquet");
    }

    #[test]
    fn the_tier_view_lists_what_was_reached_and_what_is_next() {
        let v = tier_view(Supplier, 4);
        assert_eq!(v.tier.as_ref().map(|t| t.tier), Some(Silver));
        assert_eq!(v.next_tier.as_ref().map(|t| t.tier), Some(Gold));
        assert_eq!(v.referrals_to_next, Some(1));
        assert_eq!(v.perks.iter().map(|p| p.perk).collect::<Vec<_>>(), vec![Perk::MonthFree, Perk::UpgradeDiscount]);
        let top = tier_view(Couple, 7);
        assert_eq!((top.tier.map(|t| t.tier), top.next_tier, top.referrals_to_next), (Some(Champion), None, None));
        let none = tier_view(Supplier, 0);
        assert_eq!((none.tier, none.referrals_to_next, none.perks.len()), (None, Some(1), 0));
    }
}
