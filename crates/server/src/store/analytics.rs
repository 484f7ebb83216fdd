//! Growth analytics' reads, in SQL once for both databases: the referrals made in a range
//! with their visits and the people who first came through them, rewards, fraud
//! assessments, and the referral accounts' loop cycles. Users held or rejected by fraud
//! review are left out here, so nothing downstream can forget to. The counting is
//! `bouquet_core::analytics`.

use std::collections::HashMap;

use async_trait::async_trait;
use bouquet_core::analytics::{Cohort, ConversionFact, CycleFact, MoneyFacts, PersonFact, ReferralFact, ReferrerCounts, SplitBy};
use bouquet_core::metrics::Period;
use bouquet_core::money::CREDITS;
use bouquet_core::{AccountKind, ReferralMethod};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::db::{Arg, Dialect, Pool, Row, Tx, args};
use super::rows::Columns;
use super::sql::SqlStore;

#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The referrals made in `[from, to)` — the referrer's, or everyone's — with their
    /// unique visits and the people whose first touch was on them. `currency` is the one
    /// conversion values are reported in; values in others are left out.
    async fn referral_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<Vec<ReferralFact>>;
    /// The platform's referrals made in `[from, to)` summed in the database into cohorts
    /// (a day's referrals of one kind), with the conversions of the people whose first
    /// touch was on them: the same figures as [`Self::referral_facts`], without one row
    /// per referral crossing from the database.
    async fn platform_cohorts(&self, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<Vec<Cohort>>;
    /// The platform's distinct referrers of the referrals made in `[from, to)`: overall,
    /// by `period`, by the groups of `split`, and by direction.
    async fn platform_referrers(&self, from: DateTime<Utc>, to: DateTime<Utc>, period: Period, split: Option<SplitBy>) -> StoreResult<ReferrerCounts>;
    /// Folds the distinct-referrer marks made since the last round into their periods'
    /// counts, and rebuilds every day of the daily rollup marked since its last rebuild;
    /// how many days.
    async fn rebuild_analytics_days(&self) -> StoreResult<usize>;
    /// Rewards of the referrals made in the range, and the fraud assessments of sign-ups
    /// in it.
    async fn money_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<MoneyFacts>;
    /// Accounts that joined in `[from, to)` through a referral (a platform user with the
    /// account's email, who touched a referral before signing up) and have since made a
    /// successful referral across the loop: a supplier's first couple, a couple's first
    /// supplier.
    async fn cycle_facts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<CycleFact>>;
}

/// Whether the platform user in `$col` is held or rejected by fraud review.
macro_rules! not_excluded {
    ($col:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM fraud_subjects fx WHERE fx.platform_user_id = ",
            $col,
            " AND fx.action IN ('hold', 'reject'))"
        )
    };
}

/// One statement for the platform and one for a referrer, so each is planned for its index.
macro_rules! scoped {
    ($before:literal, $($after:tt)*) => {
        (concat!($before, " ", $($after)*), concat!($before, " AND r.referrer_id = $3 ", $($after)*))
    };
}

const REFERRALS: (&str, &str) = scoped!(
    "SELECT r.id, r.referrer_id, r.referrer_type, r.referee_type, r.method, r.created_at
     FROM referrals r WHERE r.created_at >= $1 AND r.created_at < $2",
    ""
);

// Unique visits of the link or QR code, and fair leads: a couple met at the booth is a
// visit though they never clicked (their lead's touch is not a unique visit of the page).
const VISITS: (&str, &str) = scoped!(
    "SELECT t.referral_id, COUNT(*) AS visits
     FROM touches t JOIN referrals r ON r.id = t.referral_id
     WHERE r.created_at >= $1 AND r.created_at < $2 AND (t.is_unique OR t.channel = 'fair_lead')",
    concat!("AND (t.platform_user_id IS NULL OR ", not_excluded!("t.platform_user_id"), ") GROUP BY t.referral_id")
);

