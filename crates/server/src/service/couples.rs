//! The couples' own page (issue 15): a couple's code to pass on — a couple → couple
//! referral, as a link and a QR code — and what it has earned them, with their tier and
//! how far the next one is. Couples live on their phones; this is what the page reads.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bouquet_core::api::{BalanceView, CreateReferral, ReferralView, TierView};
use bouquet_core::{AccountKind, ReferralMethod};
use chrono::{Duration, Utc};

use crate::error::ApiError;
use crate::service::{email, referrals, rewards};
use crate::store::{Caller, RewardRow, Store};

/// A code to share still has this long to live; an older one is replaced by a new one.
const FRESH_FOR: Duration = Duration::days(7);

pub struct CouplePage {
    pub names: String,
    pub referral: ReferralView,
    /// The link's QR code, as a `data:` URI for an `<img>`.
    pub qr_data_uri: String,
    pub balance: BalanceView,
    pub tier: TierView,
    pub rewards: Vec<RewardRow>,
}

/// The couple's code for friends: their newest couple → couple referral with at least a
/// week to live, else a new one.
pub async fn sharing_code(store: &Arc<dyn Store>, caller: &Caller, lifetime: Duration, public_url: &str) -> Result<ReferralView, ApiError> {
    let now = Utc::now();
    let page = referrals::list(store, caller, None, Some(50), public_url).await?;
    let live = page
        .items
        .into_iter()
        .find(|r| r.referee_type == AccountKind::Couple && r.expires_at.is_none_or(|e| e > now + FRESH_FOR));
    if let Some(referral) = live {
        return Ok(referral);
    }
    let request = CreateReferral { referee_type: Some(AccountKind::Couple), method: ReferralMethod::Link, ..Default::default() };
    referrals::create(store, caller, request, lifetime, public_url).await
}

pub async fn page(store: &Arc<dyn Store>, caller: &Caller, lifetime: Duration, public_url: &str) -> Result<CouplePage, ApiError> {
    if caller.account.kind != AccountKind::Couple {
        return Err(ApiError::Forbidden("this page is for couples' accounts"));
    }
    let referral = sharing_code(store, caller, lifetime, public_url).await?;
    let png = email::qr_png(&referral.link).map_err(ApiError::Internal)?;
    let id = caller.account.id;
    Ok(CouplePage {
        names: caller.account.couple_names.clone().unwrap_or_else(|| caller.account.email.clone()),
        qr_data_uri: format!("data:image/png;base64,{}", STANDARD.encode(png)),
        referral,
        balance: rewards::balance(store, id).await?,
        tier: rewards::tier(store, id, AccountKind::Couple).await?,
        rewards: store.rewards_of(id, None, 20).await?,
    })
}
