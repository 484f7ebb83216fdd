//! What a referral earns: the referrer's reward for a conversion (the seed's rulebook,
//! section 4), its dates, its split across several touches, and the referee's incentive.
//!
//! Rewards are credits (`CRD`, held in hundredths, see `money`). Multipliers are integer
//! basis points and every product is rounded once, to the nearest hundredth, halves away
//! from zero (`money::apply_multiplier_bp`). Nothing here reads a clock or a database.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::account::AccountKind;
use crate::money::{
    apply_multiplier_bp, apply_multipliers_bp, format_factor_bp, format_minor_grouped, format_percent_bp,
    split_exact, Money, BASIS_POINTS,
};

/// Supplier referrer, referee bought `starter`: 10 credits.
pub const STARTER_REWARD_MINOR: i64 = 1_000;
/// Supplier referrer, referee bought `professional`: 25 credits.
pub const PROFESSIONAL_REWARD_MINOR: i64 = 2_500;
/// Supplier referrer, referee bought `scale`: 50 credits.
pub const SCALE_REWARD_MINOR: i64 = 5_000;
/// Supplier referrer, referee bought `enterprise`: 100 credits.
pub const ENTERPRISE_REWARD_MINOR: i64 = 10_000;
/// Supplier referrer, any other plan (or none given, or `free`): 10 credits, the seed's
/// `planRewards[plan] || 10`.
pub const OTHER_PLAN_REWARD_MINOR: i64 = 1_000;
/// Billed annually doubles the supplier referrer's reward: annual customers are worth more.
pub const ANNUAL_MULTIPLIER_BP: u32 = 20_000;
/// New-referrer bonus, ×1.5: the first referrals are the hardest, so they pay more.
pub const NEW_REFERRER_MULTIPLIER_BP: u32 = 15_000;
/// A referrer is "new" while they have fewer than this many successful referrals before
/// the one being rewarded (0, 1 or 2 earlier → bonus; 3 → none).
pub const NEW_REFERRER_BELOW: i64 = 3;
/// Couple referrer: 5% of the conversion's value ("5% of first month").
pub const COUPLE_SHARE_BP: u32 = 500;
/// Couple referrer: at most 50 credits per conversion, the seed's "reasonable amount".
pub const COUPLE_CAP_MINOR: i64 = 5_000;
/// A reward waits this long after the conversion before it can be claimed, so a refund
/// or an early churn voids it instead of clawing it back.
pub const HOLDING_PERIOD_DAYS: i64 = 14;
/// An eligible reward can be claimed for this long after it became eligible (the seed's
/// 365 days, counted from eligibility so the holding period does not shorten it).
pub const REWARD_LIFETIME_DAYS: i64 = 365;
/// The plan that earns a reward which stays pending until the referee pays.
pub const FREE_PLAN: &str = "free";

/// Plans are compared trimmed and lower-cased; every plan lookup goes through this.
pub fn normalize_plan(plan: &str) -> String {
    plan.trim().to_lowercase()
}

/// A conversion on the free plan earns its reward, but the reward stays pending until a
/// paid conversion by the same referee follows (the seed's `immediate: plan !== 'free'`).
pub fn is_free_plan(plan: &str) -> bool {
    normalize_plan(plan) == FREE_PLAN
}

/// Which side of a reward a holder is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RewardRole {
    /// Earned by referring someone who converted.
    Referrer,
    /// The double-sided incentive, earned by the person referred.
    Referee,
    /// A perk for reaching a tier.
    Tier,
}

impl RewardRole {
    pub const ALL: [RewardRole; 3] = [Self::Referrer, Self::Referee, Self::Tier];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Referrer => "referrer",
            Self::Referee => "referee",
            Self::Tier => "tier",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The standing reward rules. `Default` is the seed's numbers; tests and future admin
/// settings may change them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRules {
    /// Supplier referrer's reward by the referee's plan (keys normalised, see `normalize_plan`).
    pub supplier_plan_rewards: BTreeMap<String, i64>,
    /// Supplier referrer's reward for any plan not in the table, or none.
    pub supplier_other_plan_minor: i64,
    pub annual_multiplier_bp: u32,
    pub new_referrer_multiplier_bp: u32,
    pub new_referrer_below: i64,
    pub couple_share_bp: u32,
    pub couple_cap_minor: i64,
    pub holding_period: Duration,
    pub lifetime: Duration,
}

