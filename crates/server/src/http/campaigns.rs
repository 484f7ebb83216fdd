//! Campaigns: the operators' `/api/v1/admin/campaigns…` and what applies to a supplier or
//! couple now, `/api/v1/campaigns/active`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bouquet_core::api::{ActiveCampaign, CampaignPage, CampaignView, CreateCampaign, ErrorBody, UpdateCampaign};
use chrono::Utc;
use uuid::Uuid;

use super::AppState;
use super::extract::{Admin, ApiJson, ApiPath, Device};
use crate::error::ApiError;
use crate::service::campaigns;

/// Creates a campaign (scheduled, active if it has started, or a draft).
#[utoipa::path(post, path = "/api/v1/admin/campaigns", tag = "admin", request_body = CreateCampaign, security(("device_token" = [])),
    responses((status = 201, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "same name and start", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, Admin(_admin): Admin, ApiJson(req): ApiJson<CreateCampaign>) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    Ok((StatusCode::CREATED, Json(campaigns::create(&state.store, req, Utc::now()).await?)))
}

/// Every campaign, newest start first, with spend, referrals and conversions.
#[utoipa::path(get, path = "/api/v1/admin/campaigns", tag = "admin", security(("device_token" = [])),
    responses((status = 200, body = CampaignPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Json<CampaignPage>, ApiError> {
    let rows = state.store.campaigns(500).await?;
    Ok(Json(CampaignPage { items: rows.iter().map(campaigns::view).collect() }))
}

/// One campaign: its spend, referrals and conversions against its targets.
#[utoipa::path(get, path = "/api/v1/admin/campaigns/{id}", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<Json<CampaignView>, ApiError> {
    let row = state.store.campaign(id).await?.ok_or(ApiError::NotFound("no such campaign"))?;
    Ok(Json(campaigns::view(&row)))
}

/// Edits a campaign, or schedules, pauses, resumes or ends it (`action`).
#[utoipa::path(patch, path = "/api/v1/admin/campaigns/{id}", tag = "admin", params(("id" = Uuid, Path)), request_body = UpdateCampaign,
    security(("device_token" = [])),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>, ApiJson(req): ApiJson<UpdateCampaign>) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(campaigns::update(&state.store, id, req, Utc::now()).await?))
}

/// The campaigns open to the caller now.
#[utoipa::path(get, path = "/api/v1/campaigns/active", tag = "campaigns", security(("device_token" = [])),
    responses((status = 200, body = [ActiveCampaign]), (status = 401, body = ErrorBody)))]
pub async fn active(State(state): State<AppState>, Device(caller): Device) -> Result<Json<Vec<ActiveCampaign>>, ApiError> {
    Ok(Json(campaigns::active_for(&state.store, &caller.account).await?))
}

/// Attaches an A/B test to a campaign: two or more variants with traffic weights.
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/experiments", tag = "admin", params(("id" = Uuid, Path)),
    request_body = bouquet_core::api::CreateExperiment, security(("device_token" = [])),
    responses((status = 201, body = bouquet_core::api::ExperimentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "one is already running", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_experiment(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<bouquet_core::api::CreateExperiment>,
) -> Result<(StatusCode, Json<bouquet_core::api::ExperimentView>), ApiError> {
    Ok((StatusCode::CREATED, Json(crate::service::experiments::create(&state.store, id, req, Utc::now()).await?)))
}

/// An experiment's results: per variant the conversion rate with its 95% interval, and
/// against the control the lift, z and p-value, with the verdict.
#[utoipa::path(get, path = "/api/v1/admin/experiments/{id}", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 200, body = bouquet_core::api::ExperimentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn experiment(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<Json<bouquet_core::api::ExperimentView>, ApiError> {
    Ok(Json(crate::service::experiments::results(&state.store, id).await?))
}

/// Makes the declared winner's values the campaign's (409 while there is no winner).
#[utoipa::path(post, path = "/api/v1/admin/experiments/{id}/apply", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 200, body = bouquet_core::api::ExperimentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "no winner yet", body = ErrorBody)))]
pub async fn apply_experiment(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<Json<bouquet_core::api::ExperimentView>, ApiError> {
    Ok(Json(crate::service::experiments::apply(&state.store, id, Utc::now()).await?))
}
