//! Growth analytics reports: the facts the server gathers about referrals and the people
//! who came through them, turned into figures by period, splits, the funnel and the
//! viral loop with the formulas of [`crate::metrics`]. Pure: the server reads the facts
//! (users held or rejected by fraud review already left out) and this module counts.
//! What each figure counts is in `docs/metrics.md`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::account::AccountKind;
use crate::metrics::{
    self, DirectionCounts, FunnelBenchmarks, FunnelCounts, FunnelReport, Kpi, KpiCheck, LoopCounts, LoopDirection, Period,
    ViralLoopReport, RETENTION_DAYS,
};
use crate::referral::ReferralMethod;

/// One referral made in the range, with what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralFact {
    pub referrer_id: Uuid,
    pub referrer_kind: AccountKind,
    pub referee_kind: AccountKind,
    pub method: ReferralMethod,
    pub made_at: DateTime<Utc>,
    /// Unique visits on it (a fair lead is one), held and rejected visitors left out.
    pub visits: i64,
    /// The people whose first touch was on this referral.
    pub people: Vec<PersonFact>,
}

/// A platform user who came through a referral (their first touch), and how far they went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonFact {
    pub signed_up: bool,
    pub activated: bool,
    pub conversion: Option<ConversionFact>,
}

impl PersonFact {
    /// Whether they got as far as signing up. A platform may report a purchase without
    /// the sign-up or activation before it; a customer has an account and has used it, so
    /// a later step implies the earlier ones and the funnel never grows downwards.
    pub fn reached_sign_up(&self) -> bool {
        self.signed_up || self.reached_activation()
    }

    pub fn reached_activation(&self) -> bool {
        self.activated || self.conversion.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversionFact {
    pub converted_at: DateTime<Utc>,
    /// From the first touch to the conversion.
    pub time_to_convert_seconds: i64,
    /// The reported value in the report's currency; `None` when none was reported, or it
    /// was in another currency.
    pub value_minor: Option<i64>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub churned_at: Option<DateTime<Utc>>,
}

impl ConversionFact {
    /// Revenue the conversion brought: its value, unless it was refunded.
    fn revenue_minor(&self) -> Option<i64> {
        if self.refunded_at.is_some() { None } else { self.value_minor }
    }

    /// Old enough for its retention to be decided.
    fn matured(&self, now: DateTime<Utc>) -> bool {
        self.converted_at + Duration::days(RETENTION_DAYS) <= now
    }

    /// Neither churned nor refunded within the retention window.
    fn retained(&self) -> bool {
        let window_end = self.converted_at + Duration::days(RETENTION_DAYS);
        ![self.refunded_at, self.churned_at].into_iter().flatten().any(|at| at < window_end)
    }
}

/// Rewards and fraud assessments in the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoneyFacts {
    /// Referrer and referee rewards eligible or claimed: earned for good.
    pub rewards_paid_minor: i64,
    /// Pending rewards (held ones are excluded with their users).
    pub rewards_pending_minor: i64,
    pub fraud_assessed: i64,
    pub fraud_held_or_rejected: i64,
}

/// One referral account's journey: joined through a referral at `joined_at`, and made
/// its own first successful referral at `first_success_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleFact {
    pub kind: AccountKind,
    pub joined_at: DateTime<Utc>,
    pub first_success_at: DateTime<Utc>,
}

/// What a split groups referrals by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    ReferrerKind,
    RefereeKind,
    Method,
}

impl SplitBy {
    pub const ALL: [SplitBy; 3] = [Self::ReferrerKind, Self::RefereeKind, Self::Method];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReferrerKind => "referrer_kind",
            Self::RefereeKind => "referee_kind",
            Self::Method => "method",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    fn key(self, r: &ReferralFact) -> &'static str {
        match self {
            Self::ReferrerKind => r.referrer_kind.as_str(),
            Self::RefereeKind => r.referee_kind.as_str(),
            Self::Method => r.method.as_str(),
        }
    }
}

/// The activity figures of a set of referrals (a period, a split group or the whole range).
/// Counts are by the period each referral was *made* in: its visits, sign-ups and
/// conversions belong to it whenever they happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct GrowthFigures {
    pub referrals_made: i64,
    pub unique_referrers: i64,
    pub unique_visits: i64,
    pub sign_ups: i64,
    pub conversions: i64,
    /// Conversions ÷ referrals made; absent with no referrals.
    pub conversion_rate: Option<f64>,
    pub avg_time_to_convert_seconds: Option<f64>,
    pub median_time_to_convert_seconds: Option<f64>,
    /// Reported value of the conversions that were not refunded, in minor units.
    pub conversion_value_minor: i64,
    /// `conversion_value_minor` ÷ the conversions it came from; absent when none.
    pub avg_conversion_value_minor: Option<i64>,
}

