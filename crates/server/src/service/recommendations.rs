//! Couple → supplier recommendations (docs/metrics.md, "Recommendations"): which
//! suppliers of a trade to suggest to a couple, and what acting on one does — a
//! couple → supplier referral, tracked, attributed and rewarded like any other.

use std::sync::Arc;

use bouquet_core::api::CreateReferral;
use bouquet_core::account::normalize_email;
use bouquet_core::recommend::{
    self, ActOnRecommendation, ActedOnRecommendation, CoupleSearch, INACTIVE_AFTER_DAYS, MAX_FRIENDS, RecommendToFriends,
    RecommendationAction, RecommendationList, RecommendedToFriends, SupplierReputation,
};
use bouquet_core::{AccountKind, ReferralMethod, VendorType};
use chrono::{Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::config::Settings;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::service::{email, referrals};
use crate::store::{Caller, Store};

/// A search as the query string gives it.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecommendationQuery {
    /// The trade wanted: photographer, venue, florist…
    pub vendor_type: Option<String>,
    /// The wedding's date (YYYY-MM-DD); the couple's own when absent.
    pub wedding_date: Option<String>,
    /// Where the wedding is; the couple's own when absent.
    pub location: Option<String>,
    /// A style word ("rustic").
    pub style: Option<String>,
    /// The couple's budget for this trade, in minor units.
    pub budget_min: Option<i64>,
    pub budget_max: Option<i64>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", message: message.into() }
}

fn couple_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.account.kind != AccountKind::Couple {
        return Err(ApiError::Forbidden("recommendations are for couples' accounts"));
    }
    Ok(())
}

fn trades() -> String {
    VendorType::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}

/// The search a query stands for, with the couple's own date and place where it gives none.
pub fn search_of(caller: &Caller, query: RecommendationQuery) -> Result<CoupleSearch, ApiError> {
    let raw = query.vendor_type.unwrap_or_default();
    let vendor = VendorType::parse(raw.trim())
        .ok_or_else(|| bad(format!("vendor_type must be one of {}, not '{raw}'", trades())))?;
    let wedding_date = match query.wedding_date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(d.parse::<NaiveDate>().map_err(|_| bad(format!("wedding_date must be a date (2027-06-19), not '{d}'")))?),
        None => caller.account.wedding_date,
    };
    if query.budget_min.is_some_and(|v| v < 0) || query.budget_max.is_some_and(|v| v < 0) {
        return Err(bad("a budget cannot be negative"));
    }
    if let (Some(lo), Some(hi)) = (query.budget_min, query.budget_max)
        && lo > hi
    {
        return Err(bad("budget_min is above budget_max"));
    }
    let text = |t: Option<String>, most: usize, name: &str| -> Result<Option<String>, ApiError> {
        let t = t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if t.as_ref().is_some_and(|t| t.chars().count() > most) {
            return Err(bad(format!("{name} is longer than {most} characters")));
        }
        Ok(t)
    };
    Ok(CoupleSearch {
        vendor_type: vendor.as_str().to_string(),
        wedding_date,
        location: text(query.location, 200, "location")?.or_else(|| caller.account.location.clone()),
        style: text(query.style, 40, "style")?,
        budget_min_minor: query.budget_min,
        budget_max_minor: query.budget_max,
    })
}

/// Up to five active suppliers of the trade, best first, each with its score and reason.
pub async fn recommend(store: &Arc<dyn Store>, caller: &Caller, query: RecommendationQuery) -> Result<RecommendationList, ApiError> {
    couple_only(caller)?;
    let search = search_of(caller, query)?;
    let now = Utc::now();
    let suppliers = store.supplier_facts(&search.vendor_type, now - Duration::days(INACTIVE_AFTER_DAYS)).await?;
    let items = recommend::recommend(&suppliers, &search, now);
    Ok(RecommendationList { vendor_type: search.vendor_type, wedding_date: search.wedding_date, location: search.location, items })
}

