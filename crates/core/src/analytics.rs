//! Growth analytics reports: the facts the server gathers about referrals and the people
//! who came through them, turned into figures by period, splits, the funnel and the
//! viral loop with the formulas of [`crate::metrics`]. Pure: the server reads the facts
//! (users held or rejected by fraud review already left out) and this module counts.
//! What each figure counts is in `docs/metrics.md`.

use std::collections::{BTreeMap, HashMap, HashSet};

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

/// The referrals of one kind (referrer kind, referee kind, method) made on one day, and
/// what came of them: what a report counts, added up. Reports read cohorts rather than
/// one fact per referral, so the database can hand them over already summed
/// (`docs/metrics.md`, "Cost").
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Midnight UTC of the day the referrals were made (every period is whole days).
    pub day: DateTime<Utc>,
    pub referrer_kind: AccountKind,
    pub referee_kind: AccountKind,
    pub method: ReferralMethod,
    pub referrals: i64,
    /// Unique visits on them (a fair lead is one), held and rejected visitors left out.
    pub visits: i64,
    /// People whose first touch was on them and who got as far as signing up, and as far
    /// as activating (a later step implies the earlier ones: [`PersonFact`]).
    pub signed_up: i64,
    pub activated: i64,
    /// Those people's conversions.
    pub conversions: Vec<ConversionFact>,
}

impl Cohort {
    fn split_key(&self, split: SplitBy) -> &'static str {
        split.key_of(self.referrer_kind, self.referee_kind, self.method)
    }
}

/// Referral facts summed into cohorts, in day and kind order.
pub fn cohorts_of(referrals: &[ReferralFact]) -> Vec<Cohort> {
    let mut by_key: BTreeMap<(DateTime<Utc>, &'static str, &'static str, &'static str), Cohort> = BTreeMap::new();
    for r in referrals {
        let day = metrics::period_start(r.made_at, Period::Day);
        let cohort = by_key.entry((day, r.referrer_kind.as_str(), r.referee_kind.as_str(), r.method.as_str())).or_insert_with(|| Cohort {
            day,
            referrer_kind: r.referrer_kind,
            referee_kind: r.referee_kind,
            method: r.method,
            referrals: 0,
            visits: 0,
            signed_up: 0,
            activated: 0,
            conversions: Vec::new(),
        });
        cohort.referrals += 1;
        cohort.visits += r.visits;
        for p in &r.people {
            cohort.signed_up += i64::from(p.reached_sign_up());
            cohort.activated += i64::from(p.reached_activation());
            cohort.conversions.extend(p.conversion.clone());
        }
    }
    by_key.into_values().collect()
}

/// Referrers counted once however many referrals they made, which do not add up across
/// cohorts: for the range, each period, each split group and each loop direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferrerCounts {
    pub total: i64,
    /// By period start.
    pub by_period: BTreeMap<DateTime<Utc>, i64>,
    /// By split group (of the split asked for), over the range and by period.
    pub by_group: BTreeMap<String, i64>,
    pub by_period_and_group: BTreeMap<(DateTime<Utc>, String), i64>,
    /// By (referrer kind, referee kind).
    pub by_direction: HashMap<(AccountKind, AccountKind), i64>,
}

impl ReferrerCounts {
    /// Counted from referral facts (a referrer's own report; the platform's are counted
    /// by the database).
    pub fn of(referrals: &[ReferralFact], period: Period, split_by: Option<SplitBy>) -> Self {
        let mut total = HashSet::new();
        let mut by_period: BTreeMap<DateTime<Utc>, HashSet<Uuid>> = BTreeMap::new();
        let mut by_group: BTreeMap<String, HashSet<Uuid>> = BTreeMap::new();
        let mut by_period_and_group: BTreeMap<(DateTime<Utc>, String), HashSet<Uuid>> = BTreeMap::new();
        let mut by_direction: HashMap<(AccountKind, AccountKind), HashSet<Uuid>> = HashMap::new();
        for r in referrals {
            let start = metrics::period_start(r.made_at, period);
            total.insert(r.referrer_id);
            by_period.entry(start).or_default().insert(r.referrer_id);
            by_direction.entry((r.referrer_kind, r.referee_kind)).or_default().insert(r.referrer_id);
            if let Some(split) = split_by {
                by_group.entry(split.key(r).to_owned()).or_default().insert(r.referrer_id);
                by_period_and_group.entry((start, split.key(r).to_owned())).or_default().insert(r.referrer_id);
            }
        }
        fn sizes<K: Ord>(sets: BTreeMap<K, HashSet<Uuid>>) -> BTreeMap<K, i64> {
            sets.into_iter().map(|(k, v)| (k, v.len() as i64)).collect()
        }
        Self {
            total: total.len() as i64,
            by_period: sizes(by_period),
            by_group: sizes(by_group),
            by_period_and_group: sizes(by_period_and_group),
            by_direction: by_direction.into_iter().map(|(k, v)| (k, v.len() as i64)).collect(),
        }
    }

