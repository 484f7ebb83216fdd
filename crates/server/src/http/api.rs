//! `/api/v1` handlers and `/healthz`: parse, call the service, answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bouquet_core::api::{
    AccountView, CreateReferral, CreateSession, ErrorBody, EventOutcome, Health, PlatformEvent, ReferralPage, ReferralView,
    RegisterAccount, SessionView, SetLocale, StatsView,
};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::landing::ClientIp;
use super::extract::{ApiJson, ApiQuery, Device, Platform};
use crate::error::ApiError;
use crate::service::{accounts, events, referrals, stats, sync};
use bouquet_core::sync::{CodeStatus, PullPage, PushRequest, PushResponse, SyncState};

/// Registers a supplier or couple account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = RegisterAccount,
    responses((status = 201, body = AccountView), (status = 409, description = "email taken", body = ErrorBody),
              (status = 403, description = "`kind: admin`: operators are made with `bouquet-server admin create`", body = ErrorBody),
              (status = 422, description = "invalid field", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    Ok((StatusCode::CREATED, Json(accounts::register(&state.store, req).await?)))
}

/// Signs a device in: returns its bearer token and code namespace.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = CreateSession,
    responses((status = 201, body = SessionView), (status = 401, description = "wrong email or password", body = ErrorBody),
              (status = 429, description = "too many attempts: `rate_limited` (this address) or `account_locked` (wrong passwords for this email from here); see Retry-After", body = ErrorBody)))]
pub async fn log_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    let session = accounts::log_in(&state.store, req, &accounts::AttemptFrom { secret: &state.ip_secret, client: ip }).await?;
    super::extract::note_account_seen(&state, session.account.id).await;
    // The referrer's own network: fraud rules compare referees with it.
    if let Some(ip) = ip {
        let mark = format!("ip:{}", crate::service::visitors::hash_ip(&state.ip_secret, ip));
        if let Err(e) = state.store.record_account_mark(session.account.id, &mark, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "could not record an account's network");
        }
    }
    Ok((StatusCode::CREATED, Json(session)))
}

