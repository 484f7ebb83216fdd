//! Applying one platform event inside one transaction ([`EventTx`]), for either database.

use async_trait::async_trait;
use bouquet_core::api::ConversionView;
use bouquet_core::attribution::{Channel, Touch};
use bouquet_core::AccountKind;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::args;
use super::dialect;
use super::rewards_sql::SqlRewardTx;
use super::rows::{self, Columns};
use super::*;

/// An event's transaction; its rewards side ([`RewardTx`]) shares it.
pub(super) struct SqlEventTx {
    pub(super) inner: SqlRewardTx,
    /// The referrers' running totals a conversion adds to, written just before commit
    /// (see [`ReferrerTotals`]).
    totals: ReferrerTotals,
}

impl SqlEventTx {
    pub(super) fn new(inner: SqlRewardTx) -> Self {
        Self { inner, totals: ReferrerTotals::default() }
    }
}

/// What conversions add to their referrers' dashboard totals (`referral_stats`: successes
/// and time to convert; `referral_stats_value`: value by currency). A busy referrer's
/// rows are shared by all its conversions and stay locked until commit, so they are
/// written as the transaction's last writes, in account order, rather than where the
/// conversion is recorded: held for the commit, not the whole conversion. Nothing in
/// the transaction reads them back.
#[derive(Default)]
struct ReferrerTotals {
    /// (referrer, time to convert in seconds), one per conversion credited to them.
    successes: Vec<(Uuid, i64)>,
    /// (referrer, currency, value in minor units).
    values: Vec<(Uuid, String, i64)>,
}

