//! Campaigns in SQL, once for both databases: the rows, time moving them, and the hard
//! budget cap as one conditional statement (`spent + x <= budget`, backed by a CHECK).

use async_trait::async_trait;
use bouquet_core::campaigns::{Audience, CampaignKind, CampaignStatus};
use bouquet_core::{AccountKind, Money};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::db::{Row, args};
use super::rewards_sql::SqlRewardTx;
use super::rows::Columns;
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// One campaign as stored. `status` is never `Exhausted` here: that is `exhausted_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: Uuid,
    pub name: String,
    pub kind: CampaignKind,
    pub status: CampaignStatus,
    pub audience: Audience,
    pub referrer_kind: Option<AccountKind>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    /// The lowest tier a referrer must have reached.
    pub min_tier: Option<bouquet_core::tiers::Tier>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub multiplier_bp: i64,
    pub bonus_minor: i64,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub target_referrals: Option<i64>,
    pub target_conversions: Option<i64>,
    pub budget_minor: i64,
    pub spent_minor: i64,
    pub referrals: i64,
    pub conversions: i64,
    /// Set when the budget refused a grant; cleared when budget comes back.
    pub exhausted_at: Option<DateTime<Utc>>,
    pub email_template: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a referral's reward depends on besides the conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    pub referrer_kind: AccountKind,
    pub referrer_vendor_type: Option<String>,
    pub referrer_location: Option<String>,
    pub incentive: Option<Money>,
    pub campaign_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub wedding_date: Option<NaiveDate>,
}