/// One bucket of a time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct PeriodFigures {
    /// The bucket's start (UTC).
    pub start: DateTime<Utc>,
    #[serde(flatten)]
    #[ts(flatten)]
    pub figures: GrowthFigures,
}

/// One group of a split: its series and its total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SplitGroup {
    /// The group's value: `supplier`, `couple`, `email`, `link`, `qr`, `social`.
    pub key: String,
    pub series: Vec<PeriodFigures>,
    pub total: GrowthFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct MoneyFigures {
    /// The currency of the revenue figures (the server's reporting currency).
    pub currency: String,
    /// Conversion value brought by referrals, refunds taken out.
    pub referral_revenue_minor: i64,
    /// Rewards eligible or claimed (1 credit is 1 unit of the currency).
    pub rewards_paid_minor: i64,
    pub rewards_pending_minor: i64,
    /// Referral revenue ÷ rewards paid; absent until a reward is paid.
    pub reward_roi: Option<f64>,
    /// Sign-ups assessed for fraud in the range, and of those held or rejected.
    pub fraud_assessed: i64,
    pub fraud_held_or_rejected: i64,
    pub fraud_rate: Option<f64>,
}

/// Everything a dashboard shows for a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct AnalyticsReport {
    pub period: Period,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The referrer the report is about; absent for the whole platform.
    pub account_id: Option<Uuid>,
    /// Which users the figures leave out, in words.
    pub exclusions: String,
    /// Every bucket from `from` to `to`, empty ones as zeros.
    pub series: Vec<PeriodFigures>,
    pub total: GrowthFigures,
    pub split_by: Option<SplitBy>,
    /// One group per value present, in name order; empty without a split.
    pub groups: Vec<SplitGroup>,
    pub funnel: FunnelReport,
    pub viral_loop: ViralLoopReport,
    pub money: MoneyFigures,
    /// The seed's targets that apply to the report's figures.
    pub kpis: Vec<KpiCheck>,
}

/// The platform's viral loop over a range, with its targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LoopReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub exclusions: String,
    pub viral_loop: ViralLoopReport,
    /// The full loop's K against 1.5 and its cycle time against 14 days.
    pub kpis: Vec<KpiCheck>,
}

impl From<AnalyticsReport> for LoopReport {
    fn from(r: AnalyticsReport) -> Self {
        let kpis = r.kpis.into_iter().filter(|k| matches!(k.kpi, Kpi::ViralCoefficient | Kpi::FullLoopDays)).collect();
        Self { from: r.from, to: r.to, exclusions: r.exclusions, viral_loop: r.viral_loop, kpis }
    }
}

/// What every report says it leaves out.
pub const EXCLUSIONS: &str = "Users held or rejected by fraud review are left out of every figure except the fraud rate; \
     users under review still count.";

/// The inputs of one report.
pub struct ReportInput<'a> {
    pub period: Period,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Every bucket start from [`metrics::period_starts`].
    pub starts: &'a [DateTime<Utc>],
    pub account_id: Option<Uuid>,
    pub split_by: Option<SplitBy>,
    pub referrals: &'a [ReferralFact],
    pub money: &'a MoneyFacts,
    pub cycles: &'a [CycleFact],
    pub currency: &'a str,
    pub benchmarks: &'a FunnelBenchmarks,
    pub now: DateTime<Utc>,
}