impl Default for RewardRules {
    fn default() -> Self {
        let plans = [
            ("starter", STARTER_REWARD_MINOR),
            ("professional", PROFESSIONAL_REWARD_MINOR),
            ("scale", SCALE_REWARD_MINOR),
            ("enterprise", ENTERPRISE_REWARD_MINOR),
        ];
        Self {
            supplier_plan_rewards: plans.into_iter().map(|(p, m)| (p.to_string(), m)).collect(),
            supplier_other_plan_minor: OTHER_PLAN_REWARD_MINOR,
            annual_multiplier_bp: ANNUAL_MULTIPLIER_BP,
            new_referrer_multiplier_bp: NEW_REFERRER_MULTIPLIER_BP,
            new_referrer_below: NEW_REFERRER_BELOW,
            couple_share_bp: COUPLE_SHARE_BP,
            couple_cap_minor: COUPLE_CAP_MINOR,
            holding_period: Duration::days(HOLDING_PERIOD_DAYS),
            lifetime: Duration::days(REWARD_LIFETIME_DAYS),
        }
    }
}

/// The one place a campaign changes a reward: the standing reward × `multiplier_bp`
/// (rounded as usual), plus `bonus_minor` credits. Which campaign applies is decided
/// elsewhere (campaigns are a later issue); a boost of ×1 and +0 changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignBoost {
    pub name: String,
    pub multiplier_bp: u32,
    pub bonus_minor: i64,
}

/// Everything the referrer's reward depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardInput<'a> {
    pub referrer_kind: AccountKind,
    /// The plan the referee bought, as the platform sent it.
    pub plan: Option<&'a str>,
    pub annual: bool,
    /// The conversion's value (a couple referrer's reward is a share of it).
    pub conversion_value: Option<&'a Money>,
    /// The referrer's successful referrals before this one.
    pub prior_successful: i64,
    pub boost: Option<&'a CampaignBoost>,
}

/// A reward worked out: the amount, the reason in words with its numbers, and the
/// numbers themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardQuote {
    /// Credits, in hundredths; never negative.
    pub amount_minor: i64,
    /// E.g. "professional plan 25.00 × 2 (annual) × 1.5 (new referrer: 1 earlier
    /// successful referral) = 75.00 credits".
    pub reason: String,
    /// Before any multiplier: the plan's reward, or the couple's exact share rounded.
    pub base_minor: i64,
    /// The standing multipliers applied, in order (annual, new referrer).
    pub multipliers_bp: Vec<u32>,
    /// After the standing rule (multipliers, the couple cap), before any campaign.
    pub standing_minor: i64,
    /// The couple's share exceeded the cap.
    pub capped: bool,
    /// The campaign that changed the amount.
    pub campaign: Option<String>,
    /// On the free plan: the reward stays pending until the referee pays.
    pub awaiting_paid_plan: bool,
}

/// The referrer's reward for a conversion, by the standing rules and then the campaign
/// boost, if any.
///
/// Suppliers earn by the referee's plan (`RewardRules::supplier_plan_rewards`, 10 for
/// any other), ×2 when billed annually and ×1.5 while they have fewer than 3 earlier
/// successful referrals; the product is rounded once. Couples earn 5% of the
/// conversion's value (1 credit per unit of its currency), capped at 50 credits; the cap
/// is judged on the exact share, then the share is rounded. Admins earn nothing. A
/// campaign then multiplies the standing reward and adds its bonus; the cap is the
/// standing rule's, so a campaign may go past it on purpose. The result is never negative.
pub fn referrer_reward(rules: &RewardRules, input: &RewardInput) -> RewardQuote {
    let plan = input.plan.map(normalize_plan).filter(|p| !p.is_empty());
    let awaiting_paid_plan = plan.as_deref().is_some_and(is_free_plan);
    let mut quote = match input.referrer_kind {
        AccountKind::Supplier => supplier_reward(rules, plan.as_deref(), input),
        AccountKind::Couple => couple_reward(rules, input.conversion_value),
        AccountKind::Admin => RewardQuote {
            reason: "admins do not earn referral rewards: 0.00 credits".into(),
            ..RewardQuote::zero()
        },
    };
    quote.awaiting_paid_plan = awaiting_paid_plan;
    if let (Some(boost), false) = (input.boost, input.referrer_kind == AccountKind::Admin) {
        apply_boost(&mut quote, boost);
    }
    if awaiting_paid_plan {
        quote.reason.push_str(", pending until a paid plan");
    }
    quote
}

