//! Couple → supplier recommendations: a couple's suggestions and acting on one, and the
//! platform's reports of suppliers' reputation (docs/metrics.md, "Recommendations").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bouquet_core::api::ErrorBody;
use bouquet_core::recommend::{ActOnRecommendation, ActedOnRecommendation, RecommendationList, SupplierReputation};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Device, Platform};
use crate::error::ApiError;
use crate::service::recommendations::{self, RecommendationQuery};

/// Up to five active suppliers of a trade for the signed-in couple, best first, each with
/// its score by the seed's four groups and a reason in words.
#[utoipa::path(get, path = "/api/v1/recommendations", tag = "recommendations", params(RecommendationQuery),
    security(("device_token" = [])),
    responses((status = 200, body = RecommendationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "not a couple's account", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Device(caller): Device, ApiQuery(query): ApiQuery<RecommendationQuery>) -> Result<Json<RecommendationList>, ApiError> {
    Ok(Json(recommendations::recommend(&state.store, &caller, query).await?))
}

/// Acts on a recommendation: invites the supplier (an email referral) or makes a link to
/// share them with a friend. Either is a couple → supplier referral, tracked, attributed
/// and rewarded like any other; the same act again returns the same referral.
#[utoipa::path(post, path = "/api/v1/recommendations/act", tag = "recommendations", request_body = ActOnRecommendation,
    security(("device_token" = [])),
    responses((status = 201, body = ActedOnRecommendation), (status = 401, body = ErrorBody),
              (status = 403, description = "not a couple's account", body = ErrorBody),
              (status = 404, description = "no such supplier", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(State(state): State<AppState>, Device(caller): Device, ApiJson(req): ApiJson<ActOnRecommendation>) -> Result<(StatusCode, Json<ActedOnRecommendation>), ApiError> {
    let s = &state.settings;
    let acted = recommendations::act(&state.store, &caller, req, s.referral_lifetime, &s.public_url).await?;
    Ok((StatusCode::CREATED, Json(acted)))
}

/// The platform reports what it knows of a supplier's reputation (reviews live on the
/// platform); it replaces the last report.
#[utoipa::path(put, path = "/api/v1/platform/suppliers/{id}/reputation", tag = "recommendations", request_body = SupplierReputation,
    params(("id" = Uuid, Path, description = "The supplier's account id")), security(("platform_key" = [])),
    responses((status = 204, description = "stored"), (status = 401, body = ErrorBody),
              (status = 404, description = "no such supplier", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_reputation(
    State(state): State<AppState>,
    _platform: Platform,
    Path(id): Path<Uuid>,
    ApiJson(reputation): ApiJson<SupplierReputation>,
) -> Result<StatusCode, ApiError> {
    recommendations::set_reputation(&state.store, id, reputation).await?;
    Ok(StatusCode::NO_CONTENT)
}