pub fn report(input: &ReportInput<'_>) -> AnalyticsReport {
    let all: Vec<&ReferralFact> = input.referrals.iter().collect();
    let mut groups = Vec::new();
    if let Some(split) = input.split_by {
        let mut by_key: BTreeMap<&'static str, Vec<&ReferralFact>> = BTreeMap::new();
        for r in &all {
            by_key.entry(split.key(r)).or_default().push(r);
        }
        groups = by_key
            .into_iter()
            .map(|(key, members)| SplitGroup {
                key: key.to_owned(),
                series: series(&members, input.period, input.starts),
                total: figures(&members),
            })
            .collect();
    }

    let total = figures(&all);
    let funnel = metrics::funnel(&funnel_counts(&all, input.now), input.benchmarks);
    let viral_loop = metrics::viral_loop(&loop_counts(&all), full_loop_cycle_days(input.cycles));
    let referral_revenue_minor: i64 = all.iter().flat_map(|r| &r.people).filter_map(|p| p.conversion.as_ref()?.revenue_minor()).sum();
    let money = MoneyFigures {
        currency: input.currency.to_owned(),
        referral_revenue_minor,
        rewards_paid_minor: input.money.rewards_paid_minor,
        rewards_pending_minor: input.money.rewards_pending_minor,
        reward_roi: metrics::reward_roi(referral_revenue_minor, input.money.rewards_paid_minor),
        fraud_assessed: input.money.fraud_assessed,
        fraud_held_or_rejected: input.money.fraud_held_or_rejected,
        fraud_rate: metrics::fraud_rate(input.money.fraud_held_or_rejected, input.money.fraud_assessed),
    };
    let mut kpis = vec![Kpi::ReferralConversionRate.check(funnel.referral_conversion_rate)];
    if input.account_id.is_none() {
        kpis.push(Kpi::ViralCoefficient.check(viral_loop.full_loop_k));
        kpis.push(Kpi::FullLoopDays.check(viral_loop.cycle_time_days));
    }
    kpis.push(Kpi::RewardRoi.check(money.reward_roi));
    kpis.push(Kpi::FraudRate.check(money.fraud_rate));

    AnalyticsReport {
        period: input.period,
        from: input.from,
        to: input.to,
        account_id: input.account_id,
        exclusions: EXCLUSIONS.to_owned(),
        series: series(&all, input.period, input.starts),
        total,
        split_by: input.split_by,
        groups,
        funnel,
        viral_loop,
        money,
        kpis,
    }
}

/// The figures of a set of referrals.
pub fn figures(referrals: &[&ReferralFact]) -> GrowthFigures {
    let referrers: HashSet<Uuid> = referrals.iter().map(|r| r.referrer_id).collect();
    let people = || referrals.iter().flat_map(|r| &r.people);
    let conversions: Vec<&ConversionFact> = people().filter_map(|p| p.conversion.as_ref()).collect();
    let times: Vec<i64> = conversions.iter().map(|c| c.time_to_convert_seconds).collect();
    let values: Vec<i64> = conversions.iter().filter_map(|c| c.revenue_minor()).collect();
    let value: i64 = values.iter().sum();
    let referrals_made = referrals.len() as i64;
    GrowthFigures {
        referrals_made,
        unique_referrers: referrers.len() as i64,
        unique_visits: referrals.iter().map(|r| r.visits).sum(),
        sign_ups: people().filter(|p| p.reached_sign_up()).count() as i64,
        conversions: conversions.len() as i64,
        conversion_rate: metrics::rate(conversions.len() as i64, referrals_made),
        avg_time_to_convert_seconds: metrics::mean(&times),
        median_time_to_convert_seconds: metrics::median(&times),
        conversion_value_minor: value,
        avg_conversion_value_minor: metrics::average_minor(value, values.len() as i64),
    }
}

/// One [`PeriodFigures`] per bucket start, by when each referral was made.
pub fn series(referrals: &[&ReferralFact], period: Period, starts: &[DateTime<Utc>]) -> Vec<PeriodFigures> {
    let mut buckets: Vec<Vec<&ReferralFact>> = vec![Vec::new(); starts.len()];
    for r in referrals {
        let start = metrics::period_start(r.made_at, period);
        if let Ok(i) = starts.binary_search(&start) {
            buckets[i].push(r);
        }
    }
    starts.iter().zip(buckets).map(|(&start, members)| PeriodFigures { start, figures: figures(&members) }).collect()
}

/// The funnel's counts: referrals made at the top, then people (a shared link or a fair's
/// QR code can bring many), each counted at every step they reached.
pub fn funnel_counts(referrals: &[&ReferralFact], now: DateTime<Utc>) -> FunnelCounts {
    let mut counts = FunnelCounts { invited: referrals.len() as i64, ..FunnelCounts::default() };
    for r in referrals {
        counts.visited += r.visits;
        for p in &r.people {
            counts.signed_up += i64::from(p.reached_sign_up());
            counts.activated += i64::from(p.reached_activation());
            if let Some(c) = &p.conversion {
                counts.converted += 1;
                if c.matured(now) {
                    counts.converted_matured += 1;
                    counts.retained += i64::from(c.retained());
                }
            }
        }
    }
    counts
}