    fn direction(&self, direction: LoopDirection) -> i64 {
        self.by_direction.get(&(direction.referrer_kind(), direction.referee_kind())).copied().unwrap_or(0)
    }
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
        self.key_of(r.referrer_kind, r.referee_kind, r.method)
    }

    /// The group a referral of these kinds falls in.
    fn key_of(self, referrer_kind: AccountKind, referee_kind: AccountKind, method: ReferralMethod) -> &'static str {
        match self {
            Self::ReferrerKind => referrer_kind.as_str(),
            Self::RefereeKind => referee_kind.as_str(),
            Self::Method => method.as_str(),
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
    pub cohorts: &'a [Cohort],
    pub referrers: &'a ReferrerCounts,
    pub money: &'a MoneyFacts,
    pub cycles: &'a [CycleFact],
    pub currency: &'a str,
    pub benchmarks: &'a FunnelBenchmarks,
    pub now: DateTime<Utc>,
}

pub fn report(input: &ReportInput<'_>) -> AnalyticsReport {
    let all: Vec<&Cohort> = input.cohorts.iter().collect();
    let referrers = input.referrers;
    let count = |n: Option<&i64>| n.copied().unwrap_or(0);
    let mut groups = Vec::new();
    if let Some(split) = input.split_by {
        let mut by_key: BTreeMap<&'static str, Vec<&Cohort>> = BTreeMap::new();
        for c in &all {
            by_key.entry(c.split_key(split)).or_default().push(c);
        }
        groups = by_key
            .into_iter()
            .map(|(key, members)| SplitGroup {
                key: key.to_owned(),
                series: series(&members, input.period, input.starts, |start| {
                    count(referrers.by_period_and_group.get(&(start, key.to_owned())))
                }),
                total: figures(&members, count(referrers.by_group.get(key))),
            })
            .collect();
    }

    let total = figures(&all, referrers.total);
    let funnel = metrics::funnel(&funnel_counts(&all, input.now), input.benchmarks);
    let viral_loop = metrics::viral_loop(&loop_counts(&all, referrers), full_loop_cycle_days(input.cycles));
    let referral_revenue_minor: i64 = all.iter().flat_map(|c| &c.conversions).filter_map(ConversionFact::revenue_minor).sum();
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
        series: series(&all, input.period, input.starts, |start| count(referrers.by_period.get(&start))),
        total,
        split_by: input.split_by,
        groups,
        funnel,
        viral_loop,
        money,
        kpis,
    }
}

/// The figures of a set of cohorts, whose referrers number `unique_referrers`.
pub fn figures(cohorts: &[&Cohort], unique_referrers: i64) -> GrowthFigures {
    let conversions: Vec<&ConversionFact> = cohorts.iter().flat_map(|c| &c.conversions).collect();
    let times: Vec<i64> = conversions.iter().map(|c| c.time_to_convert_seconds).collect();
    let values: Vec<i64> = conversions.iter().filter_map(|c| c.revenue_minor()).collect();
    let value: i64 = values.iter().sum();
    let referrals_made = cohorts.iter().map(|c| c.referrals).sum();
    GrowthFigures {
        referrals_made,
        unique_referrers,
        unique_visits: cohorts.iter().map(|c| c.visits).sum(),
        sign_ups: cohorts.iter().map(|c| c.signed_up).sum(),
        conversions: conversions.len() as i64,
        conversion_rate: metrics::rate(conversions.len() as i64, referrals_made),
        avg_time_to_convert_seconds: metrics::mean(&times),
        median_time_to_convert_seconds: metrics::median(&times),
        conversion_value_minor: value,
        avg_conversion_value_minor: metrics::average_minor(value, values.len() as i64),
    }
}

/// One [`PeriodFigures`] per bucket start, by when each cohort's referrals were made;
/// `referrers` gives each bucket's distinct referrers.
pub fn series(cohorts: &[&Cohort], period: Period, starts: &[DateTime<Utc>], referrers: impl Fn(DateTime<Utc>) -> i64) -> Vec<PeriodFigures> {
    let mut buckets: Vec<Vec<&Cohort>> = vec![Vec::new(); starts.len()];
    for c in cohorts {
        let start = metrics::period_start(c.day, period);
        if let Ok(i) = starts.binary_search(&start) {
            buckets[i].push(c);
        }
    }
    starts.iter().zip(buckets).map(|(&start, members)| PeriodFigures { start, figures: figures(&members, referrers(start)) }).collect()
}

