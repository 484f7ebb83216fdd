//! The platform's distinct referrers (migrations 11 and 12, docs/metrics.md "Cost"),
//! exactly and without reading every referral of the range:
//!
//! - **By period**: a period that lies wholly in the range — or whose part outside the
//!   range holds no referral — is read from its counts (the folded ones and the new marks
//!   not yet folded, in one statement). Only a period the range cuts through referrals
//!   (at most the first and the last) is counted from its referrals in the range.
//! - **Over the range** (the totals, per direction, per method): each account's referrals
//!   in the range are probed through an index, so the cost follows the number of accounts,
//!   not of referrals.

use std::sync::LazyLock;

use bouquet_core::analytics::{ReferrerCounts, SplitBy};
use bouquet_core::metrics::{self, Period};
use bouquet_core::{AccountKind, ReferralMethod};
use chrono::{DateTime, Utc};

use super::analytics::midnight;
use super::analytics_days::day_text;
use super::db::{Dialect, Row, Tx, args};
use super::rows::Columns;
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// The prefix of a split's keys in the counts (`k`).
fn split_prefix(split: SplitBy) -> &'static str {
    match split {
        SplitBy::ReferrerKind => "referrer_kind:",
        SplitBy::RefereeKind => "referee_kind:",
        SplitBy::Method => "method:",
    }
}

/// The counts of the periods starting in `[$2, $3]`: folded plus not yet folded.
const PERIOD_COUNTS: &str = "SELECT start, k, CAST(SUM(n) AS BIGINT) AS n FROM (
        SELECT start, k, n FROM analytics_referrer_counts WHERE period = $1 AND start >= $2 AND start <= $3
        UNION ALL SELECT start, k, 1 FROM analytics_referrer_new WHERE period = $1 AND start >= $2 AND start <= $3
     ) x GROUP BY start, k";

/// Whether any referral was made in `[$1, $2)` or `[$3, $4)`: the parts of a period the
/// range leaves out.
const ANY_OUTSIDE: &str = "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM referrals WHERE created_at >= $1 AND created_at < $2)
                                     OR EXISTS (SELECT 1 FROM referrals WHERE created_at >= $3 AND created_at < $4)
                                THEN 1 ELSE 0 END AS BIGINT) AS n";

/// A period's distinct referrers in `[$1, $2)` from its referrals: overall (`k` = '')
/// and by the split's column.
macro_rules! part_sql {
    ($prefix:literal, $column:literal) => {
        concat!(
            "SELECT '' AS k, COUNT(DISTINCT referrer_id) AS n FROM referrals WHERE created_at >= $1 AND created_at < $2
             UNION ALL SELECT '",
            $prefix,
            "' || ",
            $column,
            ", COUNT(DISTINCT referrer_id) FROM referrals WHERE created_at >= $1 AND created_at < $2 GROUP BY ",
            $column
        )
    };
}

fn part_sql(split: Option<SplitBy>) -> &'static str {
    match split {
        None => "SELECT '' AS k, COUNT(DISTINCT referrer_id) AS n FROM referrals WHERE created_at >= $1 AND created_at < $2",
        Some(SplitBy::ReferrerKind) => part_sql!("referrer_kind:", "referrer_type"),
        Some(SplitBy::RefereeKind) => part_sql!("referee_kind:", "referee_type"),
        Some(SplitBy::Method) => part_sql!("method:", "method"),
    }
}

/// Per kind of account, how many made a referral in `[$1, $2)`: any, to couples, to
/// suppliers (a referrer's kind is their account's).
const RANGE_BY_DIRECTION: &str = "SELECT kind, CAST(SUM(CASE WHEN to_couples OR to_suppliers THEN 1 ELSE 0 END) AS BIGINT) AS any_referee,
            CAST(SUM(CASE WHEN to_couples THEN 1 ELSE 0 END) AS BIGINT) AS to_couples,
            CAST(SUM(CASE WHEN to_suppliers THEN 1 ELSE 0 END) AS BIGINT) AS to_suppliers
     FROM (SELECT a.kind,
                  EXISTS (SELECT 1 FROM referrals r WHERE r.referrer_id = a.id AND r.referee_type = 'couple' AND r.created_at >= $1 AND r.created_at < $2) AS to_couples,
                  EXISTS (SELECT 1 FROM referrals r WHERE r.referrer_id = a.id AND r.referee_type = 'supplier' AND r.created_at >= $1 AND r.created_at < $2) AS to_suppliers
           FROM accounts a) x
     GROUP BY kind";