/// Acting on a recommendation: a couple → supplier referral of that supplier, by email
/// (invite the supplier) or as a link to pass on (share with a friend). Doing the same
/// for the same supplier again gives back the same referral while it still works, so a
/// retry or a second tap makes no second one; once it has expired, a new one replaces it.
pub async fn act(
    store: &Arc<dyn Store>,
    caller: &Caller,
    req: ActOnRecommendation,
    referral_lifetime: Duration,
    public_url: &str,
) -> Result<ActedOnRecommendation, ApiError> {
    couple_only(caller)?;
    let supplier = store
        .account(req.supplier_id)
        .await?
        .filter(|a| a.kind == AccountKind::Supplier)
        .ok_or(ApiError::NotFound("no supplier has that id"))?;
    let acted = |referral| ActedOnRecommendation { action: req.action, supplier_id: supplier.id, referral };
    let earlier = store.acted_referral(caller.account.id, supplier.id, req.action).await?;
    if let Some((_, code)) = &earlier
        && let Some(view) = live(store, code, public_url).await?
    {
        return Ok(acted(view));
    }
    let create = CreateReferral {
        code: None,
        referee_type: Some(AccountKind::Supplier),
        method: match req.action {
            RecommendationAction::InviteSupplier => ReferralMethod::Email,
            RecommendationAction::ShareWithFriend => ReferralMethod::Link,
        },
        campaign_id: None,
        source_url: None,
        utm_source: Some("bouquet".into()),
        utm_medium: Some("recommendation".into()),
        utm_campaign: Some(req.action.as_str().into()),
        vendor_type: supplier.vendor_type,
        wedding_date: caller.account.wedding_date,
        location: supplier.location.clone(),
        message: req.message,
        incentive_offered: None,
        incentive_amount: None,
        expires_at: None,
        created_at: None,
    };
    let view = referrals::create(store, caller, create, referral_lifetime, public_url).await?;
    let replacing = earlier.map(|(id, _)| id);
    if store.record_act(caller.account.id, supplier.id, req.action, view.id, replacing, Utc::now()).await? {
        return Ok(acted(view));
    }
    // The same act raced this one and won: its referral is the one, and ours ends unused
    // (it stays in the couple's list as ended, never shared).
    let mut tx = store.begin_sync().await?;
    tx.end_referral(view.code.as_str(), caller.account.id, Utc::now()).await?;
    tx.commit().await?;
    let (_, code) = store
        .acted_referral(caller.account.id, supplier.id, req.action)
        .await?
        .ok_or_else(|| ApiError::Internal("a recommendation's act was recorded and then vanished".into()))?;
    let won = store.referral_by_code(&code).await?.ok_or_else(|| ApiError::Internal("an act's referral vanished".into()))?;
    Ok(acted(referrals::with_links(won.view, public_url)))
}

/// Longest line a couple writes with a recommendation.
const MAX_MESSAGE: usize = 500;
/// Most friends a couple recommends to in a day: word of mouth, not a mailing list (and
/// the emails go out in the couple's name, so a stranger cannot use them to spam).
const FRIENDS_PER_DAY: i64 = 20;