impl RewardQuote {
    fn zero() -> Self {
        Self {
            amount_minor: 0,
            reason: String::new(),
            base_minor: 0,
            multipliers_bp: Vec::new(),
            standing_minor: 0,
            capped: false,
            campaign: None,
            awaiting_paid_plan: false,
        }
    }
}

fn supplier_reward(rules: &RewardRules, plan: Option<&str>, input: &RewardInput) -> RewardQuote {
    let (base, mut reason) = match plan {
        Some(p) => match rules.supplier_plan_rewards.get(p) {
            Some(&m) => (m, format!("{p} plan {}", format_minor_grouped(m))),
            None => {
                let m = rules.supplier_other_plan_minor;
                (m, format!("{p} plan (any other plan) {}", format_minor_grouped(m)))
            }
        },
        None => {
            let m = rules.supplier_other_plan_minor;
            (m, format!("no plan given {}", format_minor_grouped(m)))
        }
    };
    let mut multipliers = Vec::new();
    if input.annual {
        multipliers.push(rules.annual_multiplier_bp);
        reason.push_str(&format!(" × {} (annual)", format_factor_bp(rules.annual_multiplier_bp)));
    }
    let prior = input.prior_successful.max(0);
    if prior < rules.new_referrer_below {
        multipliers.push(rules.new_referrer_multiplier_bp);
        let plural = if prior == 1 { "" } else { "s" };
        reason.push_str(&format!(
            " × {} (new referrer: {prior} earlier successful referral{plural})",
            format_factor_bp(rules.new_referrer_multiplier_bp)
        ));
    }
    let standing = apply_multipliers_bp(base, &multipliers).max(0);
    reason.push_str(&format!(" = {} credits", format_minor_grouped(standing)));
    RewardQuote {
        amount_minor: standing,
        reason,
        base_minor: base,
        multipliers_bp: multipliers,
        standing_minor: standing,
        ..RewardQuote::zero()
    }
}

fn couple_reward(rules: &RewardRules, value: Option<&Money>) -> RewardQuote {
    let share = format_percent_bp(rules.couple_share_bp);
    let Some(value) = value.filter(|v| v.amount_minor > 0) else {
        return RewardQuote { reason: format!("{share} of no conversion value = 0.00 credits"), ..RewardQuote::zero() };
    };
    let of = format!("{share} of {} {}", format_minor_grouped(value.amount_minor), value.currency);
    // The exact share in hundredths is value × bp / 10,000; compare it unrounded with the cap.
    let exact_num = value.amount_minor as i128 * rules.couple_share_bp as i128;
    let exact_den = BASIS_POINTS as i128;
    let rounded = apply_multiplier_bp(value.amount_minor, rules.couple_share_bp);
    let exact_text = format_exact_hundredths(exact_num, exact_den);
    let cap = rules.couple_cap_minor.max(0);
    let (amount, capped, reason) = if exact_num > cap as i128 * exact_den {
        (cap, true, format!("{of} = {exact_text}, capped at {} credits", format_minor_grouped(cap)))
    } else if exact_num % exact_den == 0 {
        (rounded, false, format!("{of} = {exact_text} credits"))
    } else {
        (rounded, false, format!("{of} = {exact_text}, rounded to {} credits", format_minor_grouped(rounded)))
    };
    RewardQuote {
        amount_minor: amount,
        reason,
        base_minor: rounded,
        standing_minor: amount,
        capped,
        ..RewardQuote::zero()
    }
}

