//! Growth analytics: periods, rates that are absent rather than 0 or NaN, the referral
//! funnel and its bottleneck, the two-sided viral loop (K, cycle time, doubling time), the
//! money ratios and the seed's success targets. Pure arithmetic over counts the server
//! gathers (excluding users held or rejected by fraud review); formulas with worked
//! examples are in `docs/metrics.md`.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::account::AccountKind;

// ---------------------------------------------------------------------------------------
// The seed's success targets ("Success Metrics" in the seed document).
// ---------------------------------------------------------------------------------------

/// The viral coefficient of the full supplier → couple → supplier loop must exceed this
/// (the seed: "Target >1.5 within 6 months").
pub const TARGET_VIRAL_COEFFICIENT: f64 = 1.5;
/// Referral conversion (converted ÷ invited) must exceed this: 25%. It is also the only
/// funnel number the seed gives, so the default step benchmarks multiply to exactly it.
pub const TARGET_REFERRAL_CONVERSION_RATE: f64 = 0.25;
/// A full viral loop must take fewer days than this.
pub const TARGET_FULL_LOOP_DAYS: f64 = 14.0;
/// The fraud rate (held or rejected ÷ assessed) must stay below this: 2%.
pub const TARGET_FRAUD_RATE: f64 = 0.02;
/// Referral revenue ÷ rewards paid must be at least this ("3:1 minimum return").
pub const TARGET_REWARD_ROI: f64 = 3.0;
/// Referral revenue should reach this share of all reported revenue: 40%.
pub const TARGET_REFERRAL_REVENUE_SHARE: f64 = 0.40;

/// A conversion is retained when it is neither churned nor refunded within this many days.
pub const RETENTION_DAYS: i64 = 30;
/// A dashboard asks for at most this many buckets: 1,000 days is almost three years by day;
/// ten years by day (3,650 points) is an export, not a chart.
pub const MAX_PERIODS: usize = 1_000;

const SECONDS_PER_DAY: f64 = 86_400.0;

// ---------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------

/// How a time series is bucketed. All buckets are in UTC, so a figure does not depend on
/// the viewer's time zone and the server and the app agree on every boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// Monday 00:00 UTC to the next Monday (ISO 8601 weeks).
    Week,
    /// The 1st 00:00 UTC to the 1st of the next month.
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Self::Day, Self::Week, Self::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Why a range cannot be split into periods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodRangeError {
    #[error("the range ends ({to}) before it starts ({from})")]
    Reversed { from: DateTime<Utc>, to: DateTime<Utc> },
    #[error("the range covers more than {max} periods of a {name}; choose a longer period or a shorter range", name = .period.as_str())]
    TooManyPeriods { period: Period, max: usize },
    #[error("the range reaches beyond the dates the calendar can represent")]
    OutOfRange,
}

/// The start of the bucket holding `at`: midnight UTC of its day, of the Monday of its
/// week, or of the 1st of its month.
pub fn period_start(at: DateTime<Utc>, period: Period) -> DateTime<Utc> {
    let date = at.date_naive();
    let first_day = match period {
        Period::Day => date,
        Period::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        // Day 1 of an existing month always exists.
        Period::Month => date.with_day(1).unwrap_or(date),
    };
    midnight(first_day)
}

/// Every bucket that overlaps `[from, to)`, by its start, oldest first — including buckets
/// with nothing in them, so a chart shows an empty week as a zero rather than skipping it.
/// The first bucket may start before `from` (a range from a Wednesday starts with that
/// week's Monday). An empty range (`from == to`) has no buckets.
pub fn period_starts(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Period,
) -> Result<Vec<DateTime<Utc>>, PeriodRangeError> {
    if to < from {
        return Err(PeriodRangeError::Reversed { from, to });
    }
    let mut starts = Vec::new();
    let mut start = period_start(from, period);
    // Bounded by MAX_PERIODS + 1 steps, so a silly range is refused without walking it.
    while start < to {
        if starts.len() == MAX_PERIODS {
            return Err(PeriodRangeError::TooManyPeriods { period, max: MAX_PERIODS });
        }
        starts.push(start);
        start = next_period_start(start, period).ok_or(PeriodRangeError::OutOfRange)?;
    }
    Ok(starts)
}

/// The start of the bucket after the one starting at `start`: where that bucket ends.
pub fn next_period_start(start: DateTime<Utc>, period: Period) -> Option<DateTime<Utc>> {
    let date = start.date_naive();
    let next = match period {
        Period::Day => date.checked_add_signed(Duration::days(1))?,
        Period::Week => date.checked_add_signed(Duration::days(7))?,
        Period::Month => date.checked_add_months(Months::new(1))?,
    };
    Some(midnight(next))
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

// ---------------------------------------------------------------------------------------
// Rates, means and medians: absent, never 0 or NaN, when there is nothing to divide by.
// ---------------------------------------------------------------------------------------

/// `numerator ÷ denominator`, or `None` when the denominator is zero (or negative, which no
/// count or total can be). "No invitations yet" is not "0% converted": absent, the UI
/// shows a dash, and JSON never carries NaN (which it cannot encode).
pub fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// The arithmetic mean, `None` for no values. Summed in 128 bits so a long list of large
/// values cannot overflow.
pub fn mean(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    Some(sum as f64 / values.len() as f64)
}

/// The median, `None` for no values; for an even count, the mean of the two middle values.
/// Times to convert are skewed (most convert within days, a few after months), so the
/// median says what is typical where the mean is dragged by the few.
pub fn median(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        (i128::from(sorted[mid - 1]) + i128::from(sorted[mid])) as f64 / 2.0
    })
}

/// The average of an amount of money in minor units, rounded to a whole minor unit with
/// halves away from zero (money is never a float); `None` when `count` is not positive.
/// E.g. 1,000 pence over 3 conversions is 333 pence; 1,001 over 2 is 501.
pub fn average_minor(total_minor: i64, count: i64) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let (total, count) = (i128::from(total_minor), i128::from(count));
    let (quotient, remainder) = (total / count, total % count);
    let rounded = if 2 * remainder.abs() >= count { quotient + total.signum() } else { quotient };
    // |average| ≤ |total|, so it fits back in i64.
    i64::try_from(rounded).ok()
}