/// The funnel's counts: referrals made at the top, then people (a shared link or a fair's
/// QR code can bring many), each counted at every step they reached.
pub fn funnel_counts(cohorts: &[&Cohort], now: DateTime<Utc>) -> FunnelCounts {
    let mut counts = FunnelCounts::default();
    for c in cohorts {
        counts.invited += c.referrals;
        counts.visited += c.visits;
        counts.signed_up += c.signed_up;
        counts.activated += c.activated;
        for conversion in &c.conversions {
            counts.converted += 1;
            if conversion.matured(now) {
                counts.converted_matured += 1;
                counts.retained += i64::from(conversion.retained());
            }
        }
    }
    counts
}

/// Per direction: the referrers who made a referral in it, their referrals and the
/// conversions those brought.
pub fn loop_counts(cohorts: &[&Cohort], referrers: &ReferrerCounts) -> LoopCounts {
    let mut counts = LoopCounts::default();
    for direction in LoopDirection::ALL {
        let members = || cohorts.iter().filter(|c| c.referrer_kind == direction.referrer_kind() && c.referee_kind == direction.referee_kind());
        let side = DirectionCounts {
            active_referrers: referrers.direction(direction),
            invitations: members().map(|c| c.referrals).sum(),
            conversions: members().map(|c| c.conversions.len() as i64).sum(),
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
        let cohorts = cohorts_of(&refs);
        let all: Vec<&Cohort> = cohorts.iter().collect();
        let referrers = ReferrerCounts::of(&refs, Period::Day, None);
        let starts = metrics::period_starts(at(2, 0), at(5, 0), Period::Day).unwrap();
        let s = series(&all, Period::Day, &starts, |start| referrers.by_period.get(&start).copied().unwrap_or(0));
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
        let cohorts = cohorts_of(&refs);
        let all: Vec<&Cohort> = cohorts.iter().collect();
        let f = figures(&all, 1);
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
        let cohorts = cohorts_of(&refs);
        let all: Vec<&Cohort> = cohorts.iter().collect();
        let c = funnel_counts(&all, at(2, 0));
        assert_eq!((c.signed_up, c.activated, c.converted), (2, 2, 2), "a step never exceeds the one before it");
        assert_eq!(figures(&all, 1).sign_ups, 2);
    }

    #[test]
    fn churn_after_the_window_still_counts_as_retained() {
        let mut p = converted(at(1, 0), 60, None);
        if let Some(c) = p.conversion.as_mut() {
            c.churned_at = Some(at(1, 0) + Duration::days(30));
        }
        let refs = [referral(1, at(1, 0), 1, vec![p])];
        let cohorts = cohorts_of(&refs);
        let all: Vec<&Cohort> = cohorts.iter().collect();
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
        let cohorts = cohorts_of(&refs);
        let all: Vec<&Cohort> = cohorts.iter().collect();
        let counts = loop_counts(&all, &ReferrerCounts::of(&refs, Period::Day, None));
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
            cohorts: &cohorts_of(&refs),
            referrers: &ReferrerCounts::of(&refs, Period::Day, Some(SplitBy::Method)),
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
    fn cohorts_sum_a_day_of_one_kind_and_referrers_count_once() {
        let mut qr = referral(1, at(1, 15), 2, vec![converted(at(3, 0), 60, Some(100))]);
        qr.method = ReferralMethod::Qr;
        let refs = [referral(1, at(1, 9), 1, vec![PersonFact { signed_up: true, ..Default::default() }]), referral(2, at(1, 23), 0, vec![]), qr, referral(1, at(2, 0), 0, vec![])];
        let cohorts = cohorts_of(&refs);
        // 1 March by link (two referrals), 1 March by QR, 2 March by link.
        assert_eq!(cohorts.iter().map(|c| (c.day, c.method, c.referrals, c.visits, c.signed_up, c.conversions.len())).collect::<Vec<_>>(), [
            (at(1, 0), ReferralMethod::Link, 2, 1, 1, 0),
            (at(1, 0), ReferralMethod::Qr, 1, 2, 1, 1),
            (at(2, 0), ReferralMethod::Link, 1, 0, 0, 0),
        ]);
        let counts = ReferrerCounts::of(&refs, Period::Week, Some(SplitBy::Method));
        assert_eq!(counts.total, 2, "referrer 1 made three referrals in two ways: once");
        assert_eq!(counts.by_group.get("link"), Some(&2));
        assert_eq!(counts.by_group.get("qr"), Some(&1));
        assert_eq!(counts.by_period.values().copied().collect::<Vec<_>>(), [2, 1], "Sunday 1 March ends a week: both referrers, then one");
        assert_eq!(counts.direction(LoopDirection::SupplierToCouple), 2);
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
