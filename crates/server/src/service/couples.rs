//! The couples' own page (issue 15): a couple's code to pass on — a couple → couple
//! referral, as a link and a QR code — and what it has earned them, with their tier and
//! how far the next one is. Couples live on their phones; this is what the page reads.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bouquet_core::account::normalize_email;
use bouquet_core::api::{BalanceView, CreateReferral, ReferralView, SessionView, TierView};
use bouquet_core::notifications::NotificationPreference;
use bouquet_core::recommend::{self, CoupleSearch, INACTIVE_AFTER_DAYS, RecommendationSent};
use bouquet_core::{AccountKind, ReferralMethod, VendorType};
use chrono::{DateTime, Duration, Utc};

use crate::config::Settings;
use crate::error::ApiError;
use crate::service::{accounts, email, referrals, rewards};
use crate::store::{Caller, RewardRow, Store, StoredNotification, SupplierChoice};

/// A code to share still has this long to live; an older one is replaced by a new one.
const FRESH_FOR: Duration = Duration::days(7);

/// How long an emailed sign-in link works.
pub const SIGN_IN_LINK_MINUTES: i64 = 15;
/// At most this many unused links at once per account: asking again and again sends no
/// flood of emails.
const OPEN_LINKS: i64 = 3;

/// Emails a sign-in link to a couple's address, in the background: the answer (and how
/// long it takes) is the same whether or not the address has an account. `Err` only for
/// something that is not an email address. The email is in the couple's chosen language,
/// else in that of the browser that asked (`accept_language`).
pub async fn email_sign_in_link(
    store: &Arc<dyn Store>,
    settings: &Settings,
    email: &str,
    accept_language: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let address = normalize_email(email).ok_or_else(|| ApiError::invalid("invalid_field", "that is not an email address"))?;
    let store = store.clone();
    let settings = settings.clone();
    tokio::spawn(async move {
        if let Err(e) = send_link(&store, &settings, &address, accept_language.as_deref(), now).await {
            tracing::warn!(error = %e, "a sign-in link was not sent");
        }
    });
    Ok(())
}

async fn send_link(store: &Arc<dyn Store>, settings: &Settings, address: &str, accept_language: Option<&str>, now: DateTime<Utc>) -> Result<(), String> {
    let Some((account, _)) = store.account_by_email(address).await.map_err(|e| e.to_string())? else { return Ok(()) };
    if account.kind != AccountKind::Couple {
        return Ok(());
    }
    let (token, hash) = accounts::sign_in_token();
    let expires = now + Duration::minutes(SIGN_IN_LINK_MINUTES);
    if !store.create_sign_in_link(account.id, &hash, expires, OPEN_LINKS, now).await.map_err(|e| e.to_string())? {
        return Ok(());
    }
    let link = format!("{}/couple/login/{token}", settings.public_url);
    let tr = crate::i18n::Tr::for_account(account.locale.as_deref(), accept_language);
    let message = email::compose_sign_in(&tr, &account.email, account.couple_names.as_deref(), &link, SIGN_IN_LINK_MINUTES, &settings.email.from)
        .map_err(|e| e.0)?;
    email::send_now(&settings.email, message).await
}

/// Signs in with an emailed link (once, before it expires): a new session. `secret` keys
/// the wrong-password counts this lifts.
pub async fn sign_in_with_link(store: &Arc<dyn Store>, secret: &str, token: &str, now: DateTime<Utc>) -> Result<Option<SessionView>, ApiError> {
    let Some(account_id) = store.use_sign_in_link(&accounts::sign_in_token_hash(token), now).await? else { return Ok(None) };
    let Some(account) = store.account(account_id).await? else { return Ok(None) };
    // Holding the mailbox proves the account: locks from wrong passwords are lifted.
    store.clear_sign_in_failures(&accounts::email_key(secret, &account.email), None).await?;
    Ok(Some(accounts::open_session(store, account, Some("couple's phone (email link)".into())).await?))
}

