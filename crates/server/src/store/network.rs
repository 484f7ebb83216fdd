//! A supplier's network (docs/couples.md, "Suppliers inviting suppliers"): who joined the
//! platform through their supplier → supplier referrals. SQL once for both databases.

use async_trait::async_trait;
use bouquet_core::network::JoinedSupplier;
use uuid::Uuid;

use super::StoreResult;
use super::db::args;
use super::rows::Columns;
use super::sql::SqlStore;

#[async_trait]
pub trait NetworkStore: Send + Sync {
    /// Platform users who signed up after touching one of `referrer_id`'s referrals for
    /// suppliers (as suppliers themselves), newest first, each with a code they came
    /// through (the first by its text),
    /// the Bouquet account with their email (for its name and for the next level) and
    /// their first paid plan.
    async fn joined_through(&self, referrer_id: Uuid, limit: i64) -> StoreResult<Vec<(JoinedSupplier, Option<Uuid>)>>;
}

// Driven from the referrer's own referrals (an index), never from all platform users.
// A user has at most one conversion and an email at most one account: only the code is
// chosen among several (the first by its text).
const JOINED: &str = "SELECT u.user_id, MIN(r.code) AS code, u.signed_up_at, u.converted_at,
        c.plan, a.id AS account_id, a.business_name, a.vendor_type
 FROM referrals r
 JOIN touches t ON t.referral_id = r.id
 JOIN platform_users u ON u.user_id = t.platform_user_id AND u.kind = 'supplier'
      AND u.signed_up_at IS NOT NULL AND t.occurred_at <= u.signed_up_at
 LEFT JOIN conversions c ON c.platform_user_id = u.user_id
 LEFT JOIN accounts a ON a.email = LOWER(u.email) AND a.kind = 'supplier'
 WHERE r.referrer_id = $1 AND r.referee_type = 'supplier'
 GROUP BY u.user_id, u.signed_up_at, u.converted_at, c.plan, a.id, a.business_name, a.vendor_type
 ORDER BY u.signed_up_at DESC, u.user_id LIMIT $2";

#[async_trait]
impl NetworkStore for SqlStore {
    async fn joined_through(&self, referrer_id: Uuid, limit: i64) -> StoreResult<Vec<(JoinedSupplier, Option<Uuid>)>> {
        let rows = self.pool().fetch_all(JOINED, &args![referrer_id, limit]).await?;
        rows.iter()
            .map(|row| {
                let account = row.opt_uuid("account_id")?;
                let member = JoinedSupplier {
                    code: row.text("code")?,
                    business_name: row.opt_text("business_name")?,
                    vendor_type: row.opt_text("vendor_type")?,
                    joined_at: row.time("signed_up_at")?,
                    subscribed_at: row.opt_time("converted_at")?,
                    plan: row.opt_text("plan")?,
                };
                Ok((member, account))
            })
            .collect()
    }
}