/// `num / den` hundredths written exactly, with at least two decimals: 49.9995, 20.00.
fn format_exact_hundredths(num: i128, den: i128) -> String {
    let whole = (num / den) as i64;
    let mut rem = num % den;
    let mut text = format_minor_grouped(whole);
    if rem != 0 {
        let mut extra = String::new();
        // Only ten-thousandths of hundredths occur (den = 10,000), so this ends.
        while rem != 0 && extra.len() < 8 {
            rem *= 10;
            extra.push(char::from(b'0' + (rem / den) as u8));
            rem %= den;
        }
        text.push_str(extra.trim_end_matches('0'));
    }
    text
}

fn apply_boost(quote: &mut RewardQuote, boost: &CampaignBoost) {
    let multiplied = apply_multiplier_bp(quote.standing_minor, boost.multiplier_bp);
    let total = multiplied.saturating_add(boost.bonus_minor).max(0);
    let mut words = format!("; campaign \"{}\"", boost.name);
    if boost.multiplier_bp != BASIS_POINTS {
        words.push_str(&format!(" × {}", format_factor_bp(boost.multiplier_bp)));
    }
    if boost.bonus_minor != 0 {
        let sign = if boost.bonus_minor < 0 { "−" } else { "+" };
        words.push_str(&format!(" {sign} {} bonus", format_minor_grouped(boost.bonus_minor.saturating_abs())));
    }
    words.push_str(&format!(" = {} credits", format_minor_grouped(total)));
    quote.reason.push_str(&words);
    quote.amount_minor = total;
    quote.campaign = Some(boost.name.clone());
}

/// When a reward for a conversion at `occurred_at` may be claimed, and when it lapses:
/// eligible after the holding period; expires `lifetime` after eligibility. A reward still
/// waiting for a paid plan lapses at the same moment.
pub fn reward_dates(rules: &RewardRules, occurred_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let eligible_at = occurred_at + rules.holding_period;
    (eligible_at, eligible_at + rules.lifetime)
}

/// Divides a reward among the touches of a multi-touch conversion by their attribution
/// weights (parts per million, as in `attribution::Credit::weight_ppm`), exactly: the
/// parts add up to `total_minor`, leftover hundredths going to the largest remainders
/// (earliest on ties).
pub fn split_reward(total_minor: i64, weights_ppm: &[u32]) -> Vec<i64> {
    let weights: Vec<u64> = weights_ppm.iter().map(|&w| w as u64).collect();
    split_exact(total_minor, &weights)
}

/// Shares of a conversion's reward for its referrers, when each referrer's full reward
/// may differ (a supplier and a couple on one conversion, a new referrer's bonus):
/// `parts` is each referrer's full reward and attribution weight (ppm). Each share is
/// `full × weight / 1,000,000`; the shares are floored and the leftover hundredths of
/// the exact total (rounded halves away from zero) go to the largest remainders, earliest
/// first on ties — so when every full reward is the same, this is `split_reward`, and
/// nothing is lost or invented.
pub fn split_among_referrers(parts: &[(i64, u32)]) -> Vec<i64> {
    const FULL: i128 = crate::attribution::FULL_WEIGHT as i128;
    let exact: Vec<i128> = parts.iter().map(|&(full, w)| full.max(0) as i128 * w as i128).collect();
    let total = crate::money::round_half_away_from_zero(exact.iter().sum(), FULL);
    let mut shares: Vec<i128> = exact.iter().map(|e| e / FULL).collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] % FULL).cmp(&(exact[a] % FULL)).then(a.cmp(&b)));
    let mut leftover = total - shares.iter().sum::<i128>();
    for i in order.into_iter().cycle().take(parts.len() * 2) {
        if leftover <= 0 {
            break;
        }
        shares[i] += 1;
        leftover -= 1;
    }
    shares.into_iter().map(|s| s as i64).collect()
}