/// Per direction: the referrers who made a referral in it, their referrals and the
/// conversions those brought.
pub fn loop_counts(referrals: &[&ReferralFact]) -> LoopCounts {
    let mut counts = LoopCounts::default();
    for direction in LoopDirection::ALL {
        let members: Vec<&&ReferralFact> = referrals
            .iter()
            .filter(|r| r.referrer_kind == direction.referrer_kind() && r.referee_kind == direction.referee_kind())
            .collect();
        let referrers: HashSet<Uuid> = members.iter().map(|r| r.referrer_id).collect();
        let side = DirectionCounts {
            active_referrers: referrers.len() as i64,
            invitations: members.len() as i64,
            conversions: members.iter().flat_map(|r| &r.people).filter(|p| p.conversion.is_some()).count() as i64,
        };
        match direction {
            LoopDirection::SupplierToCouple => counts.supplier_to_couple = side,
            LoopDirection::CoupleToSupplier => counts.couple_to_supplier = side,
            LoopDirection::SupplierToSupplier => counts.supplier_to_supplier = side,
            LoopDirection::CoupleToCouple => counts.couple_to_couple = side,
        }
    }
    counts
}

/// The full loop's cycle time: the suppliers' median plus the couples' median of days from
/// joining through a referral to their own first successful referral.
pub fn full_loop_cycle_days(cycles: &[CycleFact]) -> Option<f64> {
    let side = |kind: AccountKind| {
        let durations: Vec<Duration> = cycles.iter().filter(|c| c.kind == kind).map(|c| c.first_success_at - c.joined_at).collect();
        metrics::cycle_time_days(&durations)
    };
    metrics::full_loop_cycle_days(side(AccountKind::Supplier), side(AccountKind::Couple))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    fn referral(referrer: u128, made_at: DateTime<Utc>, visits: i64, people: Vec<PersonFact>) -> ReferralFact {
        ReferralFact {
            referrer_id: Uuid::from_u128(referrer),
            referrer_kind: AccountKind::Supplier,
            referee_kind: AccountKind::Couple,
            method: ReferralMethod::Link,
            made_at,
            visits,
            people,
        }
    }

    fn converted(converted_at: DateTime<Utc>, seconds: i64, value: Option<i64>) -> PersonFact {
        PersonFact {
            signed_up: true,
            activated: true,
            conversion: Some(ConversionFact { converted_at, time_to_convert_seconds: seconds, value_minor: value, refunded_at: None, churned_at: None }),
        }
    }

    #[test]
    fn a_series_has_every_bucket_and_counts_by_when_the_referral_was_made() {
        // Two days of referrals around an empty day; the one made on the 2nd converts on the 4th.
        let refs = [
            referral(1, at(2, 9), 2, vec![converted(at(4, 9), 172_800, Some(10_000))]),
            referral(1, at(2, 10), 1, vec![PersonFact { signed_up: true, ..Default::default() }]),
            referral(2, at(4, 9), 0, vec![]),
        ];
        let all: Vec<&ReferralFact> = refs.iter().collect();
        let starts = metrics::period_starts(at(2, 0), at(5, 0), Period::Day).unwrap();
        let s = series(&all, Period::Day, &starts);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].figures.referrals_made, s[0].figures.unique_referrers, s[0].figures.unique_visits), (2, 1, 3));
        assert_eq!((s[0].figures.sign_ups, s[0].figures.conversions), (2, 1));
        assert_eq!(s[0].figures.conversion_rate, Some(0.5));
        assert_eq!(s[0].figures.avg_conversion_value_minor, Some(10_000));
        assert_eq!(s[1].figures, GrowthFigures::default(), "the empty 3rd is zeros with absent rates");
        assert_eq!((s[2].figures.referrals_made, s[2].figures.conversions), (1, 0));
        assert_eq!(s[2].figures.conversion_rate, Some(0.0));
        assert_eq!(s[2].figures.median_time_to_convert_seconds, None);
    }

    #[test]
    fn a_refund_keeps_the_conversion_but_not_its_revenue_and_not_its_retention() {
        let mut refunded = converted(at(1, 0), 60, Some(5_000));
        if let Some(c) = refunded.conversion.as_mut() {
            c.refunded_at = Some(at(10, 0));
        }
        let refs = [referral(1, at(1, 0), 1, vec![refunded, converted(at(1, 0), 120, Some(3_000))])];
        let all: Vec<&ReferralFact> = refs.iter().collect();
        let f = figures(&all);
        assert_eq!((f.conversions, f.conversion_value_minor, f.avg_conversion_value_minor), (2, 3_000, Some(3_000)));
        assert_eq!(f.avg_time_to_convert_seconds, Some(90.0));
        let counts = funnel_counts(&all, at(31, 0));
        assert_eq!((counts.converted, counts.converted_matured, counts.retained), (2, 2, 1));
        // Nine days later nothing has matured: retention is not yet decided.
        assert_eq!(funnel_counts(&all, at(10, 0)).converted_matured, 0);
    }

    #[test]
    fn a_purchase_reported_without_sign_up_or_activation_counts_at_every_step_before_it() {
        // The platform sent only `convert` for one couple, `signup` and `convert` for another.
        let mut bought = converted(at(1, 9), 60, Some(5_000));
        bought.signed_up = false;
        bought.activated = false;
        let mut signed_then_bought = converted(at(1, 10), 60, None);
        signed_then_bought.activated = false;
        let refs = [referral(1, at(1, 0), 2, vec![bought, signed_then_bought])];
        let all: Vec<&ReferralFact> = refs.iter().collect();
        let c = funnel_counts(&all, at(2, 0));
        assert_eq!((c.signed_up, c.activated, c.converted), (2, 2, 2), "a step never exceeds the one before it");
        assert_eq!(figures(&all).sign_ups, 2);
    }

    #[test]
    fn churn_after_the_window_still_counts_as_retained() {
        let mut p = converted(at(1, 0), 60, None);
        if let Some(c) = p.conversion.as_mut() {
            c.churned_at = Some(at(1, 0) + Duration::days(30));
        }
        let refs = [referral(1, at(1, 0), 1, vec![p])];
        let all: Vec<&ReferralFact> = refs.iter().collect();
        assert_eq!(funnel_counts(&all, at(1, 0) + Duration::days(40)).retained, 1);
    }

    #[test]
    fn loop_counts_follow_each_direction() {
        let mut back = referral(9, at(1, 0), 1, vec![converted(at(2, 0), 1, None)]);
        back.referrer_kind = AccountKind::Couple;
        back.referee_kind = AccountKind::Supplier;
        let refs = [
            referral(1, at(1, 0), 1, vec![converted(at(2, 0), 1, None)]),
            referral(1, at(1, 0), 0, vec![]),
            referral(2, at(1, 0), 0, vec![]),
            back,
        ];
        let all: Vec<&ReferralFact> = refs.iter().collect();
        let counts = loop_counts(&all);
        assert_eq!(counts.supplier_to_couple, DirectionCounts { active_referrers: 2, invitations: 3, conversions: 1 });
        assert_eq!(counts.couple_to_supplier, DirectionCounts { active_referrers: 1, invitations: 1, conversions: 1 });
        assert_eq!(counts.couple_to_couple, DirectionCounts::default());
    }

    #[test]
    fn splits_group_by_the_chosen_key_in_name_order() {
        let mut qr = referral(1, at(1, 0), 3, vec![]);
        qr.method = ReferralMethod::Qr;
        let refs = [referral(1, at(1, 0), 1, vec![]), qr];
        let starts = metrics::period_starts(at(1, 0), at(2, 0), Period::Day).unwrap();
        let r = report(&ReportInput {
            period: Period::Day,
            from: at(1, 0),
            to: at(2, 0),
            starts: &starts,
            account_id: None,
            split_by: Some(SplitBy::Method),
            referrals: &refs,
            money: &MoneyFacts::default(),
            cycles: &[],
            currency: "GBP",
            benchmarks: &FunnelBenchmarks::default(),
            now: at(2, 0),
        });
        let keys: Vec<&str> = r.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["link", "qr"]);
        assert_eq!(r.groups[1].total.unique_visits, 3);
        assert_eq!(r.total.unique_visits, 4);
        assert_eq!(r.money.reward_roi, None, "no reward paid: absent, not infinite");
    }

    #[test]
    fn the_full_loop_cycle_adds_the_two_sides_medians() {
        let day = |d: u32| at(d, 0);
        let cycles = [
            CycleFact { kind: AccountKind::Supplier, joined_at: day(1), first_success_at: day(4) },
            CycleFact { kind: AccountKind::Supplier, joined_at: day(1), first_success_at: day(11) },
            CycleFact { kind: AccountKind::Supplier, joined_at: day(1), first_success_at: day(6) },
            CycleFact { kind: AccountKind::Couple, joined_at: day(2), first_success_at: day(10) },
            CycleFact { kind: AccountKind::Couple, joined_at: day(2), first_success_at: day(5) },
        ];
        // Suppliers: 3, 10, 5 → 5; couples: 8, 3 → 5.5; the loop 10.5 days.
        assert_eq!(full_loop_cycle_days(&cycles), Some(10.5));
        assert_eq!(full_loop_cycle_days(&cycles[..3]), None, "no couple side yet");
    }
}