pub struct CouplePage {
    pub names: String,
    pub referral: ReferralView,
    /// The link's QR code, as a `data:` URI for an `<img>`.
    pub qr_data_uri: String,
    pub balance: BalanceView,
    pub tier: TierView,
    pub rewards: Vec<RewardRow>,
    /// The newest notifications (they have no app to read them in).
    /// Told in the page's language by the page.
    pub news: Vec<StoredNotification>,
    /// Which kinds also come by email.
    pub choices: Vec<NotificationPreference>,
    /// Suppliers they booked through Bouquet, to recommend.
    pub booked: Vec<SupplierChoice>,
    /// Their recommendations to friends and how far each got.
    pub recommended: Vec<RecommendationSent>,
}

/// The couple's code for friends: their newest couple → couple referral with at least a
/// week to live, else a new one.
pub async fn sharing_code(store: &Arc<dyn Store>, caller: &Caller, lifetime: Duration, public_url: &str) -> Result<ReferralView, ApiError> {
    let now = Utc::now();
    let page = referrals::list(store, caller, None, Some(50), public_url).await?;
    let live = page
        .items
        .into_iter()
        // A short configured lifetime: reuse a code until half of it is gone, not a week.
        .find(|r| r.referee_type == AccountKind::Couple && r.expires_at.is_none_or(|e| e > now + FRESH_FOR.min(lifetime / 2)));
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
        news: store.notifications_of(id, 5).await?,
        choices: store.notification_preferences(id).await?,
        // Bookings are matched by email: only once the couple has proved they hold it (an
        // emailed sign-in link), or anyone could register a stranger's address and see
        // whom they booked.
        booked: if store.email_proven(id).await? { store.booked_suppliers(&caller.account.email).await? } else { Vec::new() },
        recommended: store.recommendations_made(id, 20).await?,
    })
}

/// Most suppliers a search on the couple's page lists.
const FOUND_AT_MOST: i64 = 10;
/// Most suppliers under "couples like you also booked".
const SUGGESTED_AT_MOST: usize = 3;

/// Suppliers whose name contains `name`, of `trade`, either or both (nothing without
/// either).
pub async fn find_suppliers(store: &Arc<dyn Store>, name: Option<&str>, trade: Option<VendorType>) -> Result<Vec<SupplierChoice>, ApiError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_none() && trade.is_none() {
        return Ok(Vec::new());
    }
    Ok(store.find_suppliers(name, trade.map(VendorType::as_str), FOUND_AT_MOST).await?)
}

/// "Couples like you also booked": the recommendations' best suppliers (analytics issue,
/// `bouquet_core::recommend`) for the couple's date and place — of the trade they are
/// looking at, else of trades they have not booked — leaving out those they booked.
pub async fn also_booked(store: &Arc<dyn Store>, caller: &Caller, trade: Option<VendorType>, booked: &[SupplierChoice]) -> Result<Vec<SupplierChoice>, ApiError> {
    let now = Utc::now();
    let booked_trades: Vec<&str> = booked.iter().filter_map(|b| b.vendor_type.as_deref()).collect();
    let asked = trade.is_some();
    let trades: Vec<VendorType> = match trade {
        Some(t) => vec![t],
        None => VendorType::ALL.into_iter().filter(|t| !booked_trades.contains(&t.as_str())).collect(),
    };
    let mut suggested = Vec::new();
    for trade in trades {
        let search = CoupleSearch {
            vendor_type: trade.as_str().to_string(),
            wedding_date: caller.account.wedding_date,
            location: caller.account.location.clone(),
            style: None,
            budget_min_minor: None,
            budget_max_minor: None,
        };
        let facts = store.supplier_facts(trade.as_str(), now - Duration::days(INACTIVE_AFTER_DAYS)).await?;
        // One per trade unless the couple asked for one: a spread of trades, not three photographers.
        let per_trade = if asked { SUGGESTED_AT_MOST } else { 1 };
        let fresh = recommend::recommend(&facts, &search, now)
            .into_iter()
            .filter(|item| !booked.iter().any(|b| b.id == item.supplier_id))
            .take(per_trade)
            .map(|item| SupplierChoice { id: item.supplier_id, business_name: item.business_name, vendor_type: item.vendor_type, location: item.location });
        suggested.extend(fresh);
        if suggested.len() >= SUGGESTED_AT_MOST {
            suggested.truncate(SUGGESTED_AT_MOST);
            break;
        }
    }
    Ok(suggested)
}
