//! Growth analytics: a referrer's own (`/api/v1/me/analytics`) and the platform's, with
//! splits and the viral loop, for operators (`/api/v1/admin/analytics…`).

use axum::Json;
use axum::extract::State;
use bouquet_core::analytics::{AnalyticsReport, LoopReport};
use bouquet_core::api::ErrorBody;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
use super::extract::{Admin, ApiQuery, Device};
use crate::error::ApiError;
use crate::service::analytics::{self, RangeRequest};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsParams {
    /// `day`, `week` (default) or `month`; buckets are in UTC, weeks start on Monday.
    period: Option<String>,
    /// A date (`2026-03-01`, from its midnight UTC) or an RFC 3339 time; default 30 days,
    /// 12 weeks or 12 months back.
    from: Option<String>,
    /// A date (up to the end of that day) or an RFC 3339 time, exclusive; default now.
    to: Option<String>,
    /// Also give each group's figures: `referrer_kind`, `referee_kind` or `method`.
    split: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminAnalyticsParams {
    /// `day`, `week` (default) or `month`.
    period: Option<String>,
    /// A date or an RFC 3339 time (as for `/api/v1/me/analytics`).
    from: Option<String>,
    /// A date (up to the end of that day) or an RFC 3339 time, exclusive.
    to: Option<String>,
    /// `referrer_kind`, `referee_kind` or `method`.
    split: Option<String>,
    /// One referrer's figures instead of the platform's.
    account_id: Option<Uuid>,
}

impl AnalyticsParams {
    fn range(self) -> RangeRequest {
        RangeRequest { period: self.period, from: self.from, to: self.to, split: self.split }
    }
}

async fn report(state: &AppState, referrer: Option<Uuid>, range: RangeRequest) -> Result<AnalyticsReport, ApiError> {
    let now = Utc::now();
    let range = range.resolve(now)?;
    analytics::report(&state.store, referrer, &range, &state.settings.funnel_benchmarks, &state.settings.reporting_currency, now).await
}

/// The caller's own figures by period, their funnel with its bottleneck, their loop and
/// money, for the referrals they made in the range.
#[utoipa::path(get, path = "/api/v1/me/analytics", tag = "analytics", params(AnalyticsParams), security(("device_token" = [])),
    responses((status = 200, body = AnalyticsReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn mine(State(state): State<AppState>, Device(caller): Device, ApiQuery(params): ApiQuery<AnalyticsParams>) -> Result<Json<AnalyticsReport>, ApiError> {
    Ok(Json(report(&state, Some(caller.account.id), params.range()).await?))
}

/// The platform's figures (or one referrer's, with `account_id`), with splits.
#[utoipa::path(get, path = "/api/v1/admin/analytics", tag = "analytics", params(AdminAnalyticsParams), security(("device_token" = [])),
    responses((status = 200, body = AnalyticsReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn platform(State(state): State<AppState>, Admin(_admin): Admin, ApiQuery(params): ApiQuery<AdminAnalyticsParams>) -> Result<Json<AnalyticsReport>, ApiError> {
    if let Some(id) = params.account_id {
        state.store.account(id).await?.ok_or_else(|| ApiError::NotFound("no such account"))?;
    }
    let range = RangeRequest { period: params.period, from: params.from, to: params.to, split: params.split };
    Ok(Json(report(&state, params.account_id, range).await?))
}

/// The platform's two-sided viral loop: each direction's invitations per active referrer,
/// conversion per invitation and K, the full supplier → couple → supplier loop, its cycle
/// time and doubling time.
#[utoipa::path(get, path = "/api/v1/admin/analytics/loop", tag = "analytics", params(AnalyticsParams), security(("device_token" = [])),
    responses((status = 200, body = LoopReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn viral_loop(State(state): State<AppState>, Admin(_admin): Admin, ApiQuery(params): ApiQuery<AnalyticsParams>) -> Result<Json<LoopReport>, ApiError> {
    Ok(Json(report(&state, None, params.range()).await?.into()))
}
