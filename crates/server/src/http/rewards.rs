//! Rewards, balances, the ledger, tiers and leaderboards: `/api/v1/me/…`,
//! `/api/v1/leaderboards`, `/api/v1/platform/users/{id}/rewards` and the admin ledger.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bouquet_core::AccountKind;
use bouquet_core::api::{
    BalanceView, ErrorBody, Leaderboard, LedgerAdjustment, LedgerEntryView, LedgerPage, PlatformUserRewards, RewardView, RewardsPage,
    TierView,
};
use bouquet_core::leaderboard::LeaderboardPeriod;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::extract::{Admin, ApiJson, ApiPath, ApiQuery, Device, Platform};
use crate::error::ApiError;
use crate::service::rewards;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size, 1–200 (default 50).
    pub(super) limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub(super) cursor: Option<String>,
}

pub(super) fn page(params: &PageParams) -> Result<(Option<(DateTime<Utc>, Uuid)>, i64), ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest { code: "invalid_query", message: "limit must be between 1 and 200".into() });
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    Ok((after, limit))
}

fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest { code: "invalid_cursor", message: "cursor is not one this server gave out".into() };
    let (at, id) = raw.split_once('_').ok_or_else(bad)?;
    let micros: i64 = at.parse().map_err(|_| bad())?;
    Ok((DateTime::from_timestamp_micros(micros).ok_or_else(bad)?, Uuid::parse_str(id).map_err(|_| bad())?))
}

pub(super) fn encode_cursor((at, id): (DateTime<Utc>, Uuid)) -> String {
    format!("{}_{}", at.timestamp_micros(), id.simple())
}

/// The caller's rewards, newest first: what each is for, its amount and status.
#[utoipa::path(get, path = "/api/v1/me/rewards", tag = "rewards", params(PageParams), security(("device_token" = [])),
    responses((status = 200, body = RewardsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn my_rewards(State(state): State<AppState>, Device(caller): Device, ApiQuery(params): ApiQuery<PageParams>) -> Result<Json<RewardsPage>, ApiError> {
    let (after, limit) = page(&params)?;
    let rows = state.store.rewards_of(caller.account.id, after, limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|r| encode_cursor((r.created_at, r.id)))).flatten();
    Ok(Json(RewardsPage { items: rows.iter().map(rewards::view).collect(), next_cursor }))
}

/// The caller's credit balances: pending, available, claimed, held and lifetime.
#[utoipa::path(get, path = "/api/v1/me/balance", tag = "rewards", security(("device_token" = [])),
    responses((status = 200, body = BalanceView), (status = 401, body = ErrorBody)))]
pub async fn my_balance(State(state): State<AppState>, Device(caller): Device) -> Result<Json<BalanceView>, ApiError> {
    Ok(Json(rewards::balance(&state.store, caller.account.id).await?))
}

/// The caller's ledger entries, newest first.
#[utoipa::path(get, path = "/api/v1/me/ledger", tag = "rewards", params(PageParams), security(("device_token" = [])),
    responses((status = 200, body = LedgerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn my_ledger(State(state): State<AppState>, Device(caller): Device, ApiQuery(params): ApiQuery<PageParams>) -> Result<Json<LedgerPage>, ApiError> {
    let (after, limit) = page(&params)?;
    let (items, next) = rewards::ledger_entries(&state.store, caller.account.id, after, limit).await?;
    Ok(Json(LedgerPage { items, next_cursor: next.map(encode_cursor) }))
}

/// Claims an eligible reward of the caller's.
#[utoipa::path(post, path = "/api/v1/me/rewards/{id}/claim", tag = "rewards", security(("device_token" = [])),
    params(("id" = Uuid, Path, description = "the reward")),
    responses((status = 200, body = RewardView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "not eligible (pending, claimed, voided…)", body = ErrorBody)))]
pub async fn claim_reward(State(state): State<AppState>, Device(caller): Device, ApiPath(id): ApiPath<Uuid>) -> Result<Json<RewardView>, ApiError> {
    Ok(Json(rewards::claim(&state.store, caller.account.id, id, Utc::now()).await?))
}

