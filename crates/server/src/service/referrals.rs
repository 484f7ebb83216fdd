//! Referrals: creating them (with a code made offline by the device, or by the server),
//! listing them, and giving them their links.

use std::sync::Arc;

use bouquet_core::api::{CreateReferral, ReferralPage, ReferralView};
use bouquet_core::money::parse_currency;
use bouquet_core::referral::{Utm, referral_link};
use bouquet_core::{AccountKind, Money, ReferralCode, code::prefixes_for};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use uuid::Uuid;

use super::validate::{MAX_TEXT, text, url};
use crate::error::ApiError;
use crate::store::{Caller, NewReferral, Store, StoreError, StoredReferral};

pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_PAGE: i64 = 50;
/// Clocks on phones and laptops drift; a creation time this far ahead is still accepted.
const CLOCK_SKEW: Duration = Duration::minutes(10);

/// Fills in the public links of a stored referral.
pub fn with_links(mut view: ReferralView, public_url: &str) -> ReferralView {
    let utm = Utm { source: view.utm_source.clone(), medium: view.utm_medium.clone(), campaign: view.utm_campaign.clone() };
    view.link = referral_link(public_url, &view.code, false, &utm);
    view.qr_link = referral_link(public_url, &view.code, true, &utm);
    view
}

fn validate_money(field: &'static str, money: Option<Money>) -> Result<Option<Money>, ApiError> {
    let Some(m) = money else { return Ok(None) };
    let currency = parse_currency(&m.currency)
        .ok_or_else(|| ApiError::invalid("invalid_field", format!("{field}.currency must be a three-letter code like GBP")))?;
    if m.amount_minor < 0 {
        return Err(ApiError::invalid("invalid_field", format!("{field}.amount_minor cannot be negative")));
    }
    Ok(Some(Money { amount_minor: m.amount_minor, currency }))
}

pub async fn create(
    store: &Arc<dyn Store>,
    caller: &Caller,
    req: CreateReferral,
    referral_lifetime: Duration,
    public_url: &str,
) -> Result<ReferralView, ApiError> {
    let kind = caller.account.kind;
    if kind == AccountKind::Admin {
        return Err(ApiError::Forbidden("admin accounts do not refer anyone"));
    }
    let now = Utc::now();
    let created_at = req.created_at.unwrap_or(now);
    if created_at > now + CLOCK_SKEW {
        return Err(ApiError::invalid("invalid_field", "created_at is in the future; check the device's clock"));
    }
    // A referral made under a campaign: the campaign must be running and admit the caller.
    if let Some(id) = req.campaign_id {
        let campaign = store.campaign(id).await?.ok_or_else(|| ApiError::invalid("unknown_campaign", "no campaign has that id"))?;
        let successful = crate::service::campaigns::successes(store, caller.account.id).await?;
        if campaign.status != bouquet_core::campaigns::CampaignStatus::Active
            || !crate::service::campaigns::admits(&campaign, &caller.account, successful)
        {
            return Err(ApiError::invalid("campaign_not_open", format!("the campaign \"{}\" is not open to you now", campaign.name)));
        }
    }
    let expires_at = req.expires_at.unwrap_or(created_at + referral_lifetime);
    if expires_at <= created_at {
        return Err(ApiError::invalid("invalid_field", "expires_at must be after created_at"));
    }
    let open = store.campaigns(500).await?;
    let successful = crate::service::campaigns::successes(store, caller.account.id).await?;
    let mut referral = NewReferral {
        id: Uuid::now_v7(),
        seasonal_campaigns: crate::service::campaigns::seasonal_covering(&open, &caller.account, successful, created_at, req.wedding_date),
        code: String::new(),
        referrer_id: caller.account.id,
        referrer_type: kind,
        referee_type: req.referee_type.unwrap_or(match kind {
            AccountKind::Couple => AccountKind::Supplier,
            _ => AccountKind::Couple,
        }),
        method: req.method.as_str().to_string(),
        campaign_id: req.campaign_id,
        source_url: url("source_url", req.source_url)?,
        utm_source: text("utm_source", req.utm_source, 200)?,
        utm_medium: text("utm_medium", req.utm_medium, 200)?,
        utm_campaign: text("utm_campaign", req.utm_campaign, 200)?,
        // A supplier's referral is for their own trade unless they say otherwise.
        vendor_type: req.vendor_type.or(caller.account.vendor_type).map(|v| v.as_str().to_string()),
        wedding_date: req.wedding_date,
        location: text("location", req.location, 200)?,
        message: text("message", req.message, MAX_TEXT)?,
        incentive_offered: text("incentive_offered", req.incentive_offered, 200)?,
        incentive_amount: validate_money("incentive_amount", req.incentive_amount)?,
        created_at,
        expires_at: Some(expires_at),
    };
    if referral.referee_type == AccountKind::Admin {
        return Err(ApiError::invalid("invalid_field", "referee_type must be supplier or couple"));
    }

    let stored = match req.code {
        Some(code) => {
            check_offline_code(store, caller, &code).await?;
            referral.code = code.to_string();
            store.create_referral(referral).await.map_err(|e| match e {
                StoreError::Conflict(_) => ApiError::Conflict(format!("the code {code} is already taken")),
                other => other.into(),
            })?
        }
        None => create_with_server_code(store, caller, referral).await?,
    };
    Ok(with_links(stored.view, public_url))
}