// A person belongs to the referral of their first touch (the earliest; ties by id).
const PEOPLE: (&str, &str) = scoped!(
    "SELECT t.referral_id, u.signed_up_at, u.activated_at, u.churned_at, u.refunded_at,
        c.converted_at, c.time_to_convert_seconds, c.value_minor, c.currency
     FROM touches t
     JOIN referrals r ON r.id = t.referral_id
     JOIN platform_users u ON u.user_id = t.platform_user_id
     LEFT JOIN conversions c ON c.platform_user_id = u.user_id
     WHERE r.created_at >= $1 AND r.created_at < $2",
    concat!(
        "AND NOT EXISTS (SELECT 1 FROM touches e WHERE e.platform_user_id = t.platform_user_id
            AND (e.occurred_at < t.occurred_at OR (e.occurred_at = t.occurred_at AND e.id < t.id)))
         AND ",
        not_excluded!("t.platform_user_id")
    )
);

// Held rewards are their users'; voided, expired and clawed back ones were never paid. By
// currency: a referee's incentive may be in its offer's currency, and only credits and
// the report's currency are summed (never euros added to pounds).
pub(super) const REWARDS: (&str, &str) = scoped!(
    "SELECT w.currency,
        CAST(COALESCE(SUM(CASE WHEN w.status IN ('eligible', 'claimed') THEN w.amount_minor ELSE 0 END), 0) AS BIGINT) AS paid,
        CAST(COALESCE(SUM(CASE WHEN w.status = 'pending' THEN w.amount_minor ELSE 0 END), 0) AS BIGINT) AS pending
     FROM rewards w JOIN referrals r ON r.id = w.referral_id
     WHERE r.created_at >= $1 AND r.created_at < $2 AND w.role IN ('referrer', 'referee')",
    "GROUP BY w.currency"
);

const FRAUD_PLATFORM: &str = "SELECT COUNT(*) AS assessed,
        CAST(COALESCE(SUM(CASE WHEN action IN ('hold', 'reject') THEN 1 ELSE 0 END), 0) AS BIGINT) AS flagged
     FROM fraud_subjects WHERE signed_up_at >= $1 AND signed_up_at < $2";
const FRAUD_REFERRER: &str = "SELECT COUNT(*) AS assessed,
        CAST(COALESCE(SUM(CASE WHEN action IN ('hold', 'reject') THEN 1 ELSE 0 END), 0) AS BIGINT) AS flagged
     FROM fraud_subjects WHERE referrer_id = $3 AND signed_up_at >= $1 AND signed_up_at < $2";

// `LOWER(a.email)` though accounts keep their email lower-cased: compared with a plain
// column, SQLite gives the expression the column's affinity and will not look it up in
// the `platform_users_by_email` expression index: it scanned every platform user instead
// (156 ms of the platform's report at 100,000 referrals, linear in the data; from the
// accounts through the index, ~1 ms).
const CYCLES: &str = concat!(
    "SELECT a.kind, MIN(u.signed_up_at) AS joined_at, MIN(c.converted_at) AS first_success_at
     FROM accounts a
     JOIN platform_users u ON LOWER(u.email) = LOWER(a.email)
     JOIN conversions c ON c.referrer_id = a.id AND c.converted_at >= u.signed_up_at
     JOIN referrals rf ON rf.id = c.referral_id AND rf.referee_type <> a.kind
     WHERE a.kind IN ('supplier', 'couple') AND u.signed_up_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM touches t WHERE t.platform_user_id = u.user_id AND t.occurred_at <= u.signed_up_at)
       AND ",
    not_excluded!("u.user_id"),
    " AND ",
    not_excluded!("c.platform_user_id"),
    " GROUP BY a.id, a.kind HAVING MIN(u.signed_up_at) >= $1 AND MIN(u.signed_up_at) < $2"
);


// ---------------------------------------------------------------------------------------
// The platform's cohorts, summed in the database. Each statement is written once with the
// day of a referral as a parameter of the macro: SQLite keeps times as RFC 3339 text (its
// first ten characters are the UTC date), PostgreSQL as timestamptz.
// ---------------------------------------------------------------------------------------

macro_rules! by_dialect {
    ($name:ident, $before:literal, $($after:tt)*) => {
        const $name: (&str, &str) = (
            concat!("SELECT substr(r.created_at, 1, 10) AS day, r.referrer_type, r.referee_type, r.method, ", $before, " ", $($after)*),
            concat!(
                "SELECT to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, r.referrer_type, r.referee_type, r.method, ",
                $before,
                " ",
                $($after)*
            ),
        );
    };
}

by_dialect!(COHORT_REFERRALS, "COUNT(*) AS n FROM referrals r WHERE r.created_at >= $1 AND r.created_at < $2", "GROUP BY 1, 2, 3, 4");

