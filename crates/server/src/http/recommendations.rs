//! Couple → supplier recommendations: a couple's suggestions and acting on one, and the
//! platform's reports of suppliers' reputation (docs/metrics.md, "Recommendations").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bouquet_core::api::ErrorBody;
use axum::http::HeaderMap;
use bouquet_core::recommend::{
    ActOnRecommendation, ActedOnRecommendation, RecommendToFriends, RecommendationList, RecommendationsReceived, RecommendedToFriends,
    SupplierReputation,
};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Device, Platform};
use crate::error::ApiError;
use crate::i18n::Tr;
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

/// Recommends a supplier to friends: each friend gets their own couple → supplier
/// referral and an email with the couple's line and the link (in the language of the
/// request's `Accept-Language`). The friends' addresses are not kept.
#[utoipa::path(post, path = "/api/v1/recommendations/friends", tag = "recommendations", request_body = RecommendToFriends,
    security(("device_token" = [])),
    responses((status = 201, body = RecommendedToFriends), (status = 401, body = ErrorBody),
              (status = 403, description = "not a couple's account", body = ErrorBody),
              (status = 404, description = "no such supplier", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn to_friends(
    State(state): State<AppState>,
    Device(caller): Device,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RecommendToFriends>,
) -> Result<(StatusCode, Json<RecommendedToFriends>), ApiError> {
    let tr = Tr::for_request(caller.account.locale.as_deref(), &headers);
    let sent = recommendations::recommend_to_friends(&state.store, &state.settings, &state.unsubscribe_key, &caller, req, &tr).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// Most recommendations the supplier's list holds.
const RECEIVED_KEPT: i64 = 100;

/// Couples' recommendations of the signed-in supplier, newest first (at most 100), each
/// with how far it got: sent, opened, signed up, booked.
#[utoipa::path(get, path = "/api/v1/me/recommended-by", tag = "recommendations", security(("device_token" = [])),
    responses((status = 200, body = RecommendationsReceived), (status = 401, body = ErrorBody),
              (status = 403, description = "not a supplier's account", body = ErrorBody)))]
pub async fn received(State(state): State<AppState>, Device(caller): Device) -> Result<Json<RecommendationsReceived>, ApiError> {
    Ok(Json(recommendations::received(&state.store, &caller, RECEIVED_KEPT).await?))
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
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(reputation): ApiJson<SupplierReputation>,
) -> Result<StatusCode, ApiError> {
    recommendations::set_reputation(&state.store, id, reputation).await?;
    Ok(StatusCode::NO_CONTENT)
}
