//! A referrer's statistics: the stored counts plus the rates derived from them.

use std::sync::Arc;

use bouquet_core::api::StatsView;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::Store;

pub async fn for_account(store: &Arc<dyn Store>, account_id: Uuid, now: DateTime<Utc>) -> Result<StatsView, ApiError> {
    let row = store.stats(account_id, now).await?;
    // Basis points: 2500 is the seed's 25% target.
    let conversion_rate_bp = (row.signups > 0).then(|| row.successful_referrals * 10_000 / row.signups);
    let avg_time_to_convert_seconds =
        (row.successful_referrals > 0).then(|| row.total_time_to_convert_seconds / row.successful_referrals);
    Ok(StatsView {
        account_id,
        total_referrals: row.total_referrals,
        active_referrals: row.active_referrals,
        unique_visits: row.unique_visits,
        qr_scans: row.qr_scans,
        leads: row.leads,
        signups: row.signups,
        activations: row.activations,
        successful_referrals: row.successful_referrals,
        conversion_rate_bp,
        avg_time_to_convert_seconds,
        value_generated: row.value_generated,
        last_referral_at: row.last_referral_at,
    })
}