// ---------------------------------------------------------------------------------------
// The funnel
// ---------------------------------------------------------------------------------------

/// The steps of a referral, in order. Each count is of referrals that reached *at least*
/// that step, so the counts never grow down the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    /// Invited or shared: a referral was made (an invitation, a shared link, a QR code
    /// handed over, a fair lead).
    Invited,
    /// The referee opened the link or scanned the code. A fair lead counts as a visit:
    /// a couple who gave their details at a booth never clicks a link.
    Visited,
    SignedUp,
    /// Completed the platform's first-use step (the platform reports it).
    Activated,
    /// Paid or booked: a conversion attributed to the referral.
    Converted,
    /// Converted and neither churned nor refunded within [`RETENTION_DAYS`].
    Retained,
}

impl FunnelStep {
    pub const ALL: [FunnelStep; 6] =
        [Self::Invited, Self::Visited, Self::SignedUp, Self::Activated, Self::Converted, Self::Retained];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Visited => "visited",
            Self::SignedUp => "signed_up",
            Self::Activated => "activated",
            Self::Converted => "converted",
            Self::Retained => "retained",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == s)
    }

    /// What a referrer should do when this step is their bottleneck, in words they can act
    /// on. `Invited` has no rate and is never the bottleneck; its advice is for a referrer
    /// who has not shared anything yet.
    pub fn recommendation(self) -> &'static str {
        match self {
            Self::Invited => {
                "You have not invited anyone yet. Share your link or QR code with every couple \
                 and supplier you work with, and bring the printed QR code to your next fair."
            }
            Self::Visited => {
                "Few of the people you invite open your link. Make your QR code and link easier \
                 to find: put the QR code on your stand, business cards and invoices, send the \
                 link personally with a line about why you recommend it, and follow up once a \
                 few days later."
            }
            Self::SignedUp => {
                "People open your link but do not sign up. Say what they get before they \
                 arrive: mention the welcome incentive in your message, and invite couples \
                 while they are still planning rather than after the wedding."
            }
            Self::Activated => {
                "People sign up but do not get started. Give them a reason to come back in \
                 their first week: invite them to plan with you, share your availability or a \
                 checklist, and answer their first questions yourself."
            }
            Self::Converted => {
                "Active referrals rarely become paying customers. Remind them of their \
                 incentive and when it ends, and talk to them personally: a conversation \
                 converts better than a reminder email."
            }
            Self::Retained => {
                "Referred customers leave or ask for a refund within their first 30 days. \
                 Invite people who are a good fit rather than everyone, set clear \
                 expectations in your invitation, and check in during their first month."
            }
        }
    }
}

/// How many referrals reached each step (the server counts them; users held or rejected
/// by fraud review excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct FunnelCounts {
    pub invited: i64,
    /// Fair leads included.
    pub visited: i64,
    pub signed_up: i64,
    pub activated: i64,
    pub converted: i64,
    /// Conversions at least [`RETENTION_DAYS`] old, whose retention is decided. Retention is
    /// measured against these, not all conversions: last week's conversions cannot have
    /// been retained for 30 days yet, and counting them would make every recent funnel
    /// look like it leaks at the last step.
    pub converted_matured: i64,
    /// Of `converted_matured`, those neither churned nor refunded within 30 days.
    pub retained: i64,
}

impl FunnelCounts {
    pub fn count(&self, step: FunnelStep) -> i64 {
        match step {
            FunnelStep::Invited => self.invited,
            FunnelStep::Visited => self.visited,
            FunnelStep::SignedUp => self.signed_up,
            FunnelStep::Activated => self.activated,
            FunnelStep::Converted => self.converted,
            FunnelStep::Retained => self.retained,
        }
    }

    /// What the step's rate is measured against: the previous step's count (matured
    /// conversions for `Retained`); `None` for `Invited`, the top of the funnel.
    pub fn rate_denominator(&self, step: FunnelStep) -> Option<i64> {
        match step {
            FunnelStep::Invited => None,
            FunnelStep::Visited => Some(self.invited),
            FunnelStep::SignedUp => Some(self.visited),
            FunnelStep::Activated => Some(self.signed_up),
            FunnelStep::Converted => Some(self.activated),
            FunnelStep::Retained => Some(self.converted_matured),
        }
    }
}

/// The step rate (this step ÷ the previous one) a healthy funnel reaches at each step. The
/// seed gives one funnel number, 25% of invitations converting; the defaults for the four
/// steps from invited to converted multiply to exactly that (0.8 × 0.625 × 0.8 × 0.625 =
/// 0.25), so a funnel at benchmark everywhere meets the seed's target and no step is judged
/// against a stricter bar than the target implies. Retention is after conversion and
/// outside the 25%. A benchmark of 0 or below switches its step's judgement off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(default, deny_unknown_fields)]
pub struct FunnelBenchmarks {
    /// Visited ÷ invited: 0.80. Invitations are personal (from a supplier the couple chose),
    /// so most are opened.
    pub visited: f64,
    /// Signed up ÷ visited: 0.625.
    pub signed_up: f64,
    /// Activated ÷ signed up: 0.80. Someone who signed up through a person they trust
    /// usually takes the first step.
    pub activated: f64,
    /// Converted ÷ activated: 0.625. Paying or booking is the big decision.
    pub converted: f64,
    /// Retained ÷ matured conversions: 0.90 — at most one in ten churns or is refunded
    /// within 30 days.
    pub retained: f64,
}

impl Default for FunnelBenchmarks {
    fn default() -> Self {
        Self { visited: 0.80, signed_up: 0.625, activated: 0.80, converted: 0.625, retained: 0.90 }
    }
}

