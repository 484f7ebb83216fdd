//! Experiments (A/B tests on a campaign) in SQL, once for both databases.

use async_trait::async_trait;
use bouquet_core::Money;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{Row, args};
use super::rewards_sql::SqlRewardTx;
use super::rows::Columns;
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// One variant: its traffic weight and the values it uses instead of the campaign's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariantRow {
    pub name: String,
    pub weight: i64,
    pub multiplier_bp: Option<i64>,
    pub bonus_minor: Option<i64>,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub message: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRow {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub name: String,
    pub subject: String,
    /// `running`, `applied` or `stopped`.
    pub status: String,
    pub applied_variant: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// In order; the first is the control.
    pub variants: Vec<VariantRow>,
}

impl ExperimentRow {
    pub fn weights(&self) -> Vec<u32> {
        self.variants.iter().map(|v| u32::try_from(v.weight).unwrap_or(u32::MAX)).collect()
    }
}

/// A referrer's referrals under a campaign since a time, and how many converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferrerCounts {
    pub referrer_id: Uuid,
    pub referrals: i64,
    pub conversions: i64,
}

fn variant(row: &Row) -> StoreResult<VariantRow> {
    Ok(VariantRow {
        name: row.text("name")?,
        weight: row.int("weight")?,
        multiplier_bp: row.opt_int("multiplier_bp")?,
        bonus_minor: row.opt_int("bonus_minor")?,
        referee_incentive: row.money("referee_incentive_minor", "referee_incentive_currency")?,
        referee_incentive_text: row.opt_text("referee_incentive_text")?,
        message: row.opt_text("message")?,
        landing_headline: row.opt_text("landing_headline")?,
        landing_message: row.opt_text("landing_message")?,
    })
}

fn experiment(row: &Row, variants: Vec<VariantRow>) -> StoreResult<ExperimentRow> {
    Ok(ExperimentRow {
        id: row.uuid("id")?,
        campaign_id: row.uuid("campaign_id")?,
        name: row.text("name")?,
        subject: row.text("subject")?,
        status: row.text("status")?,
        applied_variant: row.opt_int("applied_variant")?,
        created_at: row.time("created_at")?,
        decided_at: row.opt_time("decided_at")?,
        variants,
    })
}

const VARIANTS: &str = "SELECT * FROM experiment_variants WHERE experiment_id = $1 ORDER BY position";

#[async_trait]
pub trait ExperimentStore: Send + Sync {
    /// `Conflict` when the campaign already has a running experiment.
    async fn insert_experiment(&self, e: &ExperimentRow) -> StoreResult<()>;
    async fn experiment(&self, id: Uuid) -> StoreResult<Option<ExperimentRow>>;
    async fn running_experiment(&self, campaign_id: Uuid) -> StoreResult<Option<ExperimentRow>>;
    /// Per referrer, the referrals made under the campaign since `since` and how many of
    /// them converted.
    async fn campaign_referrer_counts(&self, campaign_id: Uuid, since: DateTime<Utc>) -> StoreResult<Vec<ReferrerCounts>>;
    /// Ends a running experiment (`applied` with the variant, or `stopped`); `false` if it
    /// was not running.
    async fn decide_experiment(&self, id: Uuid, status: &str, variant: Option<i64>, at: DateTime<Utc>) -> StoreResult<bool>;
}

/// The experiment side of a conversion's transaction.
#[async_trait]
pub trait ExperimentTx: Send {
    async fn running_experiment_in_tx(&mut self, campaign_id: Uuid) -> StoreResult<Option<ExperimentRow>>;
}

#[async_trait]
impl ExperimentTx for SqlRewardTx {
    async fn running_experiment_in_tx(&mut self, campaign_id: Uuid) -> StoreResult<Option<ExperimentRow>> {
        let Some(row) = self
            .tx
            .fetch_optional("SELECT * FROM experiments WHERE campaign_id = $1 AND status = 'running'", &args![campaign_id])
            .await?
        else {
            return Ok(None);
        };
        let id = row.uuid("id")?;
        let variants = self.tx.fetch_all(VARIANTS, &args![id]).await?.iter().map(variant).collect::<StoreResult<_>>()?;
        Ok(Some(experiment(&row, variants)?))
    }
}

#[async_trait]
impl ExperimentStore for SqlStore {
    async fn insert_experiment(&self, e: &ExperimentRow) -> StoreResult<()> {
        let mut tx = self.pool().begin_write().await?;
        tx.execute(
            "INSERT INTO experiments (id, campaign_id, name, subject, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &args![e.id, e.campaign_id, &e.name, &e.subject, &e.status, e.created_at],
        )
        .await
        .map_err(|err| super::db::unique_violation(err, "a running experiment on this campaign"))?;
        for (position, v) in e.variants.iter().enumerate() {
            tx.execute(
                "INSERT INTO experiment_variants (experiment_id, position, name, weight, multiplier_bp, bonus_minor,
                    referee_incentive_minor, referee_incentive_currency, referee_incentive_text, message, landing_headline, landing_message)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &args![
                    e.id,
                    position as i64,
                    &v.name,
                    v.weight,
                    v.multiplier_bp,
                    v.bonus_minor,
                    v.referee_incentive.as_ref().map(|m| m.amount_minor),
                    v.referee_incentive.as_ref().map(|m| m.currency.as_str()),
                    &v.referee_incentive_text,
                    &v.message,
                    &v.landing_headline,
                    &v.landing_message,
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn experiment(&self, id: Uuid) -> StoreResult<Option<ExperimentRow>> {
        let Some(row) = self.pool().fetch_optional("SELECT * FROM experiments WHERE id = $1", &args![id]).await? else { return Ok(None) };
        let variants = self.pool().fetch_all(VARIANTS, &args![id]).await?.iter().map(variant).collect::<StoreResult<_>>()?;
        Ok(Some(experiment(&row, variants)?))
    }

    async fn running_experiment(&self, campaign_id: Uuid) -> StoreResult<Option<ExperimentRow>> {
        let Some(row) = self
            .pool()
            .fetch_optional("SELECT id FROM experiments WHERE campaign_id = $1 AND status = 'running'", &args![campaign_id])
            .await?
        else {
            return Ok(None);
        };
        self.experiment(row.uuid("id")?).await
    }

    async fn campaign_referrer_counts(&self, campaign_id: Uuid, since: DateTime<Utc>) -> StoreResult<Vec<ReferrerCounts>> {
        let rows = self
            .pool()
            .fetch_all(
                "SELECT referrer_id, COUNT(*) AS referrals,
                        CAST(COALESCE(SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS conversions
                 FROM referrals WHERE campaign_id = $1 AND created_at >= $2 GROUP BY referrer_id ORDER BY referrer_id",
                &args![campaign_id, since],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(ReferrerCounts { referrer_id: r.uuid("referrer_id")?, referrals: r.int("referrals")?, conversions: r.int("conversions")? }))
            .collect()
    }

    async fn decide_experiment(&self, id: Uuid, status: &str, variant: Option<i64>, at: DateTime<Utc>) -> StoreResult<bool> {
        if !["applied", "stopped"].contains(&status) {
            return Err(StoreError::Corrupt(format!("experiment status '{status}'")));
        }
        let changed = self
            .pool()
            .execute(
                "UPDATE experiments SET status = $2, applied_variant = $3, decided_at = $4 WHERE id = $1 AND status = 'running'",
                &args![id, status, variant, at],
            )
            .await?;
        Ok(changed == 1)
    }
}
