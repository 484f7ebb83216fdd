//! Notifications over HTTP (docs/notifications.md): the caller's newest notifications
//! (the app fetches them each sync round) and their choice of which kinds to email.

use axum::Json;
use axum::extract::State;
use bouquet_core::api::ErrorBody;
use bouquet_core::notifications::{NotificationPreference, NotificationView};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Device};
use crate::error::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    /// How many, newest first: 1–200 (default 50).
    limit: Option<i64>,
}

/// The caller's newest notifications: reward earned, reward eligible, tier reached,
/// referral held for review and the decision, campaign started — in the account's chosen
/// language, else the request's `Accept-Language`, else English.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "accounts", params(NotificationParams), security(("device_token" = [])),
    responses((status = 200, body = [NotificationView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Device(caller): Device,
    headers: axum::http::HeaderMap,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest { code: "invalid_query", message: "limit must be between 1 and 200".into() });
    }
    let tr = crate::i18n::Tr::for_request(caller.account.locale.as_deref(), &headers);
    let stored = state.store.notifications_of(caller.account.id, limit).await?;
    Ok(Json(stored.into_iter().map(|n| crate::service::notices::shown(&tr, n)).collect()))
}

/// Which kinds the caller gets by email (every kind, in a fixed order).
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "accounts", security(("device_token" = [])),
    responses((status = 200, body = [NotificationPreference]), (status = 401, body = ErrorBody)))]
pub async fn preferences(State(state): State<AppState>, Device(caller): Device) -> Result<Json<Vec<NotificationPreference>>, ApiError> {
    Ok(Json(state.store.notification_preferences(caller.account.id).await?))
}

/// Sets the caller's choices (the kinds listed; the others keep theirs) and answers every
/// kind's choice.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "accounts", request_body = [NotificationPreference], security(("device_token" = [])),
    responses((status = 200, body = [NotificationPreference]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    Device(caller): Device,
    ApiJson(choices): ApiJson<Vec<NotificationPreference>>,
) -> Result<Json<Vec<NotificationPreference>>, ApiError> {
    if choices.len() > bouquet_core::notifications::NotificationKind::ALL.len() * 4 {
        return Err(ApiError::invalid("invalid_field", "too many choices in one request"));
    }
    state.store.set_notification_preferences(caller.account.id, &choices, Utc::now()).await?;
    Ok(Json(state.store.notification_preferences(caller.account.id).await?))
}