by_dialect!(
    COHORT_VISITS,
    "COUNT(*) AS n FROM touches t JOIN referrals r ON r.id = t.referral_id
     WHERE r.created_at >= $1 AND r.created_at < $2 AND (t.is_unique OR t.channel = 'fair_lead')",
    concat!("AND (t.platform_user_id IS NULL OR ", not_excluded!("t.platform_user_id"), ") GROUP BY 1, 2, 3, 4")
);

/// The people whose first touch was on a referral made in the range (the earliest; ties
/// by id), not held or rejected: as `PEOPLE`.
macro_rules! first_touch_people {
    () => {
        concat!(
            "FROM touches t
             JOIN referrals r ON r.id = t.referral_id
             JOIN platform_users u ON u.user_id = t.platform_user_id
             LEFT JOIN conversions c ON c.platform_user_id = u.user_id
             WHERE r.created_at >= $1 AND r.created_at < $2
               AND NOT EXISTS (SELECT 1 FROM touches e WHERE e.platform_user_id = t.platform_user_id
                   AND (e.occurred_at < t.occurred_at OR (e.occurred_at = t.occurred_at AND e.id < t.id)))
               AND ",
            not_excluded!("t.platform_user_id")
        )
    };
}

// A later step implies the earlier ones (`PersonFact::reached_sign_up`).
by_dialect!(
    COHORT_PEOPLE,
    "CAST(SUM(CASE WHEN u.signed_up_at IS NOT NULL OR u.activated_at IS NOT NULL OR c.converted_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS signed_up,
     CAST(SUM(CASE WHEN u.activated_at IS NOT NULL OR c.converted_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS activated",
    concat!(first_touch_people!(), " GROUP BY 1, 2, 3, 4")
);

by_dialect!(
    COHORT_CONVERSIONS,
    "c.converted_at, c.time_to_convert_seconds, c.value_minor, c.currency, u.refunded_at, u.churned_at",
    concat!(first_touch_people!(), " AND c.converted_at IS NOT NULL")
);

/// Midnight UTC of a date the database wrote as text.
pub(super) fn midnight(row: &Row, col: &str) -> StoreResult<DateTime<Utc>> {
    row.parsed(col, |d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
}

pub(super) type CohortKey = (DateTime<Utc>, AccountKind, AccountKind, ReferralMethod);

pub(super) fn cohort_key(row: &Row) -> StoreResult<CohortKey> {
    Ok((midnight(row, "day")?, kind(row, "referrer_type")?, kind(row, "referee_type")?, row.parsed("method", ReferralMethod::parse)?))
}

/// A conversion as a cohort keeps it, its value in whatever currency it was reported in:
/// (converted at, seconds to convert, value, currency, refunded at, churned at).
pub(super) type KeptConversion = (DateTime<Utc>, i64, Option<i64>, Option<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A cohort as summed from the raw tables or kept in the daily rollup: the same in any
/// reporting currency until [`SummedCohort::in_currency`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SummedCohort {
    pub key: CohortKey,
    pub referrals: i64,
    pub visits: i64,
    pub signed_up: i64,
    pub activated: i64,
    pub conversions: Vec<KeptConversion>,
}

impl SummedCohort {
    /// The cohort a report reads: values in other currencies left out.
    fn in_currency(self, currency: &str) -> Cohort {
        let (day, referrer_kind, referee_kind, method) = self.key;
        Cohort {
            day,
            referrer_kind,
            referee_kind,
            method,
            referrals: self.referrals,
            visits: self.visits,
            signed_up: self.signed_up,
            activated: self.activated,
            conversions: self
                .conversions
                .into_iter()
                .map(|(converted_at, seconds, value, in_currency, refunded_at, churned_at)| ConversionFact {
                    converted_at,
                    time_to_convert_seconds: seconds,
                    value_minor: value.filter(|_| in_currency.as_deref() == Some(currency)),
                    refunded_at,
                    churned_at,
                })
                .collect(),
        }
    }
}

/// The platform's referrals made in `[from, to)` summed by day and kind in the database,
/// from the raw tables.
/// Where a read runs: the pool, or a transaction's own connection (a rebuild of the daily
/// rollup reads inside its write transaction, so it never waits on a second connection
/// while holding the write lock).
pub(super) enum Reader<'a> {
    Pool(&'a Pool),
    Tx(&'a mut Tx),
}

impl Reader<'_> {
    pub(super) async fn fetch_all(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
        match self {
            Reader::Pool(pool) => pool.fetch_all(sql, args).await,
            Reader::Tx(tx) => tx.fetch_all(sql, args).await,
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Reader::Pool(pool) => pool.dialect(),
            Reader::Tx(tx) => tx.dialect(),
        }
    }
}

pub(super) async fn sum_cohorts(mut reader: Reader<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<SummedCohort>> {
    let dialect = reader.dialect();
    let range = args![from, to];
    let mut cohorts: HashMap<CohortKey, SummedCohort> = HashMap::new();
    for row in reader.fetch_all(dialect.pick(COHORT_REFERRALS.0, COHORT_REFERRALS.1), &range).await? {
        let key = cohort_key(&row)?;
        cohorts.insert(key, SummedCohort { key, referrals: row.int("n")?, visits: 0, signed_up: 0, activated: 0, conversions: Vec::new() });
    }
    for row in reader.fetch_all(dialect.pick(COHORT_VISITS.0, COHORT_VISITS.1), &range).await? {
        if let Some(c) = cohorts.get_mut(&cohort_key(&row)?) {
            c.visits = row.int("n")?;
        }
    }
    for row in reader.fetch_all(dialect.pick(COHORT_PEOPLE.0, COHORT_PEOPLE.1), &range).await? {
        if let Some(c) = cohorts.get_mut(&cohort_key(&row)?) {
            c.signed_up = row.int("signed_up")?;
            c.activated = row.int("activated")?;
        }
    }
    for row in reader.fetch_all(dialect.pick(COHORT_CONVERSIONS.0, COHORT_CONVERSIONS.1), &range).await? {
        if let Some(c) = cohorts.get_mut(&cohort_key(&row)?) {
            c.conversions.push((
                row.time("converted_at")?,
                row.opt_int("time_to_convert_seconds")?.unwrap_or(0),
                row.opt_int("value_minor")?,
                row.opt_text("currency")?,
                row.opt_time("refunded_at")?,
                row.opt_time("churned_at")?,
            ));
        }
    }
    Ok(cohorts.into_values().collect())
}

fn pick(sql: (&'static str, &'static str), referrer: Option<Uuid>) -> &'static str {
    if referrer.is_some() { sql.1 } else { sql.0 }
}

fn kind(row: &Row, col: &str) -> StoreResult<AccountKind> {
    row.parsed(col, AccountKind::parse)
}

#[async_trait]
impl AnalyticsStore for SqlStore {
    async fn referral_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<Vec<ReferralFact>> {
        let scope = args![from, to, referrer];
        let n = if referrer.is_some() { 3 } else { 2 };
        let pool = self.pool();
        let referrals = pool.fetch_all(pick(REFERRALS, referrer), &scope[..n]).await?;
        let visits = pool.fetch_all(pick(VISITS, referrer), &scope[..n]).await?;
        let people = pool.fetch_all(pick(PEOPLE, referrer), &scope[..n]).await?;

        let mut index: HashMap<Uuid, usize> = HashMap::with_capacity(referrals.len());
        let mut facts = Vec::with_capacity(referrals.len());
        for row in &referrals {
            index.insert(row.uuid("id")?, facts.len());
            facts.push(ReferralFact {
                referrer_id: row.uuid("referrer_id")?,
                referrer_kind: kind(row, "referrer_type")?,
                referee_kind: kind(row, "referee_type")?,
                method: row.parsed("method", ReferralMethod::parse)?,
                made_at: row.time("created_at")?,
                visits: 0,
                people: Vec::new(),
            });
        }
        for row in &visits {
            if let Some(&i) = index.get(&row.uuid("referral_id")?) {
                facts[i].visits = row.int("visits")?;
            }
        }
        for row in &people {
            let Some(&i) = index.get(&row.uuid("referral_id")?) else { continue };
            let conversion = match row.opt_time("converted_at")? {
                None => None,
                Some(converted_at) => Some(ConversionFact {
                    converted_at,
                    time_to_convert_seconds: row.opt_int("time_to_convert_seconds")?.unwrap_or(0),
                    value_minor: row.opt_int("value_minor")?.filter(|_| row.opt_text("currency").ok().flatten().as_deref() == Some(currency)),
                    refunded_at: row.opt_time("refunded_at")?,
                    churned_at: row.opt_time("churned_at")?,
                }),
            };
            facts[i].people.push(PersonFact {
                signed_up: row.opt_time("signed_up_at")?.is_some(),
                activated: row.opt_time("activated_at")?.is_some(),
                conversion,
            });
        }
        Ok(facts)
    }

    async fn platform_cohorts(&self, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<Vec<Cohort>> {
        // Whole days from the daily rollup (rebuilt first where marked); a part-day at
        // either end of the range summed from the raw tables.
        let (first_day, end_day) = (super::analytics_days::ceil_day(from), super::analytics_days::floor_day(to));
        let mut summed = Vec::new();
        if first_day < end_day {
            super::analytics_days::rebuild_marked(self, first_day, end_day).await?;
            summed.extend(super::analytics_days::read(self, first_day, end_day).await?);
            if from < first_day {
                summed.extend(sum_cohorts(Reader::Pool(self.pool()), from, first_day).await?);
            }
            if end_day < to {
                summed.extend(sum_cohorts(Reader::Pool(self.pool()), end_day, to).await?);
            }
        } else {
            summed = sum_cohorts(Reader::Pool(self.pool()), from, to).await?;
        }
        let mut cohorts: Vec<Cohort> = summed.into_iter().map(|c| c.in_currency(currency)).collect();
        cohorts.sort_by_key(|c| (c.day, c.referrer_kind.as_str(), c.referee_kind.as_str(), c.method.as_str()));
        Ok(cohorts)
    }

    async fn rebuild_analytics_days(&self) -> StoreResult<usize> {
        super::analytics_referrers::fold(self).await?;
        super::analytics_days::rebuild_all_marked(self).await
    }

    async fn platform_referrers(&self, from: DateTime<Utc>, to: DateTime<Utc>, period: Period, split: Option<SplitBy>) -> StoreResult<ReferrerCounts> {
        super::analytics_referrers::platform_referrers(self, from, to, period, split).await
    }

    async fn money_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<MoneyFacts> {
        let scope = args![from, to, referrer];
        let n = if referrer.is_some() { 3 } else { 2 };
        let pool = self.pool();
        let mut rewards: Vec<(String, i64, i64)> = Vec::new();
        let mut raw = |rows: Vec<Row>| -> StoreResult<()> {
            for row in rows {
                rewards.push((row.text("currency")?, row.int("paid")?, row.int("pending")?));
            }
            Ok(())
        };
        // The platform's whole days from the daily rollup, part-days raw; a referrer's raw.
        let (first_day, end_day) = (super::analytics_days::ceil_day(from), super::analytics_days::floor_day(to));
        if referrer.is_none() && first_day < end_day {
            super::analytics_days::rebuild_marked(self, first_day, end_day).await?;
            if from < first_day {
                raw(pool.fetch_all(REWARDS.0, &args![from, first_day]).await?)?;
            }
            if end_day < to {
                raw(pool.fetch_all(REWARDS.0, &args![end_day, to]).await?)?;
            }
            rewards.extend(super::analytics_days::read_rewards(self, first_day, end_day).await?);
        } else {
            raw(pool.fetch_all(pick(REWARDS, referrer), &scope[..n]).await?)?;
        }
        let (mut paid, mut pending) = (0, 0);
        for (in_currency, p, q) in rewards {
            if in_currency == CREDITS || in_currency == currency {
                paid += p;
                pending += q;
            }
        }
        let fraud = pool.fetch_one(pick((FRAUD_PLATFORM, FRAUD_REFERRER), referrer), &scope[..n]).await?;
        Ok(MoneyFacts {
            rewards_paid_minor: paid,
            rewards_pending_minor: pending,
            fraud_assessed: fraud.int("assessed")?,
            fraud_held_or_rejected: fraud.int("flagged")?,
        })
    }

    async fn cycle_facts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<CycleFact>> {
        let rows = self.pool().fetch_all(CYCLES, &args![from, to]).await?;
        rows.iter()
            .map(|row| {
                Ok(CycleFact { kind: kind(row, "kind")?, joined_at: row.time("joined_at")?, first_success_at: row.time("first_success_at")? })
            })
            .collect()
    }
}