/// The caller's tier, successful referrals, the next tier and the perks reached.
#[utoipa::path(get, path = "/api/v1/me/tier", tag = "rewards", security(("device_token" = [])),
    responses((status = 200, body = TierView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn my_tier(State(state): State<AppState>, Device(caller): Device) -> Result<Json<TierView>, ApiError> {
    if caller.account.kind == AccountKind::Admin {
        return Err(ApiError::invalid("no_tiers", "admin accounts have no tier"));
    }
    Ok(Json(rewards::tier(&state.store, caller.account.id, caller.account.kind).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardVisibility {
    /// `false` shows the account as "A Bouquet supplier" / "A Bouquet couple".
    pub show_name: bool,
}

/// Whether the caller's name is shown on leaderboards.
#[utoipa::path(put, path = "/api/v1/me/leaderboard-visibility", tag = "rewards", request_body = LeaderboardVisibility,
    security(("device_token" = [])), responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_visibility(State(state): State<AppState>, Device(caller): Device, ApiJson(req): ApiJson<LeaderboardVisibility>) -> Result<StatusCode, ApiError> {
    state.store.set_show_on_leaderboards(caller.account.id, req.show_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardParams {
    /// `supplier` or `couple`.
    #[param(example = "supplier")]
    kind: String,
    /// `week` (the last 7 days), `month` (the last 30 days) or `all` (default).
    period: Option<String>,
}

/// A leaderboard of suppliers or couples by successful referrals, with the caller's place.
#[utoipa::path(get, path = "/api/v1/leaderboards", tag = "rewards", params(LeaderboardParams), security(("device_token" = [])),
    responses((status = 200, body = Leaderboard), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn leaderboards(State(state): State<AppState>, Device(caller): Device, ApiQuery(params): ApiQuery<LeaderboardParams>) -> Result<Json<Leaderboard>, ApiError> {
    let bad = |m: &str| ApiError::BadRequest { code: "invalid_query", message: m.into() };
    let kind = match AccountKind::parse(&params.kind) {
        Some(k @ (AccountKind::Supplier | AccountKind::Couple)) => k,
        _ => return Err(bad("kind must be supplier or couple")),
    };
    let period = match params.period.as_deref() {
        None => LeaderboardPeriod::All,
        Some(p) => LeaderboardPeriod::parse(p).ok_or_else(|| bad("period must be week, month or all"))?,
    };
    let caller = Some((caller.account.id, caller.account.kind));
    Ok(Json(rewards::leaderboard(&state.store, kind, period, caller, &state.settings.reporting_currency, Utc::now()).await?))
}

/// The rewards a platform user is owed or had: their referee incentives (and, when they
/// are also a referrer on the platform, nothing else: accounts see theirs in `/me`).
#[utoipa::path(get, path = "/api/v1/platform/users/{id}/rewards", tag = "rewards", security(("platform_key" = [])),
    params(("id" = String, Path, description = "the platform's user id")),
    responses((status = 200, body = PlatformUserRewards), (status = 401, body = ErrorBody)))]
pub async fn platform_user_rewards(State(state): State<AppState>, _platform: Platform, ApiPath(user_id): ApiPath<String>) -> Result<Json<PlatformUserRewards>, ApiError> {
    let holder = rewards::platform_holder(user_id.trim());
    let rows = state.store.rewards_of(holder, None, 200).await?;
    Ok(Json(PlatformUserRewards { user_id, items: rows.iter().map(rewards::view).collect() }))
}

/// An admin's correction of an account's available credits (a reason is required).
#[utoipa::path(post, path = "/api/v1/admin/ledger/adjustments", tag = "admin", request_body = LedgerAdjustment,
    security(("device_token" = [])),
    responses((status = 201, description = "the two entries posted to the account", body = [LedgerEntryView]),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn adjust(State(state): State<AppState>, Admin(admin): Admin, ApiJson(req): ApiJson<LedgerAdjustment>) -> Result<(StatusCode, Json<Vec<LedgerEntryView>>), ApiError> {
    Ok((StatusCode::CREATED, Json(rewards::adjust(&state.store, admin.account.id, req, Utc::now()).await?)))
}

/// One account's ledger, for operators.
#[utoipa::path(get, path = "/api/v1/admin/accounts/{id}/ledger", tag = "admin", params(("id" = Uuid, Path), PageParams),
    security(("device_token" = [])),
    responses((status = 200, body = LedgerPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn account_ledger(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>, ApiQuery(params): ApiQuery<PageParams>) -> Result<Json<LedgerPage>, ApiError> {
    state.store.account(id).await?.ok_or(ApiError::NotFound("no such account"))?;
    let (after, limit) = page(&params)?;
    let (items, next) = rewards::ledger_entries(&state.store, id, after, limit).await?;
    Ok(Json(LedgerPage { items, next_cursor: next.map(encode_cursor) }))
}