/// The referee's side of a double-sided referral: the incentive the referral offered,
/// as is, in its own currency; nothing when none was offered or it is not positive.
pub fn referee_incentive(incentive_amount: Option<&Money>) -> Option<Money> {
    incentive_amount.filter(|m| m.amount_minor > 0).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_among_referrers_add_up_to_the_exact_total() {
        // Equal rewards: the same as split_reward.
        assert_eq!(split_among_referrers(&[(1001, 333_334), (1001, 333_333), (1001, 333_333)]), vec![334, 334, 333]);
        assert_eq!(split_reward(1001, &[333_334, 333_333, 333_333]), vec![334, 334, 333]);
        // A new referrer's 15.00 and a seasoned one's 10.00, half each: 7.50 + 5.00.
        assert_eq!(split_among_referrers(&[(1500, 500_000), (1000, 500_000)]), vec![750, 500]);
        // Last touch: the whole reward to one.
        assert_eq!(split_among_referrers(&[(3750, 1_000_000)]), vec![3750]);
        // Thirds of different rewards: 12.50 + 8.333… + 8.333… = 29.1666… → 29.17.
        let shares = split_among_referrers(&[(3750, 333_334), (2500, 333_333), (2500, 333_333)]);
        assert_eq!(shares.iter().sum::<i64>(), 2917);
        assert_eq!(shares, vec![1250, 834, 833]);
    }
    use chrono::TimeZone;

    fn supplier(plan: Option<&str>, annual: bool, prior: i64) -> RewardQuote {
        referrer_reward(
            &RewardRules::default(),
            &RewardInput {
                referrer_kind: AccountKind::Supplier,
                plan,
                annual,
                conversion_value: None,
                prior_successful: prior,
                boost: None,
            },
        )
    }

    fn couple(value: Option<Money>) -> RewardQuote {
        referrer_reward(
            &RewardRules::default(),
            &RewardInput {
                referrer_kind: AccountKind::Couple,
                plan: Some("professional"),
                annual: true,
                conversion_value: value.as_ref(),
                prior_successful: 0,
                boost: None,
            },
        )
    }

    fn gbp(minor: i64) -> Money {
        Money::new(minor, "GBP")
    }

    #[test]
    fn suppliers_earn_by_plan_annual_and_new_referrer_bonus() {
        // (plan, annual, prior successes, credits in hundredths)
        let cases: &[(Option<&str>, bool, i64, i64)] = &[
            (Some("starter"), false, 3, 1_000),
            (Some("professional"), false, 3, 2_500),
            (Some("scale"), false, 3, 5_000),
            (Some("enterprise"), false, 3, 10_000),
            (Some("mystery"), false, 3, 1_000),
            (None, false, 3, 1_000),
            (Some("  "), false, 3, 1_000),
            (Some("  Professional "), false, 3, 2_500),
            (Some("ENTERPRISE"), false, 3, 10_000),
            (Some("professional"), true, 3, 5_000),
            (Some("professional"), false, 2, 3_750),
            (Some("professional"), false, 0, 3_750),
            (Some("professional"), true, 1, 7_500),
            (Some("professional"), true, 4, 5_000),
            (Some("enterprise"), true, 0, 30_000),
            (Some("starter"), false, -1, 1_500),
            (None, true, 2, 3_000),
        ];
        for &(plan, annual, prior, want) in cases {
            let q = supplier(plan, annual, prior);
            assert_eq!(q.amount_minor, want, "{plan:?} annual={annual} prior={prior}: {}", q.reason);
            assert_eq!(q.standing_minor, want);
        }
    }

    #[test]
    fn the_new_referrer_bonus_stops_at_three_earlier_successes() {
        assert_eq!(supplier(Some("starter"), false, 2).multipliers_bp, vec![NEW_REFERRER_MULTIPLIER_BP]);
        assert_eq!(supplier(Some("starter"), false, 3).multipliers_bp, Vec::<u32>::new());
        assert_eq!(supplier(Some("starter"), false, 2).amount_minor, 1_500);
        assert_eq!(supplier(Some("starter"), false, 3).amount_minor, 1_000);
    }

    #[test]
    fn supplier_reasons_show_their_numbers() {
        assert_eq!(
            supplier(Some("professional"), true, 1).reason,
            "professional plan 25.00 × 2 (annual) × 1.5 (new referrer: 1 earlier successful referral) = 75.00 credits"
        );
        assert_eq!(
            supplier(Some("Scale"), false, 0).reason,
            "scale plan 50.00 × 1.5 (new referrer: 0 earlier successful referrals) = 75.00 credits"
        );
        assert_eq!(supplier(Some("enterprise"), false, 7).reason, "enterprise plan 100.00 = 100.00 credits");
        assert_eq!(supplier(Some("gold"), false, 7).reason, "gold plan (any other plan) 10.00 = 10.00 credits");
        assert_eq!(supplier(None, false, 7).reason, "no plan given 10.00 = 10.00 credits");
    }

    #[test]
    fn a_free_plan_earns_but_waits_for_a_paid_plan() {
        for plan in ["free", " FREE ", "Free"] {
            assert!(is_free_plan(plan), "{plan}");
            let q = supplier(Some(plan), false, 5);
            assert_eq!(q.amount_minor, OTHER_PLAN_REWARD_MINOR);
            assert!(q.awaiting_paid_plan);
            assert_eq!(q.reason, "free plan (any other plan) 10.00 = 10.00 credits, pending until a paid plan");
        }
        for plan in ["starter", "freelancer", ""] {
            assert!(!is_free_plan(plan), "{plan}");
        }
        assert!(!supplier(Some("starter"), false, 5).awaiting_paid_plan);
        assert!(!supplier(None, false, 5).awaiting_paid_plan);
    }

    #[test]
    fn couples_earn_five_percent_capped_at_fifty() {
        // (value in pence, credits in hundredths, capped, reason)
        let cases: &[(i64, i64, bool, &str)] = &[
            (40_000, 2_000, false, "5% of 400.00 GBP = 20.00 credits"),
            (200_000, 5_000, true, "5% of 2,000.00 GBP = 100.00, capped at 50.00 credits"),
            (100_000, 5_000, false, "5% of 1,000.00 GBP = 50.00 credits"),
            // 49.9995 rounds up to 50.00: not capped, the rounding reaches the cap.
            (99_999, 5_000, false, "5% of 999.99 GBP = 49.9995, rounded to 50.00 credits"),
            (100_001, 5_000, true, "5% of 1,000.01 GBP = 50.0005, capped at 50.00 credits"),
            (99_990, 5_000, false, "5% of 999.90 GBP = 49.995, rounded to 50.00 credits"),
            (99_989, 4_999, false, "5% of 999.89 GBP = 49.9945, rounded to 49.99 credits"),
            (4_900, 245, false, "5% of 49.00 GBP = 2.45 credits"),
            (10, 1, false, "5% of 0.10 GBP = 0.005, rounded to 0.01 credits"),
            (9, 0, false, "5% of 0.09 GBP = 0.0045, rounded to 0.00 credits"),
        ];
        for &(value, want, capped, reason) in cases {
            let q = couple(Some(gbp(value)));
            assert_eq!((q.amount_minor, q.capped, q.reason.as_str()), (want, capped, reason), "{value}");
            assert!(q.multipliers_bp.is_empty(), "the supplier multipliers do not apply to couples");
        }
    }

    #[test]
    fn couples_without_a_value_earn_nothing() {
        for value in [None, Some(gbp(0)), Some(gbp(-500))] {
            let q = couple(value);
            assert_eq!(q.amount_minor, 0);
            assert_eq!(q.reason, "5% of no conversion value = 0.00 credits");
        }
    }

    #[test]
    fn admins_earn_nothing_even_with_a_campaign() {
        let boost = CampaignBoost { name: "x".into(), multiplier_bp: 20_000, bonus_minor: 500 };
        let q = referrer_reward(
            &RewardRules::default(),
            &RewardInput {
                referrer_kind: AccountKind::Admin,
                plan: Some("enterprise"),
                annual: true,
                conversion_value: Some(&gbp(100_000)),
                prior_successful: 0,
                boost: Some(&boost),
            },
        );
        assert_eq!(q.amount_minor, 0);
        assert_eq!(q.campaign, None);
    }

    #[test]
    fn a_campaign_multiplies_the_standing_reward_then_adds_its_bonus() {
        let rules = RewardRules::default();
        let spring = CampaignBoost { name: "Spring fairs".into(), multiplier_bp: 13_000, bonus_minor: 500 };
        let mut input = RewardInput {
            referrer_kind: AccountKind::Supplier,
            plan: Some("professional"),
            annual: true,
            conversion_value: None,
            prior_successful: 1,
            boost: Some(&spring),
        };
        let q = referrer_reward(&rules, &input);
        // 75.00 × 1.3 = 97.50, + 5.00 = 102.50.
        assert_eq!((q.standing_minor, q.amount_minor), (7_500, 10_250));
        assert_eq!(q.campaign.as_deref(), Some("Spring fairs"));
        assert!(q.reason.ends_with("= 75.00 credits; campaign \"Spring fairs\" × 1.3 + 5.00 bonus = 102.50 credits"), "{}", q.reason);

        // 37.50 × 1.3 = 48.75, + 5.00.
        input.annual = false;
        assert_eq!(referrer_reward(&rules, &input).amount_minor, 4_875 + 500);
        // 0.15 × 1.5 = 0.225 → 0.23 (half away from zero).
        let odd = CampaignBoost { name: "odd".into(), multiplier_bp: 15_000, bonus_minor: 0 };
        let tiny = RewardRules { supplier_other_plan_minor: 10, ..RewardRules::default() };
        let q = referrer_reward(&tiny, &RewardInput { plan: None, boost: Some(&odd), ..input });
        assert_eq!((q.standing_minor, q.amount_minor), (15, 23));
        assert!(q.reason.ends_with("campaign \"odd\" × 1.5 = 0.23 credits"), "{}", q.reason);

        // The cap is the standing rule's: a campaign may go past it.
        let double = CampaignBoost { name: "double".into(), multiplier_bp: 20_000, bonus_minor: 0 };
        let value = gbp(200_000);
        let q = referrer_reward(
            &rules,
            &RewardInput {
                referrer_kind: AccountKind::Couple,
                conversion_value: Some(&value),
                boost: Some(&double),
                ..input
            },
        );
        assert_eq!((q.standing_minor, q.amount_minor, q.capped), (5_000, 10_000, true));

        // A bonus only, and a negative bonus never makes a reward negative.
        let flat = CampaignBoost { name: "flat".into(), multiplier_bp: BASIS_POINTS, bonus_minor: 250 };
        let q = referrer_reward(&rules, &RewardInput { boost: Some(&flat), ..input });
        assert_eq!(q.amount_minor, 3_750 + 250);
        assert!(q.reason.ends_with("campaign \"flat\" + 2.50 bonus = 40.00 credits"), "{}", q.reason);
        let minus = CampaignBoost { name: "minus".into(), multiplier_bp: BASIS_POINTS, bonus_minor: -10_000 };
        assert_eq!(referrer_reward(&rules, &RewardInput { boost: Some(&minus), ..input }).amount_minor, 0);
    }

    #[test]
    fn linear_attribution_splits_an_odd_hundredth_exactly() {
        let third = crate::attribution::FULL_WEIGHT / 3;
        let weights = [third + 1, third, third];
        assert_eq!(split_reward(1001, &weights), vec![334, 334, 333]);
        assert_eq!(split_reward(1000, &weights), vec![334, 333, 333]);
        assert_eq!(split_reward(7_500, &[1_000_000]), vec![7_500]);
        assert_eq!(split_reward(7_500, &[0, 1_000_000, 0]), vec![0, 7_500, 0]);
        assert_eq!(split_reward(5, &[]), Vec::<i64>::new());
        for total in [0, 1, 2, 999, 1001, 12_345] {
            assert_eq!(split_reward(total, &[400_000, 100_000, 100_000, 400_000]).iter().sum::<i64>(), total);
        }
    }

    #[test]
    fn referees_get_the_offered_incentive_as_is() {
        assert_eq!(referee_incentive(Some(&gbp(1_000))), Some(gbp(1_000)));
        assert_eq!(referee_incentive(Some(&Money::credits(500))), Some(Money::credits(500)));
        assert_eq!(referee_incentive(Some(&gbp(0))), None);
        assert_eq!(referee_incentive(None), None);
    }

    #[test]
    fn rewards_become_eligible_after_fourteen_days_and_expire_a_year_later() {
        let converted = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let (eligible, expires) = reward_dates(&RewardRules::default(), converted);
        assert_eq!(eligible, Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap());
        assert_eq!(expires, Utc.with_ymd_and_hms(2027, 6, 15, 12, 0, 0).unwrap());
    }

    #[test]
    fn roles_round_trip() {
        for r in RewardRole::ALL {
            assert_eq!(RewardRole::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
    }
}