impl FunnelBenchmarks {
    /// The step's benchmark; `None` for `Invited` (no rate) and for a switched-off step.
    pub fn for_step(&self, step: FunnelStep) -> Option<f64> {
        let benchmark = match step {
            FunnelStep::Invited => return None,
            FunnelStep::Visited => self.visited,
            FunnelStep::SignedUp => self.signed_up,
            FunnelStep::Activated => self.activated,
            FunnelStep::Converted => self.converted,
            FunnelStep::Retained => self.retained,
        };
        (benchmark.is_finite() && benchmark > 0.0).then_some(benchmark)
    }
}

/// One step of a funnel report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct FunnelStepReport {
    pub step: FunnelStep,
    pub count: i64,
    /// This step ÷ the previous step; absent at the top and when the previous count is 0.
    pub rate: Option<f64>,
    pub benchmark: Option<f64>,
    /// `rate ÷ benchmark`: 1 is on benchmark, 0.5 is half of it. Absent when either is.
    pub of_benchmark: Option<f64>,
}

/// A funnel with its bottleneck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct FunnelReport {
    /// All six steps, top first.
    pub steps: Vec<FunnelStepReport>,
    /// Converted ÷ invited, the seed's referral conversion rate (target > 25%).
    pub referral_conversion_rate: Option<f64>,
    /// The step furthest below its benchmark; absent when every step with a rate is at or
    /// above its benchmark, or no step has a rate.
    pub bottleneck: Option<FunnelStep>,
    /// What to do about the bottleneck.
    pub recommendation: Option<String>,
}

/// Two ratios closer than this are a tie: `0.4 ÷ 0.8` and `0.3125 ÷ 0.625` are both one
/// half, and floating-point rounding must not decide which step a supplier works on.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Each step's count, rate and standing against its benchmark, and the bottleneck.
///
/// The bottleneck is the step with the lowest `rate ÷ benchmark` below 1 — the largest
/// *relative* shortfall, so a step at 40% of a 80% benchmark (half of it) is worse than one
/// at 50% of a 62.5% benchmark (four fifths of it), however the absolute gaps compare.
/// Steps without a rate (nothing reached the step before) or without a benchmark cannot be
/// the bottleneck. Ratios within [`TIE_TOLERANCE`] tie, and the earlier step wins: every
/// referral lost near the top is also lost to every step below it.
pub fn funnel(counts: &FunnelCounts, benchmarks: &FunnelBenchmarks) -> FunnelReport {
    let steps: Vec<FunnelStepReport> = FunnelStep::ALL
        .into_iter()
        .map(|step| {
            let rate = counts.rate_denominator(step).and_then(|d| rate(counts.count(step), d));
            let benchmark = benchmarks.for_step(step);
            let of_benchmark = rate.zip(benchmark).map(|(r, b)| r / b);
            FunnelStepReport { step, count: counts.count(step), rate, benchmark, of_benchmark }
        })
        .collect();

    let mut bottleneck: Option<(FunnelStep, f64)> = None;
    for report in &steps {
        let Some(ratio) = report.of_benchmark.filter(|&r| r < 1.0) else { continue };
        // Steps are visited top first, so a later step must be strictly (beyond the
        // tolerance) further below to displace an earlier one.
        if bottleneck.is_none_or(|(_, lowest)| ratio < lowest - TIE_TOLERANCE) {
            bottleneck = Some((report.step, ratio));
        }
    }
    let bottleneck = bottleneck.map(|(step, _)| step);

    FunnelReport {
        steps,
        referral_conversion_rate: rate(counts.converted, counts.invited),
        bottleneck,
        recommendation: bottleneck.map(|step| step.recommendation().to_owned()),
    }
}

// ---------------------------------------------------------------------------------------
// The viral loop
// ---------------------------------------------------------------------------------------

/// Who refers whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LoopDirection {
    SupplierToCouple,
    CoupleToSupplier,
    SupplierToSupplier,
    CoupleToCouple,
}

impl LoopDirection {
    pub const ALL: [LoopDirection; 4] =
        [Self::SupplierToCouple, Self::CoupleToSupplier, Self::SupplierToSupplier, Self::CoupleToCouple];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SupplierToCouple => "supplier_to_couple",
            Self::CoupleToSupplier => "couple_to_supplier",
            Self::SupplierToSupplier => "supplier_to_supplier",
            Self::CoupleToCouple => "couple_to_couple",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn referrer_kind(self) -> AccountKind {
        match self {
            Self::SupplierToCouple | Self::SupplierToSupplier => AccountKind::Supplier,
            Self::CoupleToSupplier | Self::CoupleToCouple => AccountKind::Couple,
        }
    }

    pub fn referee_kind(self) -> AccountKind {
        match self {
            Self::SupplierToCouple | Self::CoupleToCouple => AccountKind::Couple,
            Self::CoupleToSupplier | Self::SupplierToSupplier => AccountKind::Supplier,
        }
    }

    /// Whether referees are of the referrer's kind, so the direction is a loop by itself.
    /// A cross-kind direction is half a loop: its K counts couples per supplier (or the
    /// reverse), which is not growth until the other half brings suppliers back.
    pub fn is_loop(self) -> bool {
        self.referrer_kind() == self.referee_kind()
    }
}

/// One direction's counts over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct DirectionCounts {
    /// Accounts of the referrer kind that made at least one referral in this direction in
    /// the period.
    pub active_referrers: i64,
    /// Referrals they made in this direction in the period (invitations, links shared,
    /// QR codes handed over, fair leads).
    pub invitations: i64,
    /// Of those referrals, the ones whose referee signed up and converted.
    pub conversions: i64,
}

/// The counts of all four directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LoopCounts {
    pub supplier_to_couple: DirectionCounts,
    pub couple_to_supplier: DirectionCounts,
    pub supplier_to_supplier: DirectionCounts,
    pub couple_to_couple: DirectionCounts,
}

impl LoopCounts {
    pub fn get(&self, direction: LoopDirection) -> DirectionCounts {
        match direction {
            LoopDirection::SupplierToCouple => self.supplier_to_couple,
            LoopDirection::CoupleToSupplier => self.couple_to_supplier,
            LoopDirection::SupplierToSupplier => self.supplier_to_supplier,
            LoopDirection::CoupleToCouple => self.couple_to_couple,
        }
    }
}

