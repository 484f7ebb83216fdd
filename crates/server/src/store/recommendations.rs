//! What couple → supplier recommendations read and write, in SQL once for both databases:
//! the suppliers of a trade with their synced profile, the platform's reputation reports
//! and Bouquet's own counts; when an account was last seen; and the recommendations
//! couples acted on. The scoring is `bouquet_core::recommend`.

use async_trait::async_trait;
use bouquet_core::recommend::{
    RecommendationAction, RecommendationProgress, RecommendationSent, SupplierFacts, SupplierProfile, SupplierReputation,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::db::args;
use super::rows::Columns;
use super::sql::SqlStore;
use super::StoreResult;

#[async_trait]
pub trait RecommendationStore: Send + Sync {
    /// The suppliers of `vendor_type` seen since `active_since`, as the scoring sees them.
    async fn supplier_facts(&self, vendor_type: &str, active_since: DateTime<Utc>) -> StoreResult<Vec<SupplierFacts>>;
    /// Records that the account was seen (a sign-in or an API call with its token).
    async fn note_seen(&self, account_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Replaces what the platform reports of a supplier's reputation. `false` when no
    /// supplier has that id.
    async fn set_reputation(&self, supplier_id: Uuid, reputation: &SupplierReputation, at: DateTime<Utc>) -> StoreResult<bool>;
    /// The id and code of the referral the couple's last act of this kind on this supplier
    /// made, if any.
    async fn acted_referral(&self, couple_id: Uuid, supplier_id: Uuid, action: RecommendationAction) -> StoreResult<Option<(Uuid, String)>>;
    /// Records an act's referral: the first (`replacing` none), or one that replaces the
    /// act's earlier referral `replacing` (it expired). `false` when another request got
    /// there first: the act already has a referral, or its earlier one was replaced.
    async fn record_act(
        &self,
        couple_id: Uuid,
        supplier_id: Uuid,
        action: RecommendationAction,
        referral_id: Uuid,
        replacing: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records that a couple's referral carries their recommendation of a supplier to a friend.
    /// `address_hash`: the friend's address as its unsubscribe token (the address is not kept).
    async fn record_friend_recommendation(&self, referral_id: Uuid, couple_id: Uuid, supplier_id: Uuid, address_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Couples' recommendations of this supplier (to friends, and acts through the
    /// recommendations API), newest first.
    async fn recommendations_received(&self, supplier_id: Uuid, limit: i64) -> StoreResult<Vec<RecommendationSent>>;
    /// The couple's recommendations of suppliers to friends, newest first.
    async fn recommendations_made(&self, couple_id: Uuid, limit: i64) -> StoreResult<Vec<RecommendationSent>>;
    /// How many friends the couple has recommended to since `since` (a daily cap).
    async fn friends_recommended_since(&self, couple_id: Uuid, since: DateTime<Utc>) -> StoreResult<i64>;
    /// Whether the account has proved it holds its email (it signed in with an emailed link).
    async fn email_proven(&self, account_id: Uuid) -> StoreResult<bool>;
    /// The suppliers a couple booked through Bouquet: those credited with the conversion
    /// of the platform user with the couple's email.
    async fn booked_suppliers(&self, couple_email: &str) -> StoreResult<Vec<SupplierChoice>>;
    /// Suppliers whose business name contains `name` (any case) and of `vendor_type`,
    /// either or both; by name.
    async fn find_suppliers(&self, name: Option<&str>, vendor_type: Option<&str>, limit: i64) -> StoreResult<Vec<SupplierChoice>>;
}

/// A supplier a couple can pick to recommend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierChoice {
    pub id: Uuid,
    pub business_name: Option<String>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
}

/// Recommendations with how far each got (the referral's own dates say), newest first:
/// those to friends and those made through the recommendations API, of one supplier or by
/// one couple (`$1`).
macro_rules! recommendations_sql {
    ($who:literal, $acts:literal) => {
        concat!(
            "SELECT r.code, r.message, r.created_at, r.clicked_at, r.signed_up_at, r.converted_at,
                    c.couple_names, s.business_name
             FROM (SELECT referral_id, couple_id, supplier_id FROM friend_recommendations WHERE ", $who, " = $1
                   UNION ALL
                   SELECT referral_id, couple_id, supplier_id FROM recommendation_actions WHERE ", $who, " = $1 AND ", $acts, ") m
             JOIN referrals r ON r.id = m.referral_id
             JOIN accounts c ON c.id = m.couple_id
             JOIN accounts s ON s.id = m.supplier_id
             ORDER BY r.created_at DESC, r.id DESC LIMIT $2"
        )
    };
}
// Both kinds of act name the supplier: inviting them, and sharing them with a friend.
const RECEIVED: &str = recommendations_sql!("supplier_id", "1 = 1");
// The couple's page lists what went to friends; an invitation of the supplier is not one.
const MADE: &str = recommendations_sql!("couple_id", "action = 'share_with_friend'");

fn recommendation(row: &impl Columns) -> StoreResult<RecommendationSent> {
    Ok(RecommendationSent {
        code: row.text("code")?,
        // Never an email address in place of a name: it is not the reader's to see.
        couple_names: row.opt_text("couple_names")?.unwrap_or_else(|| "A couple".into()),
        supplier_name: row.opt_text("business_name")?.unwrap_or_else(|| "A supplier".into()),
        message: row.opt_text("message")?,
        created_at: row.time("created_at")?,
        progress: RecommendationProgress::of(
            row.opt_time("clicked_at")?.is_some(),
            row.opt_time("signed_up_at")?.is_some(),
            row.opt_time("converted_at")?.is_some(),
        ),
    })
}

fn supplier_choice(row: &impl Columns) -> StoreResult<SupplierChoice> {
    Ok(SupplierChoice {
        id: row.uuid("id")?,
        business_name: row.opt_text("business_name")?,
        vendor_type: row.opt_text("vendor_type")?,
        location: row.opt_text("location")?,
    })
}

/// `%text%` for LIKE, its own `%`, `_` and `\` taken literally (with `ESCAPE '\'`).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for ch in text.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Couples who signed up through the supplier and were not held or rejected by fraud
/// review; the supplier's successful referrals are the rewards' count (their standing).
const SUPPLIERS: &str = "SELECT a.id, a.business_name, a.vendor_type, a.location, a.last_seen_at, p.fields AS profile,
        r.response_rate_bp, r.avg_rating_cs, r.review_count, r.couples_served,
        COALESCE(st.successful_referrals, 0) AS successful_referrals,
        (SELECT COUNT(*) FROM fraud_subjects fs JOIN platform_users u ON u.user_id = fs.platform_user_id
         WHERE fs.referrer_id = a.id AND u.kind = 'couple' AND fs.action NOT IN ('hold', 'reject')) AS couple_connections
 FROM accounts a
 LEFT JOIN sync_records p ON p.account_id = a.id AND p.entity = 'profile' AND p.id = a.id AND p.deleted IS NULL
 LEFT JOIN supplier_reputation r ON r.account_id = a.id
 LEFT JOIN referrer_standing st ON st.account_id = a.id
 WHERE a.kind = 'supplier' AND a.vendor_type = $1 AND a.last_seen_at >= $2 AND a.deleted_at IS NULL";

fn field_text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

fn field_int(fields: &Map<String, Value>, name: &str) -> Option<i64> {
    fields.get(name).and_then(Value::as_i64)
}

#[async_trait]
impl RecommendationStore for SqlStore {
    async fn supplier_facts(&self, vendor_type: &str, active_since: DateTime<Utc>) -> StoreResult<Vec<SupplierFacts>> {
        let rows = self.pool().fetch_all(SUPPLIERS, &args![vendor_type, active_since]).await?;
        let mut facts = Vec::with_capacity(rows.len());
        for row in rows {
            let fields: Map<String, Value> = row.opt_text("profile")?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
            let profile = SupplierProfile::from_record_lenient(
                field_text(&fields, "location"),
                field_text(&fields, "styles"),
                field_int(&fields, "budget_min_minor"),
                field_int(&fields, "budget_max_minor"),
                field_text(&fields, "booked_dates"),
            );
            facts.push(SupplierFacts {
                account_id: row.uuid("id")?,
                business_name: row.opt_text("business_name")?,
                vendor_type: row.opt_text("vendor_type")?,
                // Where they work, as the profile says; else where they signed up from.
                location: profile.location.or(row.opt_text("location")?),
                styles: profile.styles,
                budget_min_minor: profile.budget_min_minor,
                budget_max_minor: profile.budget_max_minor,
                booked_dates: profile.booked_dates,
                last_active_at: row.opt_time("last_seen_at")?,
                response_rate: row.opt_int("response_rate_bp")?.map(|bp| bp as f64 / 10_000.0),
                avg_rating: row.opt_int("avg_rating_cs")?.map(|cs| cs as f64 / 100.0),
                review_count: row.opt_int("review_count")?.unwrap_or(0),
                couples_served: row.opt_int("couples_served")?.unwrap_or(0),
                successful_referrals: row.int("successful_referrals")?,
                couple_connections: row.int("couple_connections")?,
            });
        }
        Ok(facts)
    }

    async fn note_seen(&self, account_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.pool().execute("UPDATE accounts SET last_seen_at = $2 WHERE id = $1", &args![account_id, at]).await?;
        Ok(())
    }

    async fn set_reputation(&self, supplier_id: Uuid, reputation: &SupplierReputation, at: DateTime<Utc>) -> StoreResult<bool> {
        // Stored exactly: basis points of the rate and hundredths of a star.
        let rate_bp = reputation.response_rate.map(|r| (r * 10_000.0).round() as i64);
        let rating_cs = reputation.avg_rating.map(|r| (r * 100.0).round() as i64);
        let written = self
            .pool()
            .execute(
                "INSERT INTO supplier_reputation (account_id, response_rate_bp, avg_rating_cs, review_count, couples_served, updated_at)
                 SELECT id, $2, $3, $4, $5, $6 FROM accounts WHERE id = $1 AND kind = 'supplier'
                 ON CONFLICT (account_id) DO UPDATE SET response_rate_bp = excluded.response_rate_bp,
                     avg_rating_cs = excluded.avg_rating_cs, review_count = excluded.review_count,
                     couples_served = excluded.couples_served, updated_at = excluded.updated_at",
                &args![supplier_id, rate_bp, rating_cs, reputation.review_count, reputation.couples_served, at],
            )
            .await?;
        Ok(written > 0)
    }

    async fn acted_referral(&self, couple_id: Uuid, supplier_id: Uuid, action: RecommendationAction) -> StoreResult<Option<(Uuid, String)>> {
        let row = self
            .pool()
            .fetch_optional(
                "SELECT r.id, r.code FROM recommendation_actions ra JOIN referrals r ON r.id = ra.referral_id
                 WHERE ra.couple_id = $1 AND ra.supplier_id = $2 AND ra.action = $3",
                &args![couple_id, supplier_id, action.as_str()],
            )
            .await?;
        row.map(|r| Ok((r.uuid("id")?, r.text("code")?))).transpose()
    }

    async fn record_act(
        &self,
        couple_id: Uuid,
        supplier_id: Uuid,
        action: RecommendationAction,
        referral_id: Uuid,
        replacing: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let pool = self.pool();
        let written = match replacing {
            None => {
                pool.execute(
                    "INSERT INTO recommendation_actions (id, couple_id, supplier_id, action, referral_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (couple_id, supplier_id, action) DO NOTHING",
                    &args![Uuid::now_v7(), couple_id, supplier_id, action.as_str(), referral_id, at],
                )
                .await?
            }
            // Only if the earlier referral is still the act's: of two racing renewals, one wins.
            Some(old) => {
                pool.execute(
                    "UPDATE recommendation_actions SET referral_id = $4, created_at = $5
                     WHERE couple_id = $1 AND supplier_id = $2 AND action = $3 AND referral_id = $6",
                    &args![couple_id, supplier_id, action.as_str(), referral_id, at, old],
                )
                .await?
            }
        };
        Ok(written > 0)
    }

    async fn record_friend_recommendation(&self, referral_id: Uuid, couple_id: Uuid, supplier_id: Uuid, address_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.pool()
            .execute(
                "INSERT INTO friend_recommendations (referral_id, couple_id, supplier_id, address_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &args![referral_id, couple_id, supplier_id, address_hash, at],
            )
            .await?;
        Ok(())
    }

    async fn recommendations_received(&self, supplier_id: Uuid, limit: i64) -> StoreResult<Vec<RecommendationSent>> {
        let rows = self.pool().fetch_all(RECEIVED, &args![supplier_id, limit]).await?;
        rows.iter().map(recommendation).collect()
    }

    async fn recommendations_made(&self, couple_id: Uuid, limit: i64) -> StoreResult<Vec<RecommendationSent>> {
        let rows = self.pool().fetch_all(MADE, &args![couple_id, limit]).await?;
        rows.iter().map(recommendation).collect()
    }

    async fn friends_recommended_since(&self, couple_id: Uuid, since: DateTime<Utc>) -> StoreResult<i64> {
        let row = self
            .pool()
            .fetch_one("SELECT COUNT(*) AS n FROM friend_recommendations WHERE couple_id = $1 AND created_at >= $2", &args![couple_id, since])
            .await?;
        row.int("n")
    }

    async fn email_proven(&self, account_id: Uuid) -> StoreResult<bool> {
        let row = self
            .pool()
            .fetch_optional("SELECT 1 AS proven FROM sign_in_links WHERE account_id = $1 AND used_at IS NOT NULL LIMIT 1", &args![account_id])
            .await?;
        Ok(row.is_some())
    }

    async fn booked_suppliers(&self, couple_email: &str) -> StoreResult<Vec<SupplierChoice>> {
        let email = couple_email.trim().to_lowercase();
        let rows = self
            .pool()
            .fetch_all(
                "SELECT DISTINCT a.id, a.business_name, a.vendor_type, a.location
                 FROM platform_users u
                 JOIN conversions c ON c.platform_user_id = u.user_id
                 JOIN conversion_credits cc ON cc.conversion_id = c.id
                 JOIN accounts a ON a.id = cc.referrer_id AND a.kind = 'supplier'
                 WHERE LOWER(u.email) = $1
                 ORDER BY a.business_name",
                &args![email.as_str()],
            )
            .await?;
        rows.iter().map(supplier_choice).collect()
    }

    async fn find_suppliers(&self, name: Option<&str>, vendor_type: Option<&str>, limit: i64) -> StoreResult<Vec<SupplierChoice>> {
        let pattern = name.map(str::trim).filter(|n| !n.is_empty()).map(contains_pattern);
        let rows = self
            .pool()
            .fetch_all(
                "SELECT id, business_name, vendor_type, location FROM accounts
                 WHERE kind = 'supplier' AND business_name IS NOT NULL
                   AND ($1 IS NULL OR LOWER(business_name) LIKE $1 ESCAPE '\\')
                   AND ($2 IS NULL OR vendor_type = $2)
                 ORDER BY business_name, id LIMIT $3",
                &args![pattern.as_deref(), vendor_type, limit],
            )
            .await?;
        rows.iter().map(supplier_choice).collect()
    }
}