/// Per method, how many accounts made a referral by it in `[$1, $2)`.
static RANGE_BY_METHOD: LazyLock<String> = LazyLock::new(|| {
    let methods: Vec<String> = ReferralMethod::ALL.iter().map(|m| format!("SELECT '{}' AS method", m.as_str())).collect();
    format!(
        "SELECT m.method AS k,
                CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM referrals r WHERE r.referrer_id = a.id AND r.method = m.method
                                           AND r.created_at >= $1 AND r.created_at < $2) THEN 1 ELSE 0 END) AS BIGINT) AS n
         FROM accounts a CROSS JOIN ({}) m GROUP BY m.method",
        methods.join(" UNION ALL ")
    )
});

/// The referrers of the referrals made in `[from, to)`, as [`ReferrerCounts::of`] counts
/// them from one fact per referral.
///
/// Read in one snapshot: a referral committed between the check that a period's outer
/// part is empty and the read of its count cannot slip in.
pub(super) async fn platform_referrers(store: &SqlStore, from: DateTime<Utc>, to: DateTime<Utc>, period: Period, split: Option<SplitBy>) -> StoreResult<ReferrerCounts> {
    let mut counts = ReferrerCounts::default();
    let mut tx = store.pool().begin_read().await?;
    by_period(&mut tx, from, to, period, split, &mut counts).await?;
    over_the_range(&mut tx, from, to, split, &mut counts).await?;
    tx.commit().await?;
    Ok(counts)
}

async fn by_period(tx: &mut Tx, from: DateTime<Utc>, to: DateTime<Utc>, period: Period, split: Option<SplitBy>, counts: &mut ReferrerCounts) -> StoreResult<()> {
    // The service has checked the range (`metrics::period_starts`) before asking.
    let starts = metrics::period_starts(from, to, period).map_err(|_| StoreError::Refused("a report's range"))?;
    let mut counted: Vec<DateTime<Utc>> = Vec::new();
    for start in starts {
        let end = metrics::next_period_start(start, period).ok_or(StoreError::Refused("a report's range"))?;
        let (first, last) = (start.max(from), end.min(to));
        let whole = (first, last) == (start, end) || tx.fetch_one(ANY_OUTSIDE, &args![start, first, last, end]).await?.int("n")? == 0;
        if whole {
            counted.push(start);
            continue;
        }
        for row in tx.fetch_all(part_sql(split), &args![first, last]).await? {
            add(counts, split, start, &row.text("k")?, row.int("n")?);
        }
    }
    if let (Some(&first), Some(&last)) = (counted.first(), counted.last()) {
        let rows = tx.fetch_all(PERIOD_COUNTS, &args![period.as_str(), &day_text(first), &day_text(last)]).await?;
        for row in &rows {
            let start = midnight(row, "start")?;
            if counted.binary_search(&start).is_ok() {
                add(counts, split, start, &row.text("k")?, row.int("n")?);
            }
        }
    }
    Ok(())
}

/// One period's count of key `k`, where the report wants it.
fn add(counts: &mut ReferrerCounts, split: Option<SplitBy>, start: DateTime<Utc>, k: &str, n: i64) {
    if n == 0 {
        return;
    }
    if k.is_empty() {
        counts.by_period.insert(start, n);
    } else if let Some(group) = split.and_then(|s| k.strip_prefix(split_prefix(s))) {
        counts.by_period_and_group.insert((start, group.to_owned()), n);
    }
}