/// How a loop's K reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum GrowthStatus {
    /// K > 1: each generation is larger than the last, without marketing.
    Viral,
    /// 0.7 < K ≤ 1: referrals add a lot but the loop still dies out alone.
    NearViral,
    /// K ≤ 0.7.
    SubViral,
}

/// Above this K a loop is near viral (the seed's 0.7).
pub const NEAR_VIRAL_K: f64 = 0.7;

impl GrowthStatus {
    pub fn of(k: f64) -> Self {
        if k > 1.0 {
            Self::Viral
        } else if k > NEAR_VIRAL_K {
            Self::NearViral
        } else {
            Self::SubViral
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viral => "viral",
            Self::NearViral => "near_viral",
            Self::SubViral => "sub_viral",
        }
    }
}

/// One direction of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct DirectionReport {
    pub direction: LoopDirection,
    pub active_referrers: i64,
    pub invitations: i64,
    pub conversions: i64,
    /// Invitations ÷ active referrers.
    pub invitations_per_referrer: Option<f64>,
    /// Conversions ÷ invitations.
    pub conversion_per_invitation: Option<f64>,
    /// The product of the two factors, i.e. conversions ÷ active referrers: referees won
    /// per active referrer.
    pub k: Option<f64>,
    /// Only for a same-kind direction (supplier → supplier, couple → couple), which is a
    /// loop by itself; absent for the cross-kind halves.
    pub growth_status: Option<GrowthStatus>,
}

/// One direction's factors and K.
pub fn direction(direction: LoopDirection, counts: DirectionCounts) -> DirectionReport {
    // conversions ÷ referrers equals (invitations ÷ referrers) × (conversions ÷ invitations)
    // but is computed in one division, so 6 ÷ 10 reads 0.6 and not 0.6000000000000001.
    let k = rate(counts.conversions, counts.active_referrers);
    DirectionReport {
        direction,
        active_referrers: counts.active_referrers,
        invitations: counts.invitations,
        conversions: counts.conversions,
        invitations_per_referrer: rate(counts.invitations, counts.active_referrers),
        conversion_per_invitation: rate(counts.conversions, counts.invitations),
        k,
        growth_status: if direction.is_loop() { k.map(GrowthStatus::of) } else { None },
    }
}

/// The two-sided loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ViralLoopReport {
    /// All four directions, in [`LoopDirection::ALL`] order.
    pub directions: Vec<DirectionReport>,
    /// K(supplier → couple) × K(couple → supplier): suppliers won per supplier, through
    /// the couples they brought. Absent when either side's K is.
    pub full_loop_k: Option<f64>,
    pub growth_status: Option<GrowthStatus>,
    /// Days for one turn of the full loop (see [`full_loop_cycle_days`]).
    pub cycle_time_days: Option<f64>,
    /// Days for the referred population to double, when the full loop is viral.
    pub doubling_time_days: Option<f64>,
}

/// Every direction's K, and the full supplier → couple → supplier loop with its status and
/// doubling time. `cycle_time_days` is the full loop's (see [`full_loop_cycle_days`]).
pub fn viral_loop(counts: &LoopCounts, cycle_time_days: Option<f64>) -> ViralLoopReport {
    let directions: Vec<DirectionReport> =
        LoopDirection::ALL.into_iter().map(|d| direction(d, counts.get(d))).collect();
    let k_of = |d: LoopDirection| rate(counts.get(d).conversions, counts.get(d).active_referrers);
    let full_loop_k = k_of(LoopDirection::SupplierToCouple)
        .zip(k_of(LoopDirection::CoupleToSupplier))
        .map(|(to_couples, back_to_suppliers)| to_couples * back_to_suppliers);
    ViralLoopReport {
        directions,
        full_loop_k,
        growth_status: full_loop_k.map(GrowthStatus::of),
        cycle_time_days,
        doubling_time_days: full_loop_k.zip(cycle_time_days).and_then(|(k, days)| doubling_time_days(k, days)),
    }
}

/// Cycle time of one side of the loop: the median, in days, of how long accounts that
/// joined through a referral took from joining to their own first successful referral
/// (one duration per such account; accounts that have not referred anyone successfully
/// yet have no duration). `None` when no account has one.
pub fn cycle_time_days(join_to_first_successful_referral: &[Duration]) -> Option<f64> {
    let seconds: Vec<i64> = join_to_first_successful_referral.iter().map(Duration::num_seconds).collect();
    median(&seconds).map(|s| s / SECONDS_PER_DAY)
}

/// One turn of the full loop: a referred supplier's cycle time (joining to the first couple
/// they brought in) plus a referred couple's (joining to the first supplier they brought
/// in). Absent when either side is.
pub fn full_loop_cycle_days(supplier_side_days: Option<f64>, couple_side_days: Option<f64>) -> Option<f64> {
    supplier_side_days.zip(couple_side_days).map(|(s, c)| s + c)
}

/// Days for the population to double when each cycle multiplies it by `k`:
/// `cycle_time_days × ln 2 ÷ ln k` (k^(t / cycle) = 2). `None` unless `k > 1` — at or
/// below 1 the population never doubles from referrals alone — or for a cycle time that
/// is not a finite, non-negative number.
pub fn doubling_time_days(k: f64, cycle_time_days: f64) -> Option<f64> {
    (k > 1.0 && k.is_finite() && cycle_time_days.is_finite() && cycle_time_days >= 0.0)
        .then(|| cycle_time_days * std::f64::consts::LN_2 / k.ln())
}

// ---------------------------------------------------------------------------------------
// Money and fraud
// ---------------------------------------------------------------------------------------

/// Referral revenue ÷ all reported revenue, both in the same currency's minor units.
pub fn referral_revenue_share(referral_revenue_minor: i64, total_revenue_minor: i64) -> Option<f64> {
    rate(referral_revenue_minor, total_revenue_minor)
}