fn campaign(row: &Row) -> StoreResult<CampaignRow> {
    let corrupt = |col: &str, v: String| StoreError::Corrupt(format!("{col} '{v}'"));
    Ok(CampaignRow {
        id: row.uuid("id")?,
        name: row.text("name")?,
        kind: row.parsed("kind", CampaignKind::parse)?,
        status: row.parsed("status", CampaignStatus::parse)?,
        audience: row.parsed("audience", Audience::parse)?,
        referrer_kind: row.opt_text("referrer_kind")?.map(|k| AccountKind::parse(&k).ok_or_else(|| corrupt("referrer_kind", k))).transpose()?,
        vendor_type: row.opt_text("vendor_type")?,
        location: row.opt_text("location")?,
        min_tier: row.opt_text("min_tier")?.map(|t| bouquet_core::tiers::Tier::parse(&t).ok_or_else(|| corrupt("min_tier", t))).transpose()?,
        starts_at: row.time("starts_at")?,
        ends_at: row.time("ends_at")?,
        multiplier_bp: row.int("multiplier_bp")?,
        bonus_minor: row.int("bonus_minor")?,
        referee_incentive: row.money("referee_incentive_minor", "referee_incentive_currency")?,
        referee_incentive_text: row.opt_text("referee_incentive_text")?,
        target_referrals: row.opt_int("target_referrals")?,
        target_conversions: row.opt_int("target_conversions")?,
        budget_minor: row.int("budget_minor")?,
        spent_minor: row.int("spent_minor")?,
        referrals: row.int("referrals")?,
        conversions: row.int("conversions")?,
        exhausted_at: row.opt_time("exhausted_at")?,
        email_template: row.opt_text("email_template")?,
        landing_headline: row.opt_text("landing_headline")?,
        landing_message: row.opt_text("landing_message")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Campaigns for the console, the API and the scheduler.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// `false` when a campaign of that name already starts at that time (the calendar is
    /// seeded once).
    async fn insert_campaign(&self, c: &CampaignRow) -> StoreResult<bool>;
    /// Saves what an operator may edit (not the counters or the spend).
    async fn update_campaign(&self, c: &CampaignRow) -> StoreResult<()>;
    async fn campaign(&self, id: Uuid) -> StoreResult<Option<CampaignRow>>;
    /// Newest start first.
    async fn campaigns(&self, limit: i64) -> StoreResult<Vec<CampaignRow>>;
    /// Scheduled campaigns whose start passed become active; running ones whose end
    /// passed end. Returns how many moved.
    async fn advance_campaigns(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// The campaign side of a conversion's transaction.
#[async_trait]
pub trait CampaignTx: Send {
    async fn referral_facts(&mut self, referral_id: Uuid) -> StoreResult<Option<ReferralFacts>>;
    /// The campaigns a referral made at `made_at` (with `explicit` chosen when it was
    /// made) may fall under: the explicit one, and seasonal ones whose window holds
    /// `made_at`; never drafts, scheduled or paused ones.
    async fn campaigns_for(&mut self, explicit: Option<Uuid>, made_at: DateTime<Utc>) -> StoreResult<Vec<CampaignRow>>;
    /// Charges `amount` to the campaign if it stays within the budget (`false`, and the
    /// campaign marked exhausted, if not).
    async fn reserve_budget(&mut self, campaign_id: Uuid, amount_minor: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Charges `amount` to the campaign as the transaction's last write, just before it
    /// commits. Every conversion under a campaign charges the same row, which stays
    /// locked until commit: charged last, it is held for the commit alone, not for the
    /// rest of the conversion (docs/performance.md, "Conversions"). If the budget no
    /// longer holds the charge then, the commit fails with [`StoreError::BudgetTaken`]
    /// and writes nothing; the caller runs again charging that campaign at once
    /// ([`CampaignTx::reserve_budget`]).
    fn reserve_budget_at_commit(&mut self, campaign_id: Uuid, amount_minor: i64);
    /// A voided or clawed-back grant gives its budget back.
    async fn release_budget(&mut self, campaign_id: Uuid, amount_minor: i64) -> StoreResult<()>;
}

#[async_trait]
impl CampaignTx for SqlRewardTx {
    async fn referral_facts(&mut self, referral_id: Uuid) -> StoreResult<Option<ReferralFacts>> {
        let row = self
            .tx
            .fetch_optional(
                "SELECT r.referrer_type, r.incentive_amount_minor, r.incentive_currency, r.campaign_id, r.created_at, r.wedding_date,
                        a.vendor_type AS referrer_vendor_type, a.location AS referrer_location
                 FROM referrals r JOIN accounts a ON a.id = r.referrer_id WHERE r.id = $1",
                &args![referral_id],
            )
            .await?;
        row.map(|r| {
            Ok(ReferralFacts {
                referrer_kind: r.parsed("referrer_type", AccountKind::parse)?,
                referrer_vendor_type: r.opt_text("referrer_vendor_type")?,
                referrer_location: r.opt_text("referrer_location")?,
                incentive: r.money("incentive_amount_minor", "incentive_currency")?,
                campaign_id: r.opt_uuid("campaign_id")?,
                created_at: r.time("created_at")?,
                wedding_date: r.opt_date("wedding_date")?,
            })
        })
        .transpose()
    }

    async fn campaigns_for(&mut self, explicit: Option<Uuid>, made_at: DateTime<Utc>) -> StoreResult<Vec<CampaignRow>> {
        let rows = self
            .tx
            .fetch_all(
                "SELECT * FROM campaigns WHERE status IN ('active', 'ended')
                 AND (id = $1 OR (kind = 'seasonal' AND starts_at <= $2 AND $2 < ends_at))
                 ORDER BY starts_at, id",
                &args![explicit, made_at],
            )
            .await?;
        rows.iter().map(campaign).collect()
    }

    async fn reserve_budget(&mut self, campaign_id: Uuid, amount_minor: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let charged = self
            .tx
            .execute(
                "UPDATE campaigns SET spent_minor = spent_minor + $2, conversions = conversions + 1
                 WHERE id = $1 AND spent_minor + $2 <= budget_minor",
                &args![campaign_id, amount_minor],
            )
            .await?;
        if charged == 0 {
            self.tx
                .execute("UPDATE campaigns SET exhausted_at = COALESCE(exhausted_at, $2) WHERE id = $1", &args![campaign_id, at])
                .await?;
        }
        Ok(charged == 1)
    }

    fn reserve_budget_at_commit(&mut self, campaign_id: Uuid, amount_minor: i64) {
        self.charges_at_commit.push((campaign_id, amount_minor));
    }

    async fn release_budget(&mut self, campaign_id: Uuid, amount_minor: i64) -> StoreResult<()> {
        // A grant voided in the transaction that charged it at commit: the charge is
        // dropped instead (releasing first could take the spend below zero).
        if let Some(at) = self.charges_at_commit.iter().position(|&c| c == (campaign_id, amount_minor)) {
            self.charges_at_commit.swap_remove(at);
            return Ok(());
        }
        self.tx
            .execute(
                "UPDATE campaigns SET spent_minor = spent_minor - $2, conversions = conversions - 1, exhausted_at = NULL WHERE id = $1",
                &args![campaign_id, amount_minor],
            )
            .await?;
        Ok(())
    }
}

impl SqlRewardTx {
    /// Makes the charges left for the commit, each campaign once and in id order (two
    /// transactions charging the same campaigns never wait on each other in opposite
    /// orders). [`StoreError::BudgetTaken`] when one no longer fits.
    pub(super) async fn charge_at_commit(&mut self) -> StoreResult<()> {
        let mut by_campaign: std::collections::BTreeMap<Uuid, (i64, i64)> = std::collections::BTreeMap::new();
        for (campaign, amount) in self.charges_at_commit.drain(..) {
            let total = by_campaign.entry(campaign).or_default();
            total.0 += amount;
            total.1 += 1;
        }
        for (campaign, (amount, grants)) in by_campaign {
            let charged = self
                .tx
                .execute(
                    "UPDATE campaigns SET spent_minor = spent_minor + $2, conversions = conversions + $3
                     WHERE id = $1 AND spent_minor + $2 <= budget_minor",
                    &args![campaign, amount, grants],
                )
                .await?;
            if charged == 0 {
                return Err(StoreError::BudgetTaken(campaign));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for SqlStore {
    async fn insert_campaign(&self, c: &CampaignRow) -> StoreResult<bool> {
        let inserted = self
            .pool()
            .execute(
                "INSERT INTO campaigns (id, name, kind, status, audience, referrer_kind, vendor_type, location, starts_at, ends_at,
                    multiplier_bp, bonus_minor, referee_incentive_minor, referee_incentive_currency, referee_incentive_text,
                    target_referrals, target_conversions, budget_minor, email_template, landing_headline, landing_message,
                    created_at, updated_at, min_tier)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
                 ON CONFLICT (name, starts_at) DO NOTHING",
                &args![
                    c.id,
                    &c.name,
                    c.kind.as_str(),
                    c.status.as_str(),
                    c.audience.as_str(),
                    c.referrer_kind.map(AccountKind::as_str),
                    &c.vendor_type,
                    &c.location,
                    c.starts_at,
                    c.ends_at,
                    c.multiplier_bp,
                    c.bonus_minor,
                    c.referee_incentive.as_ref().map(|m| m.amount_minor),
                    c.referee_incentive.as_ref().map(|m| m.currency.as_str()),
                    &c.referee_incentive_text,
                    c.target_referrals,
                    c.target_conversions,
                    c.budget_minor,
                    &c.email_template,
                    &c.landing_headline,
                    &c.landing_message,
                    c.created_at,
                    c.updated_at,
                    c.min_tier.map(bouquet_core::tiers::Tier::as_str),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn update_campaign(&self, c: &CampaignRow) -> StoreResult<()> {
        self.pool()
            .execute(
                "UPDATE campaigns SET name = $2, status = $3, audience = $4, referrer_kind = $5, vendor_type = $6, location = $7,
                    starts_at = $8, ends_at = $9, multiplier_bp = $10, bonus_minor = $11, referee_incentive_minor = $12,
                    referee_incentive_currency = $13, referee_incentive_text = $14, target_referrals = $15, target_conversions = $16,
                    budget_minor = $17, email_template = $18, landing_headline = $19, landing_message = $20, updated_at = $21,
                    min_tier = $22,
                    exhausted_at = CASE WHEN $17 > budget_minor THEN NULL ELSE exhausted_at END
                 WHERE id = $1",
                &args![
                    c.id,
                    &c.name,
                    c.status.as_str(),
                    c.audience.as_str(),
                    c.referrer_kind.map(AccountKind::as_str),
                    &c.vendor_type,
                    &c.location,
                    c.starts_at,
                    c.ends_at,
                    c.multiplier_bp,
                    c.bonus_minor,
                    c.referee_incentive.as_ref().map(|m| m.amount_minor),
                    c.referee_incentive.as_ref().map(|m| m.currency.as_str()),
                    &c.referee_incentive_text,
                    c.target_referrals,
                    c.target_conversions,
                    c.budget_minor,
                    &c.email_template,
                    &c.landing_headline,
                    &c.landing_message,
                    c.updated_at,
                    c.min_tier.map(bouquet_core::tiers::Tier::as_str),
                ],
            )
            .await
            .map_err(|e| match &e {
                StoreError::Database(sqlx::Error::Database(db)) if matches!(db.kind(), sqlx::error::ErrorKind::CheckViolation) => {
                    StoreError::Refused("the budget cannot go below what the campaign has already spent")
                }
                _ => e,
            })?;
        Ok(())
    }

    async fn campaign(&self, id: Uuid) -> StoreResult<Option<CampaignRow>> {
        self.pool().fetch_optional("SELECT * FROM campaigns WHERE id = $1", &args![id]).await?.as_ref().map(campaign).transpose()
    }

    async fn campaigns(&self, limit: i64) -> StoreResult<Vec<CampaignRow>> {
        let rows = self.pool().fetch_all("SELECT * FROM campaigns ORDER BY starts_at DESC, id LIMIT $1", &args![limit]).await?;
        rows.iter().map(campaign).collect()
    }

    async fn advance_campaigns(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let started = self
            .pool()
            .execute(
                "UPDATE campaigns SET status = 'active', updated_at = $1 WHERE status = 'scheduled' AND starts_at <= $1 AND ends_at > $1",
                &args![now],
            )
            .await?;
        let ended = self
            .pool()
            .execute(
                "UPDATE campaigns SET status = 'ended', updated_at = $1 WHERE status IN ('scheduled', 'active', 'paused') AND ends_at <= $1",
                &args![now],
            )
            .await?;
        Ok(started + ended)
    }
}
