//! The platform's analytics by day (migrations 9 and 10, docs/metrics.md "Cost"): a
//! platform report reads whole days from this rollup instead of every referral, after
//! rebuilding the days that triggers marked when their facts changed. A day's rows are
//! exactly what the raw tables sum to for that day ([`super::analytics::sum_cohorts`]).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::StoreResult;
use super::analytics::{KeptConversion, REWARDS, Reader, SummedCohort, cohort_key, sum_cohorts};
use super::db::args;
use super::rows::Columns;
use super::sql::SqlStore;
use super::StoreError;

/// Midnight UTC at or before `t`.
pub(super) fn floor_day(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Midnight UTC at or after `t`.
pub(super) fn ceil_day(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_day(t);
    if floor == t { t } else { floor + Duration::days(1) }
}

pub(super) fn day_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

/// Rebuilds the marked days in `[first, end)`, each in its own transaction so a bulk
/// rebuild never holds writers back for long. A day's mark is removed in the transaction
/// that rewrites its rows, before its facts are read on that transaction's connection:
/// on SQLite the transaction holds the write lock, so no change is in flight; on
/// PostgreSQL every writer holds its marks (`FOR KEY SHARE`, migration 10) until it
/// commits, so the removal waits for changes in flight, and a change made after it marks
/// the day again once this transaction ends. No change is lost, and of two servers
/// rebuilding at once only one does each day.
pub(super) async fn rebuild_marked(store: &SqlStore, first: DateTime<Utc>, end: DateTime<Utc>) -> StoreResult<usize> {
    let marked = store
        .pool()
        .fetch_all("SELECT day FROM analytics_dirty_days WHERE day >= $1 AND day < $2 ORDER BY day", &args![&day_text(first), &day_text(end)])
        .await?;
    rebuild(store, marked).await
}

/// Rebuilds every marked day: the scheduler's round, so reports seldom find one to do.
pub(super) async fn rebuild_all_marked(store: &SqlStore) -> StoreResult<usize> {
    let marked = store.pool().fetch_all("SELECT day FROM analytics_dirty_days ORDER BY day", &[]).await?;
    rebuild(store, marked).await
}

async fn rebuild(store: &SqlStore, marked: Vec<super::db::Row>) -> StoreResult<usize> {
    let mut rebuilt = 0;
    for row in marked {
        let day = row.text("day")?;
        let start = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| corrupt(format!("analytics day {day}: {e}")))?;
        let start = start.and_time(NaiveTime::MIN).and_utc();
        let mut tx = store.pool().begin_write().await?;
        if tx.execute("DELETE FROM analytics_dirty_days WHERE day = $1", &args![&day]).await? == 0 {
            continue;
        }
        let cohorts = sum_cohorts(Reader::Tx(&mut tx), start, start + Duration::days(1)).await?;
        tx.execute("DELETE FROM analytics_days WHERE day = $1", &args![&day]).await?;
        for c in &cohorts {
            let conversions = serde_json::to_string(&c.conversions).map_err(|e| corrupt(format!("analytics conversions: {e}")))?;
            let (_, referrer_kind, referee_kind, method) = c.key;
            tx.execute(
                "INSERT INTO analytics_days (day, referrer_type, referee_type, method, referrals, visits, signed_up, activated, conversions)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &args![&day, referrer_kind.as_str(), referee_kind.as_str(), method.as_str(), c.referrals, c.visits, c.signed_up, c.activated, &conversions],
            )
            .await?;
        }
        let rewards = tx.fetch_all(REWARDS.0, &args![start, start + Duration::days(1)]).await?;
        tx.execute("DELETE FROM analytics_day_rewards WHERE day = $1", &args![&day]).await?;
        for row in &rewards {
            tx.execute(
                "INSERT INTO analytics_day_rewards (day, currency, paid_minor, pending_minor) VALUES ($1, $2, $3, $4)",
                &args![&day, &row.text("currency")?, row.int("paid")?, row.int("pending")?],
            )
            .await?;
        }
        tx.commit().await?;
        rebuilt += 1;
    }
    Ok(rebuilt)
}

/// The rollup's rewards of the referrals made in `[first, end)`, by currency: (currency,
/// earned for good, pending).
pub(super) async fn read_rewards(store: &SqlStore, first: DateTime<Utc>, end: DateTime<Utc>) -> StoreResult<Vec<(String, i64, i64)>> {
    let rows = store
        .pool()
        .fetch_all(
            "SELECT currency, CAST(SUM(paid_minor) AS BIGINT) AS paid, CAST(SUM(pending_minor) AS BIGINT) AS pending
             FROM analytics_day_rewards WHERE day >= $1 AND day < $2 GROUP BY currency",
            &args![&day_text(first), &day_text(end)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.text("currency")?, r.int("paid")?, r.int("pending")?))).collect()
}

/// The rollup's cohorts of the days in `[first, end)`.
pub(super) async fn read(store: &SqlStore, first: DateTime<Utc>, end: DateTime<Utc>) -> StoreResult<Vec<SummedCohort>> {
    let rows = store
        .pool()
        .fetch_all(
            "SELECT day, referrer_type, referee_type, method, referrals, visits, signed_up, activated, conversions
             FROM analytics_days WHERE day >= $1 AND day < $2",
            &args![&day_text(first), &day_text(end)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let conversions: Vec<KeptConversion> =
                serde_json::from_str(&row.text("conversions")?).map_err(|e| corrupt(format!("analytics conversions: {e}")))?;
            Ok(SummedCohort {
                key: cohort_key(row)?,
                referrals: row.int("referrals")?,
                visits: row.int("visits")?,
                signed_up: row.int("signed_up")?,
                activated: row.int("activated")?,
                conversions,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn whole_days_are_bounded_by_midnights() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 15, 30, 0).unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(floor_day(t), midnight);
        assert_eq!(ceil_day(t), midnight + Duration::days(1));
        assert_eq!((floor_day(midnight), ceil_day(midnight)), (midnight, midnight));
        assert_eq!(day_text(t), "2026-03-01");
    }
}
