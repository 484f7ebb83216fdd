//! Growth analytics for a referrer or the whole platform: what range a request asks for,
//! the facts from the store, and the report from `bouquet_core::analytics`.

use std::sync::Arc;

use bouquet_core::analytics::{self, AnalyticsReport, ReferrerCounts, ReportInput, SplitBy};
use bouquet_core::metrics::{self, FunnelBenchmarks, Period};
use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::Store;

/// A report's range as a request gives it: each part optional.
#[derive(Debug, Default, Clone)]
pub struct RangeRequest {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub split: Option<String>,
}

/// The range a request resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub period: Period,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub split_by: Option<SplitBy>,
}

/// How many buckets a range covers when `from` is not given: 30 days, 12 weeks or 12 months.
fn default_span(period: Period, to: DateTime<Utc>) -> DateTime<Utc> {
    // The bucket holding the range's last instant: `to` is exclusive, and a date given as
    // `to` ends at the next midnight, itself the start of a bucket outside the range.
    let current = metrics::period_start(to - Duration::microseconds(1), period);
    match period {
        Period::Day => current - Duration::days(29),
        Period::Week => current - Duration::weeks(11),
        Period::Month => current.checked_sub_months(Months::new(11)).unwrap_or(current),
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", message: message.into() }
}

/// An instant (RFC 3339) or a date. A date is midnight UTC of that day for `from`, and the
/// end of that day for `to`, so `from=2026-03-01&to=2026-03-31` is the whole of March.
fn instant(raw: &str, name: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| bad(format!("{name} must be a date (2026-03-31) or a time (2026-03-31T12:00:00Z), not '{raw}'")))?;
    let date = if end_of_day { date.succ_opt().ok_or_else(|| bad(format!("{name} is beyond the calendar")))? } else { date };
    Ok(date.and_time(NaiveTime::MIN).and_utc())
}

impl RangeRequest {
    /// The range, defaulting to weeks ending now over the last 12 of them.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<Range, ApiError> {
        let period = match self.period.as_deref() {
            None => Period::Week,
            Some(p) => Period::parse(p).ok_or_else(|| bad(format!("period must be day, week or month, not '{p}'")))?,
        };
        let to = self.to.as_deref().map(|t| instant(t, "to", true)).transpose()?.unwrap_or(now);
        let from = self.from.as_deref().map(|f| instant(f, "from", false)).transpose()?.unwrap_or_else(|| default_span(period, to));
        let split_by = self
            .split
            .as_deref()
            .map(|s| SplitBy::parse(s).ok_or_else(|| bad(format!("split must be referrer_kind, referee_kind or method, not '{s}'"))))
            .transpose()?;
        Ok(Range { period, from, to, split_by })
    }
}

/// The report for `referrer` (or the platform), with the funnel judged against
/// `benchmarks` and money in `currency`.
pub async fn report(
    store: &Arc<dyn Store>,
    referrer: Option<Uuid>,
    range: &Range,
    benchmarks: &FunnelBenchmarks,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<AnalyticsReport, ApiError> {
    let starts = metrics::period_starts(range.from, range.to, range.period).map_err(|e| bad(e.to_string()))?;
    // The platform's figures are summed in the database; a referrer's own referrals are
    // few enough to sum here.
    let (cohorts, referrers) = match referrer {
        None => (
            store.platform_cohorts(range.from, range.to, currency).await?,
            store.platform_referrers(range.from, range.to, range.period, range.split_by).await?,
        ),
        Some(id) => {
            let referrals = store.referral_facts(Some(id), range.from, range.to, currency).await?;
            (analytics::cohorts_of(&referrals), ReferrerCounts::of(&referrals, range.period, range.split_by))
        }
    };
    let money = store.money_facts(referrer, range.from, range.to, currency).await?;
    // The loop's cycle time is a platform figure: one referrer's own cycle is not a median.
    // Over the accounts that joined in the range.
    let cycles = if referrer.is_none() { store.cycle_facts(range.from, range.to).await? } else { Vec::new() };
    Ok(analytics::report(&ReportInput {
        period: range.period,
        from: range.from,
        to: range.to,
        starts: &starts,
        account_id: referrer,
        split_by: range.split_by,
        cohorts: &cohorts,
        referrers: &referrers,
        money: &money,
        cycles: &cycles,
        currency,
        benchmarks,
        now,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn req(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> RangeRequest {
        RangeRequest { period: period.map(Into::into), from: from.map(Into::into), to: to.map(Into::into), split: None }
    }

    #[test]
    fn dates_cover_whole_days_and_defaults_reach_back_twelve_periods() {
        let now = Utc.with_ymd_and_hms(2026, 3, 18, 15, 0, 0).unwrap();
        let r = req(Some("month"), Some("2026-03-01"), Some("2026-03-31")).resolve(now).unwrap();
        assert_eq!(r.from, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
        assert_eq!(r.to, Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
        let r = req(None, None, None).resolve(now).unwrap();
        assert_eq!((r.period, r.to), (Period::Week, now));
        // Wednesday 18 March is in the week of Monday 16 March; 11 weeks before is 29 December.
        assert_eq!(r.from, Utc.with_ymd_and_hms(2025, 12, 29, 0, 0, 0).unwrap());
        assert_eq!(metrics::period_starts(r.from, r.to, r.period).unwrap().len(), 12);
        // Ending on a date: twelve whole periods up to and including it.
        for (period, to, from) in [("month", "2026-03-31", (2025, 4, 1)), ("week", "2026-03-22", (2025, 12, 29)), ("day", "2026-03-31", (2026, 3, 2))] {
            let r = req(Some(period), None, Some(to)).resolve(now).unwrap();
            let (y, m, d) = from;
            assert_eq!(r.from, Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap(), "{period} to {to}");
            let buckets = metrics::period_starts(r.from, r.to, r.period).unwrap().len();
            assert_eq!(buckets, if period == "day" { 30 } else { 12 }, "{period} to {to}");
        }
    }

    #[test]
    fn bad_parts_are_named() {
        let now = Utc::now();
        for (r, needle) in [
            (req(Some("year"), None, None), "period"),
            (req(None, Some("yesterday"), None), "from"),
            (RangeRequest { split: Some("colour".into()), ..Default::default() }, "split"),
        ] {
            let ApiError::BadRequest { code, message } = r.resolve(now).unwrap_err() else { panic!("not a 400") };
            assert_eq!(code, "invalid_query");
            assert!(message.contains(needle), "{message}");
        }
    }
}