/// Referral revenue ÷ rewards paid, in the same minor units (1 credit is 1 unit of the
/// revenue's currency, `docs/rewards.md`). Pending rewards are not paid and not counted.
pub fn reward_roi(referral_revenue_minor: i64, rewards_paid_minor: i64) -> Option<f64> {
    rate(referral_revenue_minor, rewards_paid_minor)
}

/// Users held or rejected by fraud review ÷ users assessed.
pub fn fraud_rate(held_or_rejected: i64, assessed: i64) -> Option<f64> {
    rate(held_or_rejected, assessed)
}

// ---------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------

/// A figure the seed sets a target for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    /// The full loop's K, above 1.5.
    ViralCoefficient,
    /// Converted ÷ invited, above 25%.
    ReferralConversionRate,
    /// The full loop's cycle time in days, below 14.
    FullLoopDays,
    /// Below 2%.
    FraudRate,
    /// At least 3 (3:1).
    RewardRoi,
    /// At least 40%.
    ReferralRevenueShare,
}

impl Kpi {
    pub const ALL: [Kpi; 6] = [
        Self::ViralCoefficient,
        Self::ReferralConversionRate,
        Self::FullLoopDays,
        Self::FraudRate,
        Self::RewardRoi,
        Self::ReferralRevenueShare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViralCoefficient => "viral_coefficient",
            Self::ReferralConversionRate => "referral_conversion_rate",
            Self::FullLoopDays => "full_loop_days",
            Self::FraudRate => "fraud_rate",
            Self::RewardRoi => "reward_roi",
            Self::ReferralRevenueShare => "referral_revenue_share",
        }
    }

    pub fn target(self) -> f64 {
        match self {
            Self::ViralCoefficient => TARGET_VIRAL_COEFFICIENT,
            Self::ReferralConversionRate => TARGET_REFERRAL_CONVERSION_RATE,
            Self::FullLoopDays => TARGET_FULL_LOOP_DAYS,
            Self::FraudRate => TARGET_FRAUD_RATE,
            Self::RewardRoi => TARGET_REWARD_ROI,
            Self::ReferralRevenueShare => TARGET_REFERRAL_REVENUE_SHARE,
        }
    }

    /// Whether `figure` meets the target, read as the seed words it: "> 1.5" and "> 25%"
    /// are strictly above, "< 14 days" and "below 2%" strictly below, "3:1 minimum" and
    /// "40% of revenue" at least. `None` when the figure is absent (or not a number):
    /// nothing measured is neither a pass nor a fail.
    pub fn meets(self, figure: Option<f64>) -> Option<bool> {
        let figure = figure.filter(|f| f.is_finite())?;
        let target = self.target();
        Some(match self {
            Self::ViralCoefficient | Self::ReferralConversionRate => figure > target,
            Self::FullLoopDays | Self::FraudRate => figure < target,
            Self::RewardRoi | Self::ReferralRevenueShare => figure >= target,
        })
    }

    pub fn check(self, figure: Option<f64>) -> KpiCheck {
        KpiCheck { kpi: self, target: self.target(), figure, met: self.meets(figure) }
    }
}