async fn over_the_range(tx: &mut Tx, from: DateTime<Utc>, to: DateTime<Utc>, split: Option<SplitBy>, counts: &mut ReferrerCounts) -> StoreResult<()> {
    let range = args![from, to];
    for row in tx.fetch_all(RANGE_BY_DIRECTION, &range).await? {
        let any = row.int("any_referee")?;
        if any == 0 {
            continue;
        }
        let kind = kind(&row)?;
        counts.total += any;
        for (referee, column) in [(AccountKind::Couple, "to_couples"), (AccountKind::Supplier, "to_suppliers")] {
            let n = row.int(column)?;
            if n > 0 {
                counts.by_direction.insert((kind, referee), n);
                if split == Some(SplitBy::RefereeKind) {
                    *counts.by_group.entry(referee.as_str().to_owned()).or_default() += n;
                }
            }
        }
        if split == Some(SplitBy::ReferrerKind) {
            counts.by_group.insert(kind.as_str().to_owned(), any);
        }
    }
    if split == Some(SplitBy::Method) {
        for row in tx.fetch_all(RANGE_BY_METHOD.as_str(), &range).await? {
            let n = row.int("n")?;
            if n > 0 {
                counts.by_group.insert(row.text("k")?, n);
            }
        }
    }
    Ok(())
}

fn kind(row: &Row) -> StoreResult<AccountKind> {
    let text = row.text("kind")?;
    AccountKind::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("account kind {text}")))
}

/// Marks folded per write transaction on SQLite. Its one writer is what every visit's
/// touch waits for, up to the busy timeout: after a bulk load (a restore, a backfill, a
/// million referrals seeded) one fold of every mark held the write lock past that timeout
/// and visits failed with 500s.
const FOLD_BATCH: i64 = 20_000;

/// Folds the marks made since the last fold into the periods' counts: the scheduler's
/// round, so a report reads few unfolded rows. On PostgreSQL one statement deletes and
/// adds (of two servers folding at once, the second waits and finds nothing); on SQLite
/// batches of [`FOLD_BATCH`] marks in rowid order, each in its own write transaction, so
/// writers get the lock between them.
pub(super) async fn fold(store: &SqlStore) -> StoreResult<u64> {
    const ADD: &str = "INSERT INTO analytics_referrer_counts (period, start, k, n)
        SELECT period, start, k, COUNT(*) FROM analytics_referrer_new WHERE rowid <= $1 GROUP BY period, start, k
        ON CONFLICT (period, start, k) DO UPDATE SET n = analytics_referrer_counts.n + excluded.n";
    const MOVE: &str = "WITH folded AS (DELETE FROM analytics_referrer_new RETURNING period, start, k)
        INSERT INTO analytics_referrer_counts (period, start, k, n)
        SELECT period, start, k, COUNT(*) FROM folded GROUP BY period, start, k ORDER BY period, start, k
        ON CONFLICT (period, start, k) DO UPDATE SET n = analytics_referrer_counts.n + EXCLUDED.n";
    let mut folded = 0;
    loop {
        let mut tx = store.pool().begin_write().await?;
        match tx.dialect() {
            Dialect::Sqlite => {
                // Read inside the write transaction: no mark can arrive between this and the delete.
                let upto = tx
                    .fetch_one("SELECT MAX(rowid) AS upto FROM (SELECT rowid FROM analytics_referrer_new ORDER BY rowid LIMIT $1)", &args![FOLD_BATCH])
                    .await?
                    .opt_int("upto")?;
                let Some(upto) = upto else { return Ok(folded) };
                folded += tx.execute(ADD, &args![upto]).await?;
                tx.execute("DELETE FROM analytics_referrer_new WHERE rowid <= $1", &args![upto]).await?;
                tx.commit().await?;
            }
            Dialect::Postgres => {
                folded += tx.execute(MOVE, &[]).await?;
                tx.commit().await?;
                return Ok(folded);
            }
        }
    }
}
