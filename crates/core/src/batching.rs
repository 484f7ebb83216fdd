//! Bulk invitations: the seed's smart batching. Couples whose wedding is under 3 months
//! away are *urgent*, under 6 months *soon*, the rest (and those without a date yet)
//! *future*; invitations go out in batches of 10 in that order, paced by a delay so a
//! supplier's email is never flagged as a spammer's.
//!
//! "Under 3 months" is calendar months: a wedding on 12 September is urgent on 13 June
//! and *soon* on 12 June, exactly 3 months before. Weddings already past are left out of
//! the plan (reported as skipped) rather than invited.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const BATCH_SIZE: usize = 10;
pub const URGENT_MONTHS: u32 = 3;
pub const SOON_MONTHS: u32 = 6;
/// The seed's target referral conversion rate (25%), used to predict conversions until
/// a supplier has enough history of their own.
pub const BENCHMARK_CONVERSION_BP: i64 = 2_500;
/// Sign-ups needed before a supplier's own conversion rate is trusted over the benchmark.
pub const MIN_HISTORY_SIGNUPS: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Urgent,
    Soon,
    Future,
}

/// `None` when the wedding has already happened.
pub fn urgency(wedding: Option<NaiveDate>, today: NaiveDate) -> Option<Urgency> {
    let Some(date) = wedding else { return Some(Urgency::Future) };
    if date < today {
        return None;
    }
    let within = |months: u32| today.checked_add_months(Months::new(months)).is_none_or(|limit| date < limit);
    Some(if within(URGENT_MONTHS) {
        Urgency::Urgent
    } else if within(SOON_MONTHS) {
        Urgency::Soon
    } else {
        Urgency::Future
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch<T> {
    /// 0-based; batch `n` goes out `n × delay` after the first.
    pub number: usize,
    pub send_after_seconds: u64,
    pub items: Vec<(Urgency, T)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchPlan<T> {
    pub batches: Vec<Batch<T>>,
    pub urgent: usize,
    pub soon: usize,
    pub future: usize,
    /// Weddings already past: not invited.
    pub skipped_past: Vec<T>,
}

impl<T> BatchPlan<T> {
    pub fn queued(&self) -> usize {
        self.urgent + self.soon + self.future
    }
}

/// Orders `items` urgent → soon → future (keeping their order within a group) and cuts
/// them into batches of [`BATCH_SIZE`], `delay_seconds` apart.
pub fn plan<T>(items: Vec<T>, wedding_of: impl Fn(&T) -> Option<NaiveDate>, today: NaiveDate, delay_seconds: u64) -> BatchPlan<T> {
    let mut ranked: Vec<(Urgency, usize, T)> = Vec::with_capacity(items.len());
    let mut skipped_past = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match urgency(wedding_of(&item), today) {
            Some(u) => ranked.push((u, i, item)),
            None => skipped_past.push(item),
        }
    }
    ranked.sort_by_key(|(u, i, _)| (*u, *i));
    let count = |u: Urgency| ranked.iter().filter(|(x, _, _)| *x == u).count();
    let (urgent, soon, future) = (count(Urgency::Urgent), count(Urgency::Soon), count(Urgency::Future));
    let mut batches: Vec<Batch<T>> = Vec::new();
    for (urgency, _, item) in ranked {
        if batches.last().is_none_or(|b| b.items.len() == BATCH_SIZE) {
            let number = batches.len();
            batches.push(Batch { number, send_after_seconds: number as u64 * delay_seconds, items: Vec::new() });
        }
        batches.last_mut().expect("pushed above").items.push((urgency, item));
    }
    BatchPlan { batches, urgent, soon, future, skipped_past }
}

/// Predicted conversions from `invitations`: the supplier's own conversion rate once
/// they have [`MIN_HISTORY_SIGNUPS`] sign-ups, else the seed's 25% benchmark. Returns
/// the prediction (rounded to the nearest whole couple) and the rate used, in basis points.
pub fn predict_conversions(invitations: usize, own_rate_bp: Option<i64>, own_signups: i64) -> (i64, i64) {
    let rate = match own_rate_bp {
        Some(r) if own_signups >= MIN_HISTORY_SIGNUPS => r.clamp(0, 10_000),
        _ => BENCHMARK_CONVERSION_BP,
    };
    ((invitations as i64 * rate + 5_000) / 10_000, rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_seed_boundaries_are_exclusive() {
        let today = d(2027, 6, 12);
        assert_eq!(urgency(Some(d(2027, 9, 11)), today), Some(Urgency::Urgent));
        assert_eq!(urgency(Some(d(2027, 9, 12)), today), Some(Urgency::Soon), "exactly 3 months away");
        assert_eq!(urgency(Some(d(2027, 12, 11)), today), Some(Urgency::Soon));
        assert_eq!(urgency(Some(d(2027, 12, 12)), today), Some(Urgency::Future), "exactly 6 months away");
        assert_eq!(urgency(Some(today), today), Some(Urgency::Urgent), "the wedding is today");
        assert_eq!(urgency(Some(d(2027, 6, 11)), today), None, "already past");
        assert_eq!(urgency(None, today), Some(Urgency::Future), "no date yet");
        // End of month: 30 November + 3 months is 28 February (29 in a leap year).
        assert_eq!(urgency(Some(d(2027, 2, 27)), d(2026, 11, 30)), Some(Urgency::Urgent));
        assert_eq!(urgency(Some(d(2027, 2, 28)), d(2026, 11, 30)), Some(Urgency::Soon));
        assert_eq!(urgency(Some(d(2028, 2, 28)), d(2027, 11, 30)), Some(Urgency::Urgent));
        assert_eq!(urgency(Some(d(2028, 2, 29)), d(2027, 11, 30)), Some(Urgency::Soon));
    }

    #[test]
    fn batches_of_ten_urgent_first_in_order_paced() {
        let today = d(2027, 1, 1);
        // 25 couples: every 3rd urgent, every 3rd soon, the rest future (input order kept within a group).
        let couples: Vec<(usize, NaiveDate)> = (0..25)
            .map(|i| {
                let date = match i % 3 {
                    0 => d(2027, 2, 1),
                    1 => d(2027, 5, 1),
                    _ => d(2028, 1, 1),
                };
                (i, date)
            })
            .collect();
        let mut with_past = couples.clone();
        with_past.push((99, d(2026, 12, 1)));
        let p = plan(with_past, |c| Some(c.1), today, 60);
        assert_eq!((p.urgent, p.soon, p.future, p.queued()), (9, 8, 8, 25));
        assert_eq!(p.skipped_past.iter().map(|c| c.0).collect::<Vec<_>>(), vec![99]);
        assert_eq!(p.batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(), vec![10, 10, 5]);
        assert_eq!(p.batches.iter().map(|b| b.send_after_seconds).collect::<Vec<_>>(), vec![0, 60, 120]);
        let order: Vec<usize> = p.batches.iter().flat_map(|b| b.items.iter().map(|(_, c)| c.0)).collect();
        assert_eq!(&order[..9], &[0, 3, 6, 9, 12, 15, 18, 21, 24]);
        assert_eq!(&order[9..17], &[1, 4, 7, 10, 13, 16, 19, 22]);
        assert_eq!(p.batches[0].items[9].0, Urgency::Soon, "the 10th of the first batch is the first soon couple");
        let empty = plan(Vec::<(usize, NaiveDate)>::new(), |c| Some(c.1), today, 60);
        assert!(empty.batches.is_empty());
    }

    #[test]
    fn predictions_use_own_history_once_there_is_enough() {
        assert_eq!(predict_conversions(10, None, 0), (3, 2_500), "2.5 rounds to 3");
        assert_eq!(predict_conversions(10, Some(4_000), 5), (3, 2_500), "too little history");
        assert_eq!(predict_conversions(10, Some(4_000), 20), (4, 4_000));
        assert_eq!(predict_conversions(0, Some(4_000), 50), (0, 4_000));
    }
}
