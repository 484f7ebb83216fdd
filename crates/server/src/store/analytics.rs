//! Growth analytics' reads, in SQL once for both databases: the referrals made in a range
//! with their visits and the people who first came through them, rewards, fraud
//! assessments, and the referral accounts' loop cycles. Users held or rejected by fraud
//! review are left out here, so nothing downstream can forget to. The counting is
//! `bouquet_core::analytics`.

use std::collections::HashMap;

use async_trait::async_trait;
use bouquet_core::analytics::{ConversionFact, CycleFact, MoneyFacts, PersonFact, ReferralFact};
use bouquet_core::money::CREDITS;
use bouquet_core::{AccountKind, ReferralMethod};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::db::{Row, args};
use super::rows::Columns;
use super::sql::SqlStore;

#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The referrals made in `[from, to)` — the referrer's, or everyone's — with their
    /// unique visits and the people whose first touch was on them. `currency` is the one
    /// conversion values are reported in; values in others are left out.
    async fn referral_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<Vec<ReferralFact>>;
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
const REWARDS: (&str, &str) = scoped!(
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

const CYCLES: &str = concat!(
    "SELECT a.kind, MIN(u.signed_up_at) AS joined_at, MIN(c.converted_at) AS first_success_at
     FROM accounts a
     JOIN platform_users u ON LOWER(u.email) = a.email
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

    async fn money_facts(&self, referrer: Option<Uuid>, from: DateTime<Utc>, to: DateTime<Utc>, currency: &str) -> StoreResult<MoneyFacts> {
        let scope = args![from, to, referrer];
        let n = if referrer.is_some() { 3 } else { 2 };
        let pool = self.pool();
        let (mut paid, mut pending) = (0, 0);
        for row in pool.fetch_all(pick(REWARDS, referrer), &scope[..n]).await? {
            let in_currency = row.text("currency")?;
            if in_currency == CREDITS || in_currency == currency {
                paid += row.int("paid")?;
                pending += row.int("pending")?;
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