impl ReferrerTotals {
    async fn write(&mut self, tx: &mut super::db::Tx) -> StoreResult<()> {
        let now = Utc::now();
        let mut values = std::mem::take(&mut self.values);
        values.sort();
        for (referrer, currency, value_minor) in values {
            tx.execute(
                "INSERT INTO referral_stats_value (account_id, currency, total_minor) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id, currency) DO UPDATE SET total_minor = referral_stats_value.total_minor + excluded.total_minor",
                &args![referrer, &currency, value_minor],
            )
            .await?;
        }
        let mut successes = std::mem::take(&mut self.successes);
        successes.sort();
        for (referrer, seconds) in successes {
            tx.execute(
                "UPDATE referral_stats SET successful_referrals = successful_referrals + 1,
                    total_time_to_convert_seconds = total_time_to_convert_seconds + $2, updated_at = $3
                 WHERE account_id = $1",
                &args![referrer, seconds, now],
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventTx for SqlEventTx {
    async fn claim(&mut self, event_id: Uuid, key: &str, event_type: &str, occurred_at: DateTime<Utc>, user_id: &str, payload: &str) -> StoreResult<(EventClaim, Option<String>)> {
        // A second writer of the same key waits here for the first to commit, then sees
        // its row: exactly once without a read-then-write race.
        let inserted = self
            .inner
            .tx
            .execute(
                "INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
                &args![event_id, key, event_type, occurred_at, Utc::now(), user_id, payload],
            )
            .await?;
        if inserted == 1 {
            return Ok((EventClaim::New, None));
        }
        let row = self.inner.tx.fetch_one("SELECT outcome FROM events WHERE idempotency_key = $1", &args![key]).await?;
        Ok((EventClaim::Replay, row.opt_text("outcome")?))
    }

    async fn upsert_user(&mut self, user_id: &str, kind: AccountKind, email: Option<&str>) -> StoreResult<()> {
        self.inner.tx
            .execute(
                "INSERT INTO platform_users (user_id, kind, email) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET email = COALESCE(excluded.email, platform_users.email)",
                &args![user_id, kind.as_str(), email],
            )
            .await?;
        Ok(())
    }

    async fn link_touch(&mut self, touch_id: Uuid, user_id: &str) -> StoreResult<u64> {
        self.inner.tx
            .execute("UPDATE touches SET platform_user_id = $2 WHERE id = $1 AND platform_user_id IS NULL", &args![touch_id, user_id])
            .await
    }

    async fn link_lead_touches(&mut self, email: &str, user_id: &str) -> StoreResult<u64> {
        self.inner.tx
            .execute(
                "UPDATE touches SET platform_user_id = $2
                 WHERE platform_user_id IS NULL AND id IN (SELECT touch_id FROM leads WHERE email = $1)",
                &args![email, user_id],
            )
            .await
    }

    async fn add_code_touch(&mut self, touch_id: Uuid, referral_id: Uuid, referrer_id: Uuid, user_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.inner.tx
            .execute(
                // A unique visit unless the user already visited this referral's page: a
                // couple who clicked the link and then typed its code visited once.
                "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, platform_user_id)
                 SELECT $1, $2, $3, $4, $5,
                    NOT EXISTS (SELECT 1 FROM touches e WHERE e.referral_id = $2 AND e.platform_user_id = $6 AND e.is_unique), $6",
                &args![touch_id, referral_id, referrer_id, Channel::DirectCode.as_str(), at, user_id],
            )
            .await?;
        Ok(())
    }

    async fn touches_of(&mut self, user_id: &str) -> StoreResult<Vec<Touch>> {
        let rows = self
            .inner
            .tx
            .fetch_all("SELECT id, referral_id, referrer_id, channel, occurred_at FROM touches WHERE platform_user_id = $1", &args![user_id])
            .await?;
        rows.iter().map(rows::touch).collect()
    }

    async fn stamp_stage(&mut self, user_id: &str, stage: Stage, at: DateTime<Utc>) -> StoreResult<()> {
        let (user_sql, referral_sql) = match stage {
            Stage::SignedUp => (
                "UPDATE platform_users SET signed_up_at = COALESCE(signed_up_at, $2) WHERE user_id = $1",
                Some(
                    "UPDATE referrals SET signed_up_at = COALESCE(signed_up_at, $2)
                     WHERE id IN (SELECT referral_id FROM touches WHERE platform_user_id = $1)",
                ),
            ),
            Stage::Activated => (
                "UPDATE platform_users SET activated_at = COALESCE(activated_at, $2) WHERE user_id = $1",
                Some(
                    "UPDATE referrals SET activated_at = COALESCE(activated_at, $2)
                     WHERE id IN (SELECT referral_id FROM touches WHERE platform_user_id = $1)",
                ),
            ),
            Stage::Churned => ("UPDATE platform_users SET churned_at = $2 WHERE user_id = $1", None),
            Stage::Refunded => ("UPDATE platform_users SET refunded_at = $2 WHERE user_id = $1", None),
        };
        self.inner.tx.execute(user_sql, &args![user_id, at]).await?;
        if let Some(sql) = referral_sql {
            dialect::lock_referrals_in_order(&mut self.inner.tx, dialect::ReferralsOf::User(user_id)).await?;
            self.inner.tx.execute(sql, &args![user_id, at]).await?;
        }
        Ok(())
    }

    async fn record_conversion(&mut self, c: &NewConversion) -> StoreResult<bool> {
        let primary = &c.credits[c.primary];
        let value_minor = c.value.as_ref().map(|m| m.amount_minor);
        let currency = c.value.as_ref().map(|m| m.currency.as_str());
        let inserted = self
            .inner
            .tx
            .execute(
                "INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at,
                    time_to_convert_seconds, plan, value_minor, currency, annual, mrr_minor, mrr_currency)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (platform_user_id) DO NOTHING",
                &args![
                    c.id,
                    c.event_id,
                    &c.platform_user_id,
                    primary.referral_id,
                    primary.referrer_id,
                    c.model.as_str(),
                    c.converted_at,
                    c.time_to_convert_seconds,
                    &c.plan,
                    value_minor,
                    currency,
                    c.annual,
                    c.mrr.as_ref().map(|m| m.amount_minor),
                    c.mrr.as_ref().map(|m| m.currency.as_str()),
                ],
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        for credit in &c.credits {
            self.inner.tx
                .execute(
                    "INSERT INTO conversion_credits (conversion_id, touch_id, referral_id, referrer_id, channel, touched_at, weight_ppm, value_minor)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &args![
                        c.id,
                        credit.touch_id,
                        credit.referral_id,
                        credit.referrer_id,
                        credit.channel.as_str(),
                        credit.touched_at,
                        i64::from(credit.weight_ppm),
                        credit.value_minor,
                    ],
                )
                .await?;
            if let Some(currency) = currency.filter(|_| credit.value_minor != 0) {
                self.totals.values.push((credit.referrer_id, currency.to_string(), credit.value_minor));
            }
        }
        self.inner.tx
            .execute(
                "UPDATE referrals SET converted_at = $2, conversion_value_minor = $3, conversion_currency = $4,
                    conversion_plan = $5, time_to_convert_seconds = $6
                 WHERE id = $1 AND converted_at IS NULL",
                &args![primary.referral_id, c.converted_at, value_minor, currency, &c.plan, c.time_to_convert_seconds],
            )
            .await?;
        self.totals.successes.push((primary.referrer_id, c.time_to_convert_seconds));
        self.inner.tx
            .execute(
                "UPDATE platform_users SET converted_at = COALESCE(converted_at, $2) WHERE user_id = $1",
                &args![&c.platform_user_id, c.converted_at],
            )
            .await?;
        Ok(true)
    }

    async fn conversion_of(&mut self, user_id: &str) -> StoreResult<Option<ConversionView>> {
        let Some(row) = self.inner.tx.fetch_optional("SELECT * FROM conversions WHERE platform_user_id = $1", &args![user_id]).await? else {
            return Ok(None);
        };
        let id = row.uuid("id")?;
        let credit_rows = self
            .inner
            .tx
            .fetch_all("SELECT * FROM conversion_credits WHERE conversion_id = $1 ORDER BY touched_at, touch_id", &args![id])
            .await?;
        let credits = credit_rows.iter().map(rows::credit).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(rows::conversion(&row, credits)?))
    }

    fn rewards(&mut self) -> &mut dyn RewardTx {
        &mut self.inner
    }

    async fn finish(mut self: Box<Self>, event_id: Uuid, outcome: &str) -> StoreResult<()> {
        self.inner.tx.execute("UPDATE events SET outcome = $2 WHERE id = $1", &args![event_id, outcome]).await?;
        // The rows many transactions share, last: each held for the commit alone.
        self.totals.write(&mut self.inner.tx).await?;
        if let Err(e) = self.inner.charge_at_commit().await {
            // Rolled back at once, so the event's retry does not wait on this try's rows.
            let _ = self.inner.tx.rollback().await;
            return Err(e);
        }
        self.inner.tx.commit().await
    }
}
