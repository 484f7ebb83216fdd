//! An account's export and deletion, and the platform's erasure of a user (docs/privacy.md).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bouquet_core::api::{DeleteAccount, ErrorBody};
use chrono::Utc;

use super::AppState;
use super::extract::{ApiJson, ApiPath, Device, Platform};
use crate::error::ApiError;
use crate::service::privacy;

/// Everything the server holds about the caller's account, as one JSON document (format
/// `bouquet-account-export/1`): the account, devices, the app's records, referrals, leads,
/// invitations, rewards, ledger and balances, tiers, notifications and preferences,
/// recommendations. Offered as a download.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts", security(("device_token" = [])),
    responses((status = 200, description = "the account's data", content_type = "application/json", body = Object),
              (status = 401, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>, Device(caller): Device) -> Result<impl IntoResponse, ApiError> {
    let document = privacy::export(&state.store, &caller, Utc::now()).await?;
    let disposition = format!("attachment; filename=\"bouquet-export-{}.json\"", Utc::now().format("%Y-%m-%d"));
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(document)))
}

/// Deletes the caller's account: its personal data goes everywhere (the app's records,
/// devices, notifications, leads and invitations; its referrals' messages; its codes stop
/// working), while its referrals, rewards and ledger stay as anonymous figures so the
/// books balance. Every device is signed out. Confirmed by typing the account's email.
#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts", request_body = DeleteAccount, security(("device_token" = [])),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
              (status = 422, description = "`confirmation_mismatch`: not the account's email", body = ErrorBody)))]
pub async fn delete_account(State(state): State<AppState>, Device(caller): Device, ApiJson(req): ApiJson<DeleteAccount>) -> Result<StatusCode, ApiError> {
    privacy::delete(&state.store, &caller, &req.confirm_email, Utc::now()).await?;
    // Its codes stop working now on this server (on others, within a second).
    state.recent_codes.forget_all();
    Ok(StatusCode::NO_CONTENT)
}

/// Erases a platform user (the platform's own deletion request): their email, their
/// visits' fingerprints, the leads they left, the stored copies of their events and their
/// fraud marks. Their conversions and the rewards they earned others stay as anonymous
/// figures. Idempotent: a user never seen, or already erased, is answered alike.
#[utoipa::path(delete, path = "/api/v1/platform/users/{id}", tag = "accounts", security(("platform_key" = [])),
    params(("id" = String, Path, description = "the platform's user id")),
    responses((status = 204, description = "erased (or never held)"), (status = 401, body = ErrorBody),
              (status = 422, description = "not a user id", body = ErrorBody)))]
pub async fn erase_platform_user(State(state): State<AppState>, _platform: Platform, ApiPath(user_id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    privacy::erase_platform_user(&state.store, &user_id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