/// A code made offline must be in a namespace issued to this account and start with
/// one of this kind's wedding words, so nobody can claim another account's codes.
async fn check_offline_code(store: &Arc<dyn Store>, caller: &Caller, code: &ReferralCode) -> Result<(), ApiError> {
    if !prefixes_for(caller.account.kind).contains(&code.prefix()) {
        return Err(ApiError::invalid(
            "invalid_code",
            format!("{} codes start with one of {}", caller.account.kind.as_str(), prefixes_for(caller.account.kind).join(", ")),
        ));
    }
    if !store.namespace_belongs_to(code.namespace(), caller.account.id).await? {
        return Err(ApiError::invalid("foreign_code_namespace", "this code was not made in one of this account's code namespaces"));
    }
    Ok(())
}

async fn create_with_server_code(store: &Arc<dyn Store>, caller: &Caller, referral: NewReferral) -> Result<StoredReferral, ApiError> {
    let namespace = store.server_namespace(caller.account.id).await?;
    // The random part makes a clash within the namespace rare; the unique index makes it harmless.
    for _ in 0..8 {
        let pick = rand::thread_rng().r#gen::<usize>();
        let code = ReferralCode::generate(caller.account.kind, &namespace, pick).to_string();
        let attempt = NewReferral { id: Uuid::now_v7(), code, ..referral.clone() };
        match store.create_referral(attempt).await {
            Err(StoreError::Conflict(_)) => continue,
            other => return Ok(other?),
        }
    }
    Err(ApiError::Internal("could not find a free referral code after 8 tries".into()))
}


/// Cursor format: `<created_at micros>_<id>` (opaque to clients).
fn parse_cursor(after: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest { code: "invalid_cursor", message: "the `after` cursor is not one this server gave out".into() };
    let (micros, id) = after.split_once('_').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

pub async fn list(
    store: &Arc<dyn Store>,
    caller: &Caller,
    after: Option<&str>,
    limit: Option<i64>,
    public_url: &str,
) -> Result<ReferralPage, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest { code: "invalid_limit", message: format!("limit must be between 1 and {MAX_PAGE}") });
    }
    let after = after.map(parse_cursor).transpose()?;
    // One extra row tells whether there is a next page.
    let mut rows = store.list_referrals(caller.account.id, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = more
        .then(|| rows.last().map(|r| format!("{}_{}", r.view.created_at.timestamp_micros(), r.view.id)))
        .flatten();
    Ok(ReferralPage { items: rows.into_iter().map(|r| with_links(r.view, public_url)).collect(), next_after })
}

/// The supplier's network: suppliers who joined through their supplier → supplier
/// referrals, and who joined through each of those (where they use Bouquet too).
pub async fn network(store: &Arc<dyn Store>, caller: &Caller) -> Result<bouquet_core::network::Network, ApiError> {
    use bouquet_core::network::{MAX_MEMBERS, Network, NetworkMember};
    if caller.account.kind != AccountKind::Supplier {
        return Err(ApiError::Forbidden("a network is of suppliers who invited suppliers"));
    }
    let mut members = Vec::new();
    for (supplier, account) in store.joined_through(caller.account.id, MAX_MEMBERS).await? {
        let joined_through_them = match account {
            Some(account) => store.joined_through(account, MAX_MEMBERS).await?.into_iter().map(|(s, _)| s).collect(),
            None => Vec::new(),
        };
        members.push(NetworkMember { supplier, joined_through_them });
    }
    Ok(Network { members })
}