/// A figure against its target, for a dashboard card.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct KpiCheck {
    pub kpi: Kpi,
    pub target: f64,
    pub figure: Option<f64>,
    /// Absent when the figure is.
    pub met: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn close(actual: Option<f64>, expected: f64) -> bool {
        actual.is_some_and(|a| (a - expected).abs() < 1e-9)
    }

    // ---- periods ----

    #[test]
    fn period_names_round_trip() {
        for p in Period::ALL {
            assert_eq!(Period::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        }
        assert_eq!(Period::parse("year"), None);
    }

    #[test]
    fn day_buckets_start_at_midnight_utc() {
        assert_eq!(period_start(at(2025, 6, 14, 23, 59, 59), Period::Day), at(2025, 6, 14, 0, 0, 0));
        assert_eq!(period_start(at(2025, 6, 15, 0, 0, 0), Period::Day), at(2025, 6, 15, 0, 0, 0));
    }

    #[test]
    fn weeks_start_monday_midnight_utc() {
        // 2025-06-15 is a Sunday, 2025-06-16 a Monday.
        assert_eq!(period_start(at(2025, 6, 15, 23, 59, 59), Period::Week), at(2025, 6, 9, 0, 0, 0));
        assert_eq!(period_start(at(2025, 6, 16, 0, 0, 0), Period::Week), at(2025, 6, 16, 0, 0, 0));
        // A week across a year end starts in the old year.
        assert_eq!(period_start(at(2025, 1, 1, 12, 0, 0), Period::Week), at(2024, 12, 30, 0, 0, 0));
    }

    #[test]
    fn months_start_on_the_first() {
        assert_eq!(period_start(at(2025, 1, 31, 23, 59, 59), Period::Month), at(2025, 1, 1, 0, 0, 0));
        assert_eq!(period_start(at(2025, 2, 1, 0, 0, 0), Period::Month), at(2025, 2, 1, 0, 0, 0));
        assert_eq!(period_start(at(2024, 2, 29, 8, 0, 0), Period::Month), at(2024, 2, 1, 0, 0, 0));
    }

    #[test]
    fn every_overlapping_bucket_is_listed_including_empty_ones() {
        // Wednesday 4 June to Wednesday 18 June (exclusive): three weeks overlap, the first
        // starting before the range.
        let weeks = period_starts(at(2025, 6, 4, 9, 0, 0), at(2025, 6, 18, 0, 0, 0), Period::Week).unwrap();
        assert_eq!(weeks, vec![at(2025, 6, 2, 0, 0, 0), at(2025, 6, 9, 0, 0, 0), at(2025, 6, 16, 0, 0, 0)]);
        // Ending exactly on a boundary excludes the bucket starting there.
        let weeks = period_starts(at(2025, 6, 2, 0, 0, 0), at(2025, 6, 16, 0, 0, 0), Period::Week).unwrap();
        assert_eq!(weeks.len(), 2);
        // Months of different lengths, and a leap February.
        let months = period_starts(at(2024, 1, 31, 0, 0, 0), at(2024, 4, 1, 0, 0, 0), Period::Month).unwrap();
        assert_eq!(months, vec![at(2024, 1, 1, 0, 0, 0), at(2024, 2, 1, 0, 0, 0), at(2024, 3, 1, 0, 0, 0)]);
        let days = period_starts(at(2024, 2, 28, 12, 0, 0), at(2024, 3, 1, 0, 0, 1), Period::Day).unwrap();
        assert_eq!(days, vec![at(2024, 2, 28, 0, 0, 0), at(2024, 2, 29, 0, 0, 0), at(2024, 3, 1, 0, 0, 0)]);
        // An empty range has no buckets.
        assert_eq!(period_starts(at(2025, 6, 4, 0, 0, 0), at(2025, 6, 4, 0, 0, 0), Period::Day).unwrap(), Vec::<DateTime<Utc>>::new());
    }

    #[test]
    fn reversed_and_oversized_ranges_are_refused() {
        let (from, to) = (at(2025, 6, 4, 0, 0, 0), at(2025, 6, 3, 0, 0, 0));
        assert_eq!(period_starts(from, to, Period::Day), Err(PeriodRangeError::Reversed { from, to }));
        let decade = (at(2015, 1, 1, 0, 0, 0), at(2025, 1, 1, 0, 0, 0));
        assert_eq!(
            period_starts(decade.0, decade.1, Period::Day),
            Err(PeriodRangeError::TooManyPeriods { period: Period::Day, max: MAX_PERIODS })
        );
        // The same decade by week (523, the first from Monday 29 December 2014) or by month
        // (120) is fine.
        let weeks = period_starts(decade.0, decade.1, Period::Week).unwrap();
        assert_eq!((weeks.len(), weeks[0]), (523, at(2014, 12, 29, 0, 0, 0)));
        assert_eq!(period_starts(decade.0, decade.1, Period::Month).unwrap().len(), 120);
        // Exactly MAX_PERIODS days is allowed, one more is not.
        let start = at(2020, 1, 1, 0, 0, 0);
        assert_eq!(period_starts(start, start + Duration::days(1_000), Period::Day).unwrap().len(), 1_000);
        assert!(period_starts(start, start + Duration::days(1_001), Period::Day).is_err());
    }

    // ---- rates, means, medians ----

    #[test]
    fn a_zero_denominator_is_absent_not_zero_or_nan() {
        assert_eq!(rate(1, 4), Some(0.25));
        assert_eq!(rate(0, 4), Some(0.0));
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(5, 0), None);
        assert_eq!(rate(5, -1), None);
    }

    #[test]
    fn mean_and_median() {
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[]), None);
        assert_eq!(mean(&[3, 10, 5]), Some(6.0));
        assert_eq!(median(&[3, 10, 5]), Some(5.0));
        // Even count: the mean of the two middle values.
        assert_eq!(median(&[8, 3, 10, 5]), Some(6.5));
        assert_eq!(mean(&[8, 3, 10, 5]), Some(6.5));
        // One outlier moves the mean, not the median.
        assert_eq!(median(&[1, 2, 3, 100]), Some(2.5));
        assert_eq!(mean(&[1, 2, 3, 100]), Some(26.5));
        // No overflow at the extremes.
        assert_eq!(median(&[i64::MAX, i64::MAX]), Some(i64::MAX as f64));
        assert_eq!(mean(&[i64::MAX, i64::MAX]), Some(i64::MAX as f64));
    }

    #[test]
    fn average_money_is_whole_minor_units() {
        assert_eq!(average_minor(1_000, 3), Some(333));
        assert_eq!(average_minor(1_001, 2), Some(501));
        assert_eq!(average_minor(-1_001, 2), Some(-501));
        assert_eq!(average_minor(1_000, 0), None);
    }

    // ---- funnel ----

    fn example_counts() -> FunnelCounts {
        FunnelCounts {
            invited: 200,
            visited: 120,
            signed_up: 60,
            activated: 48,
            converted: 24,
            converted_matured: 20,
            retained: 18,
        }
    }

    #[test]
    fn default_benchmarks_multiply_to_the_seeds_conversion_target() {
        let b = FunnelBenchmarks::default();
        assert!((b.visited * b.signed_up * b.activated * b.converted - TARGET_REFERRAL_CONVERSION_RATE).abs() < 1e-12);
        // Missing fields take their defaults; unknown ones are refused.
        let partial: FunnelBenchmarks = serde_json::from_str(r#"{"visited": 0.5}"#).unwrap();
        assert_eq!(partial, FunnelBenchmarks { visited: 0.5, ..FunnelBenchmarks::default() });
        assert!(serde_json::from_str::<FunnelBenchmarks>(r#"{"clicked": 0.5}"#).is_err());
    }

    #[test]
    fn funnel_rates_and_the_bottleneck() {
        let report = funnel(&example_counts(), &FunnelBenchmarks::default());
        let rates: Vec<Option<f64>> = report.steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, vec![None, Some(0.6), Some(0.5), Some(0.8), Some(0.5), Some(0.9)]);
        let of: Vec<Option<f64>> = report.steps.iter().map(|s| s.of_benchmark).collect();
        assert!(of[0].is_none());
        assert!(close(of[1], 0.75)); // 0.6 ÷ 0.8
        assert!(close(of[2], 0.8)); // 0.5 ÷ 0.625
        assert!(close(of[3], 1.0));
        assert!(close(of[4], 0.8));
        assert!(close(of[5], 1.0));
        assert_eq!(report.bottleneck, Some(FunnelStep::Visited));
        assert_eq!(report.recommendation.as_deref(), Some(FunnelStep::Visited.recommendation()));
        assert_eq!(report.referral_conversion_rate, Some(0.12)); // 24 ÷ 200
        assert_eq!(report.steps[5].count, 18);
    }

    #[test]
    fn the_bottleneck_is_the_relative_shortfall_not_the_absolute_one() {
        // Visited 650 ÷ 1,000 = 0.65 of 0.8: 0.15 short, 0.8125 of its benchmark.
        // Converted 170 ÷ 340 = 0.5 of 0.625: 0.125 short, 0.8 of its benchmark.
        // The absolute gap points at visited; the relative one, which counts, at converted.
        let counts = FunnelCounts {
            invited: 1_000,
            visited: 650,
            signed_up: 416,
            activated: 340,
            converted: 170,
            converted_matured: 100,
            retained: 95,
        };
        assert_eq!(funnel(&counts, &FunnelBenchmarks::default()).bottleneck, Some(FunnelStep::Converted));
    }

    #[test]
    fn ties_go_to_the_earlier_step() {
        // Visited 80 ÷ 200 = 0.4 of 0.8 and signed up 25 ÷ 80 = 0.3125 of 0.625: both
        // exactly half their benchmark.
        let counts = FunnelCounts {
            invited: 200,
            visited: 80,
            signed_up: 25,
            activated: 20,
            converted: 13,
            converted_matured: 10,
            retained: 9,
        };
        let report = funnel(&counts, &FunnelBenchmarks::default());
        assert!(close(report.steps[1].of_benchmark, 0.5));
        assert!(close(report.steps[2].of_benchmark, 0.5));
        assert_eq!(report.bottleneck, Some(FunnelStep::Visited));
    }

    #[test]
    fn steps_without_a_rate_cannot_be_the_bottleneck() {
        // Ten invited, nobody visited: visited's rate is 0 (a real 0 of 10), every later
        // step has nothing to divide by and is absent.
        let counts = FunnelCounts { invited: 10, ..FunnelCounts::default() };
        let report = funnel(&counts, &FunnelBenchmarks::default());
        assert_eq!(report.steps[1].rate, Some(0.0));
        assert!(report.steps[2..].iter().all(|s| s.rate.is_none() && s.of_benchmark.is_none()));
        assert_eq!(report.bottleneck, Some(FunnelStep::Visited));
        assert_eq!(report.referral_conversion_rate, Some(0.0));

        // Nothing at all: no rates, no bottleneck, no recommendation, no conversion rate.
        let report = funnel(&FunnelCounts::default(), &FunnelBenchmarks::default());
        assert!(report.steps.iter().all(|s| s.rate.is_none()));
        assert_eq!((report.bottleneck, report.recommendation, report.referral_conversion_rate), (None, None, None));

        // Recent conversions only (none 30 days old yet): retention is absent, not 0%.
        let counts = FunnelCounts { converted_matured: 0, retained: 0, ..example_counts() };
        assert_eq!(funnel(&counts, &FunnelBenchmarks::default()).steps[5].rate, None);
    }

    #[test]
    fn no_bottleneck_when_every_step_meets_its_benchmark_and_switched_off_steps_are_skipped() {
        let counts = FunnelCounts {
            invited: 100,
            visited: 80,
            signed_up: 50,
            activated: 40,
            converted: 25,
            converted_matured: 20,
            retained: 18,
        };
        let report = funnel(&counts, &FunnelBenchmarks::default());
        assert_eq!(report.bottleneck, None);
        assert_eq!(report.recommendation, None);

        // The example's visited step is the bottleneck; with its benchmark switched off
        // the next worst (signed up and converted tie at 0.8) is, the earlier one first.
        let off = FunnelBenchmarks { visited: 0.0, ..FunnelBenchmarks::default() };
        let report = funnel(&example_counts(), &off);
        assert_eq!(report.steps[1].benchmark, None);
        assert_eq!(report.bottleneck, Some(FunnelStep::SignedUp));
    }

    #[test]
    fn every_step_has_advice_and_a_name() {
        for step in FunnelStep::ALL {
            assert!(!step.recommendation().is_empty());
            assert_eq!(FunnelStep::parse(step.as_str()), Some(step));
            assert_eq!(serde_json::to_value(step).unwrap(), serde_json::json!(step.as_str()));
        }
    }

    // ---- viral loop ----

    /// Generation 0: 10 suppliers invite 40 couples, 10 convert. Generation 1: those 10
    /// couples invite 30 suppliers, 6 convert.
    fn two_generations() -> LoopCounts {
        LoopCounts {
            supplier_to_couple: DirectionCounts { active_referrers: 10, invitations: 40, conversions: 10 },
            couple_to_supplier: DirectionCounts { active_referrers: 10, invitations: 30, conversions: 6 },
            ..LoopCounts::default()
        }
    }

    #[test]
    fn k_per_direction_and_for_the_full_loop() {
        let report = viral_loop(&two_generations(), Some(12.0));
        let s2c = report.directions[0];
        assert_eq!(s2c.direction, LoopDirection::SupplierToCouple);
        assert_eq!(s2c.invitations_per_referrer, Some(4.0));
        assert_eq!(s2c.conversion_per_invitation, Some(0.25));
        assert_eq!(s2c.k, Some(1.0));
        assert_eq!(s2c.growth_status, None); // half a loop
        let c2s = report.directions[1];
        assert_eq!(c2s.invitations_per_referrer, Some(3.0));
        assert_eq!(c2s.conversion_per_invitation, Some(0.2));
        assert_eq!(c2s.k, Some(0.6));
        // 10 suppliers → 10 couples → 6 suppliers: 0.6 suppliers per supplier.
        assert!(close(report.full_loop_k, 0.6));
        assert_eq!(report.growth_status, Some(GrowthStatus::SubViral));
        assert_eq!(report.doubling_time_days, None);
        assert_eq!(report.cycle_time_days, Some(12.0));
        // Directions nobody used: every figure absent.
        let s2s = report.directions[2];
        assert_eq!((s2s.invitations_per_referrer, s2s.conversion_per_invitation, s2s.k), (None, None, None));
        assert_eq!(s2s.growth_status, None);
    }

    #[test]
    fn a_viral_loop_has_a_doubling_time() {
        // The couples' side improves: 10 couples invite 30 suppliers, 20 convert → K 2.0;
        // full loop 1.0 × 2.0 = 2.0, which doubles the suppliers every cycle.
        let counts = LoopCounts {
            couple_to_supplier: DirectionCounts { active_referrers: 10, invitations: 30, conversions: 20 },
            ..two_generations()
        };
        let report = viral_loop(&counts, Some(14.0));
        assert!(close(report.full_loop_k, 2.0));
        assert_eq!(report.growth_status, Some(GrowthStatus::Viral));
        assert!(close(report.doubling_time_days, 14.0));
        // Without a cycle time, no doubling time.
        assert_eq!(viral_loop(&counts, None).doubling_time_days, None);
        // One side missing: no full loop.
        let one_sided = LoopCounts { couple_to_supplier: DirectionCounts::default(), ..counts };
        assert_eq!(viral_loop(&one_sided, Some(14.0)).full_loop_k, None);
    }

    #[test]
    fn same_kind_directions_are_loops_by_themselves() {
        let counts = LoopCounts {
            supplier_to_supplier: DirectionCounts { active_referrers: 5, invitations: 20, conversions: 4 },
            ..LoopCounts::default()
        };
        let s2s = direction(LoopDirection::SupplierToSupplier, counts.supplier_to_supplier);
        assert_eq!(s2s.k, Some(0.8));
        assert_eq!(s2s.growth_status, Some(GrowthStatus::NearViral));
        for d in LoopDirection::ALL {
            assert_eq!(LoopDirection::parse(d.as_str()), Some(d));
            assert_eq!(d.is_loop(), matches!(d, LoopDirection::SupplierToSupplier | LoopDirection::CoupleToCouple));
        }
        assert_eq!(LoopDirection::CoupleToSupplier.referrer_kind(), AccountKind::Couple);
        assert_eq!(LoopDirection::CoupleToSupplier.referee_kind(), AccountKind::Supplier);
    }

    #[test]
    fn growth_status_edges() {
        assert_eq!(GrowthStatus::of(1.01), GrowthStatus::Viral);
        assert_eq!(GrowthStatus::of(1.0), GrowthStatus::NearViral);
        assert_eq!(GrowthStatus::of(0.71), GrowthStatus::NearViral);
        assert_eq!(GrowthStatus::of(0.7), GrowthStatus::SubViral);
        assert_eq!(GrowthStatus::of(0.0), GrowthStatus::SubViral);
    }

    #[test]
    fn doubling_time() {
        assert!(close(doubling_time_days(2.0, 14.0), 14.0));
        // 10 × ln 2 ÷ ln 1.5 = 10 × 0.693147 ÷ 0.405465 = 17.0951…
        assert!(close(doubling_time_days(1.5, 10.0), 17.095_112_913_514_547));
        assert_eq!(doubling_time_days(1.0, 10.0), None);
        assert_eq!(doubling_time_days(0.6, 10.0), None);
        assert_eq!(doubling_time_days(2.0, f64::NAN), None);
    }

    #[test]
    fn cycle_time_is_the_median_in_days() {
        let days = |ds: &[i64]| ds.iter().map(|&d| Duration::days(d)).collect::<Vec<_>>();
        assert_eq!(cycle_time_days(&days(&[3, 10, 5])), Some(5.0));
        assert_eq!(cycle_time_days(&days(&[8, 3, 10, 5])), Some(6.5));
        assert_eq!(cycle_time_days(&[]), None);
        // Durations keep their hours: 36 hours is a day and a half.
        assert_eq!(cycle_time_days(&[Duration::hours(36)]), Some(1.5));
        // The full loop: suppliers take 5 days to bring a couple, couples 6.5 to bring a
        // supplier.
        assert_eq!(full_loop_cycle_days(Some(5.0), Some(6.5)), Some(11.5));
        assert_eq!(full_loop_cycle_days(Some(5.0), None), None);
    }

    // ---- money and targets ----

    #[test]
    fn money_ratios() {
        // £12,000.00 of £40,000.00 revenue came through referrals; £3,000.00 of rewards paid;
        // 3 of 200 assessed users held or rejected.
        assert_eq!(referral_revenue_share(1_200_000, 4_000_000), Some(0.3));
        assert_eq!(reward_roi(1_200_000, 300_000), Some(4.0));
        assert_eq!(fraud_rate(3, 200), Some(0.015));
        assert_eq!(referral_revenue_share(0, 0), None);
        assert_eq!(reward_roi(1_200_000, 0), None);
        assert_eq!(fraud_rate(0, 0), None);
    }

    #[test]
    fn targets() {
        use Kpi::*;
        assert_eq!(ViralCoefficient.meets(Some(1.5)), Some(false));
        assert_eq!(ViralCoefficient.meets(Some(1.51)), Some(true));
        assert_eq!(ReferralConversionRate.meets(Some(0.25)), Some(false));
        assert_eq!(ReferralConversionRate.meets(Some(0.26)), Some(true));
        assert_eq!(FullLoopDays.meets(Some(14.0)), Some(false));
        assert_eq!(FullLoopDays.meets(Some(11.5)), Some(true));
        assert_eq!(FraudRate.meets(Some(0.02)), Some(false));
        assert_eq!(FraudRate.meets(Some(0.015)), Some(true));
        assert_eq!(RewardRoi.meets(Some(3.0)), Some(true));
        assert_eq!(RewardRoi.meets(Some(2.99)), Some(false));
        assert_eq!(ReferralRevenueShare.meets(Some(0.4)), Some(true));
        assert_eq!(ReferralRevenueShare.meets(Some(0.3)), Some(false));
        for kpi in Kpi::ALL {
            assert_eq!(kpi.meets(None), None);
            assert_eq!(kpi.meets(Some(f64::NAN)), None);
        }
        assert_eq!(
            RewardRoi.check(reward_roi(1_200_000, 300_000)),
            KpiCheck { kpi: RewardRoi, target: 3.0, figure: Some(4.0), met: Some(true) }
        );
        assert_eq!(
            serde_json::to_value(ViralCoefficient.check(None)).unwrap(),
            serde_json::json!({"kpi": "viral_coefficient", "target": 1.5, "figure": null, "met": null})
        );
    }
}