/// Creates a referral, with a code made offline by the device or a new one.
#[utoipa::path(post, path = "/api/v1/referrals", tag = "referrals", request_body = CreateReferral,
    security(("device_token" = [])),
    responses((status = 201, body = ReferralView), (status = 401, body = ErrorBody),
              (status = 409, description = "code taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_referral(
    State(state): State<AppState>,
    Device(caller): Device,
    ApiJson(req): ApiJson<CreateReferral>,
) -> Result<(StatusCode, Json<ReferralView>), ApiError> {
    let s = &state.settings;
    let view = referrals::create(&state.store, &caller, req, s.referral_lifetime, &s.public_url).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next_after` of the previous page.
    after: Option<String>,
}

/// The supplier's network: suppliers who joined the platform through their supplier →
/// supplier invitations (newest first, with the code, when they first paid and on which
/// plan), and who joined through each of them.
#[utoipa::path(get, path = "/api/v1/me/network", tag = "referrals", security(("device_token" = [])),
    responses((status = 200, body = bouquet_core::network::Network), (status = 401, body = ErrorBody),
              (status = 403, description = "not a supplier's account", body = ErrorBody)))]
pub async fn network(State(state): State<AppState>, Device(caller): Device) -> Result<Json<bouquet_core::network::Network>, ApiError> {
    Ok(Json(referrals::network(&state.store, &caller).await?))
}

/// The caller's referrals, newest first.
#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals", params(ListParams),
    security(("device_token" = [])),
    responses((status = 200, body = ReferralPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_referrals(
    State(state): State<AppState>,
    Device(caller): Device,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ReferralPage>, ApiError> {
    let page = referrals::list(&state.store, &caller, params.after.as_deref(), params.limit, &state.settings.public_url).await?;
    Ok(Json(page))
}

/// Takes an event from the platform (idempotent by `idempotency_key`).
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = PlatformEvent,
    security(("platform_key" = [])),
    responses((status = 200, description = "recorded, or a replay of an earlier event", body = EventOutcome),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_event(
    State(state): State<AppState>,
    _platform: Platform,
    ApiJson(event): ApiJson<PlatformEvent>,
) -> Result<Json<EventOutcome>, ApiError> {
    let kind = event.event_type.as_str();
    let rules = events::EventRules {
        attribution: &state.settings.attribution,
        rewards: &state.settings.rewards,
        fraud: &state.fraud,
        ip_secret: &state.ip_secret,
    };
    let outcome = events::apply(&state.store, &rules, event).await?;
    state.metrics.event(kind, &outcome);
    Ok(Json(outcome))
}

/// Sets the language of the caller's pages and emails (couples: the couple page, the
/// landing pages they open signed in, notification and sign-in emails); `null` follows the
/// browser's `Accept-Language`.
#[utoipa::path(put, path = "/api/v1/me/locale", tag = "accounts", request_body = SetLocale, security(("device_token" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody),
              (status = 422, description = "not a language tag", body = ErrorBody)))]
pub async fn set_locale(State(state): State<AppState>, Device(caller): Device, ApiJson(req): ApiJson<SetLocale>) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(accounts::set_locale(&state.store, &caller.account, req.locale).await?))
}

/// The caller's referral statistics.
#[utoipa::path(get, path = "/api/v1/me/stats", tag = "referrals", security(("device_token" = [])),
    responses((status = 200, body = StatsView), (status = 401, body = ErrorBody)))]
pub async fn my_stats(State(state): State<AppState>, Device(caller): Device) -> Result<Json<StatsView>, ApiError> {
    Ok(Json(stats::for_account(&state.store, caller.account.id, Utc::now()).await?))
}

/// Applies the device's next changes, exactly once (see docs/sync.md).
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync", request_body = PushRequest, security(("device_token" = [])),
    responses((status = 200, body = PushResponse), (status = 401, body = ErrorBody),
              (status = 409, description = "`push_gap`: changes are missing before these; or a code is taken", body = ErrorBody),
              (status = 422, description = "a change or the schema version is refused; nothing was applied", body = ErrorBody)))]
pub async fn sync_push(
    State(state): State<AppState>,
    Device(caller): Device,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    let pushed = sync::push(&state.store, &caller, req, state.settings.referral_lifetime).await?;
    // A code made or changed on a device shows as it now is on this server at once.
    state.recent_codes.forget_all();
    Ok(Json(pushed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullParams {
    /// The `next_after` of the previous page (0 to start).
    #[serde(default)]
    after: i64,
    /// The epoch of the previous page; a different one means start again.
    epoch: Option<String>,
    /// Page size, 1–1000 (default 500).
    limit: Option<i64>,
    /// The sync version the app speaks; records of kinds newer than it are left out (an
    /// app that sends none is taken to speak version 2).
    schema_version: Option<u32>,
}

/// The account's records changed after `after`, oldest change first.
#[utoipa::path(get, path = "/api/v1/sync/pull", tag = "sync", params(PullParams), security(("device_token" = [])),
    responses((status = 200, body = PullPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn sync_pull(
    State(state): State<AppState>,
    Device(caller): Device,
    ApiQuery(params): ApiQuery<PullParams>,
) -> Result<Json<PullPage>, ApiError> {
    let page = sync::pull(&state.store, &caller, params.after, params.epoch.as_deref(), params.limit, params.schema_version, &state.sync_epoch).await?;
    Ok(Json(page))
}

/// Where this device's pushes and its account's changes stand.
#[utoipa::path(get, path = "/api/v1/sync/state", tag = "sync", security(("device_token" = [])),
    responses((status = 200, body = SyncState), (status = 401, body = ErrorBody)))]
pub async fn sync_state(State(state): State<AppState>, Device(caller): Device) -> Result<Json<SyncState>, ApiError> {
    Ok(Json(sync::state(&state.store, &caller, &state.sync_epoch).await?))
}

/// The live state of the caller's codes that have any activity (clicks, leads,
/// sign-ups, conversions, fraud hold) or have expired.
#[utoipa::path(get, path = "/api/v1/sync/codes", tag = "sync", security(("device_token" = [])),
    responses((status = 200, body = Vec<CodeStatus>), (status = 401, body = ErrorBody)))]
pub async fn code_statuses(State(state): State<AppState>, Device(caller): Device) -> Result<Json<Vec<CodeStatus>>, ApiError> {
    Ok(Json(sync::code_statuses(&state.store, &caller).await?))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(ApiError::Unavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: state.store.backend().into(),
    }))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint; see /api/openapi.json")
}