/// A couple recommends a supplier to friends: each friend gets their own couple → supplier
/// referral (tracked, attributed and rewarded like any other) and an email in the couple's
/// language with the couple's line and the link, sent in the background. The friends'
/// addresses are not kept (only their keyed hash, the email's unsubscribe token). A friend
/// who unsubscribed from Bouquet's emails is not emailed; their referral is still made, for
/// the couple to pass on (the couple is not told who unsubscribed). All friends are checked
/// before any referral is made.
pub async fn recommend_to_friends(
    store: &Arc<dyn Store>,
    settings: &Settings,
    unsubscribe: &email::UnsubscribeKey,
    caller: &Caller,
    req: RecommendToFriends,
    tr: &Tr,
) -> Result<RecommendedToFriends, ApiError> {
    couple_only(caller)?;
    // What is wrong is said in the couple's language: their page shows it as it is.
    let invalid = |message: String| ApiError::invalid("invalid_field", message);
    let mut friends: Vec<String> = Vec::new();
    for raw in req.friends.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
        let address = normalize_email(raw).ok_or_else(|| invalid(tr.t_arg("recommend-not-an-email", "address", raw)))?;
        if address == caller.account.email {
            return Err(invalid(tr.t("recommend-own-address")));
        }
        if !friends.contains(&address) {
            friends.push(address);
        }
    }
    if friends.is_empty() {
        return Err(invalid(tr.t("recommend-no-friend")));
    }
    if friends.len() > MAX_FRIENDS {
        return Err(invalid(tr.t_with("recommend-too-many", &[("max", MAX_FRIENDS.into())])));
    }
    let message = req.message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE) {
        return Err(invalid(tr.t_with("recommend-too-long", &[("max", MAX_MESSAGE.into())])));
    }
    let today = store.friends_recommended_since(caller.account.id, Utc::now() - Duration::days(1)).await?;
    if today + friends.len() as i64 > FRIENDS_PER_DAY {
        let left = (FRIENDS_PER_DAY - today).max(0);
        return Err(invalid(tr.t_with("recommend-daily-cap", &[("max", FRIENDS_PER_DAY.into()), ("left", left.into())])));
    }
    let supplier = store
        .account(req.supplier_id)
        .await?
        .filter(|a| a.kind == AccountKind::Supplier)
        .ok_or(ApiError::NotFound("no supplier has that id"))?;
    let supplier_name = supplier.business_name.clone().unwrap_or_else(|| tr.t("recommend-a-supplier"));
    let couple_name = caller.account.couple_names.clone().unwrap_or_else(|| caller.account.email.clone());
    let emailed = settings.email.relay.is_some();
    let mut referrals = Vec::with_capacity(friends.len());
    for friend in friends {
        let create = CreateReferral {
            referee_type: Some(AccountKind::Supplier),
            method: ReferralMethod::Email,
            utm_source: Some("bouquet".into()),
            utm_medium: Some("recommendation".into()),
            utm_campaign: Some("friends".into()),
            vendor_type: supplier.vendor_type,
            wedding_date: caller.account.wedding_date,
            location: supplier.location.clone(),
            message: message.clone(),
            ..Default::default()
        };
        let view = referrals::create(store, caller, create, settings.referral_lifetime, &settings.public_url).await?;
        let token = unsubscribe.token(&friend);
        store.record_friend_recommendation(view.id, caller.account.id, supplier.id, &token, Utc::now()).await?;
        if emailed && store.suppressed(&token).await? != Some(true) {
            let unsubscribe_url = format!("{}/api/v1/unsubscribe/{token}", settings.public_url);
            let mail = email::FriendRecommendation {
                couple: &couple_name,
                supplier: &supplier_name,
                message: message.as_deref(),
                link: &view.link,
                unsubscribe_url: &unsubscribe_url,
            };
            let composed = email::compose_friend_recommendation(tr, &friend, &mail, &settings.email.from);
            let settings = settings.email.clone();
            let referral = view.id;
            tokio::spawn(async move {
                let sent = match composed {
                    Ok(mail) => email::send_now(&settings, mail).await,
                    Err(e) => Err(e.0),
                };
                // Not the error itself: it may quote the friend's address, which is not kept.
                if sent.is_err() {
                    tracing::warn!(%referral, "a recommendation to a friend was not emailed");
                }
            });
        }
        referrals.push(view);
    }
    Ok(RecommendedToFriends { supplier_id: supplier.id, referrals, emailed })
}

/// Couples' recommendations of the calling supplier, newest first.
pub async fn received(store: &Arc<dyn Store>, caller: &Caller, limit: i64) -> Result<recommend::RecommendationsReceived, ApiError> {
    if caller.account.kind != AccountKind::Supplier {
        return Err(ApiError::Forbidden("couples recommend suppliers: this list is a supplier's"));
    }
    Ok(recommend::RecommendationsReceived { items: store.recommendations_received(caller.account.id, limit).await? })
}

/// The referral with this code, if it still works (not expired or ended).
async fn live(store: &Arc<dyn Store>, code: &str, public_url: &str) -> Result<Option<bouquet_core::api::ReferralView>, ApiError> {
    let now = Utc::now();
    Ok(store
        .referral_by_code(code)
        .await?
        .filter(|r| r.view.expires_at.is_none_or(|at| at > now))
        .map(|r| referrals::with_links(r.view, public_url)))
}

/// The platform's report of a supplier's reputation, checked and stored.
pub async fn set_reputation(store: &Arc<dyn Store>, supplier_id: Uuid, reputation: SupplierReputation) -> Result<(), ApiError> {
    if reputation.response_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(ApiError::invalid("invalid_field", "response_rate is a share from 0 to 1"));
    }
    if reputation.avg_rating.is_some_and(|r| !(0.0..=5.0).contains(&r)) {
        return Err(ApiError::invalid("invalid_field", "avg_rating is from 0 to 5 stars"));
    }
    if reputation.review_count < 0 || reputation.couples_served < 0 {
        return Err(ApiError::invalid("invalid_field", "review_count and couples_served cannot be negative"));
    }
    if !store.set_reputation(supplier_id, &reputation, Utc::now()).await? {
        return Err(ApiError::NotFound("no supplier has that id"));
    }
    Ok(())
}
