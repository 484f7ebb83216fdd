//! The operators' fraud API: the review queue, decisions, and a platform user's
//! assessments. Every path needs an operator (admin) account.

use axum::Json;
use axum::extract::State;
use bouquet_core::api::{ErrorBody, FraudAssessmentPage, ReviewCase, ReviewDecision, ReviewPage};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
use super::extract::{Admin, ApiJson, ApiPath, ApiQuery};
use super::rewards::{PageParams, encode_cursor, page};
use crate::error::ApiError;
use crate::service::fraud;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewParams {
    /// `pending` (default) or `decided`.
    status: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The review queue, newest first: pending cases, or decided ones, each with the
/// assessment it stands on.
#[utoipa::path(get, path = "/api/v1/admin/fraud/reviews", tag = "admin", params(ReviewParams), security(("device_token" = [])),
    responses((status = 200, body = ReviewPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reviews(State(state): State<AppState>, Admin(_admin): Admin, ApiQuery(params): ApiQuery<ReviewParams>) -> Result<Json<ReviewPage>, ApiError> {
    let pending = match params.status.as_deref().unwrap_or("pending") {
        "pending" => true,
        "decided" => false,
        other => return Err(ApiError::BadRequest { code: "invalid_query", message: format!("status must be pending or decided, not '{other}'") }),
    };
    let (after, limit) = page(&PageParams { limit: params.limit, cursor: params.cursor })?;
    let rows = state.store.fraud_reviews(pending, after, limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|(r, _)| encode_cursor((r.opened_at, r.id)))).flatten();
    Ok(Json(ReviewPage { items: rows.iter().map(|(case, a)| fraud::case_summary(case, a)).collect(), next_cursor }))
}

/// One case with its evidence: the referrer's other referees around this one, their
/// emails as compared, the IP-hash cluster sizes and sign-up times.
#[utoipa::path(get, path = "/api/v1/admin/fraud/reviews/{id}", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 200, body = ReviewCase), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<Json<ReviewCase>, ApiError> {
    Ok(Json(fraud::case_view(&state.store, id).await?))
}

/// Decides a pending case: `approve` releases the referee's held rewards (eligible at
/// once if their holding period has passed), `reject` voids them through the ledger.
#[utoipa::path(post, path = "/api/v1/admin/fraud/reviews/{id}/decision", tag = "admin", params(("id" = Uuid, Path)),
    request_body = ReviewDecision, security(("device_token" = [])),
    responses((status = 200, body = ReviewCase), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "already decided", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide(State(state): State<AppState>, Admin(admin): Admin, ApiPath(id): ApiPath<Uuid>, ApiJson(req): ApiJson<ReviewDecision>) -> Result<Json<ReviewCase>, ApiError> {
    Ok(Json(fraud::decide(&state.store, admin.account.id, id, &req, Utc::now()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssessmentParams {
    /// The platform's id of the user.
    user_id: String,
}

/// A platform user's assessments, newest first (the first is the current one).
#[utoipa::path(get, path = "/api/v1/admin/fraud/assessments", tag = "admin", params(AssessmentParams), security(("device_token" = [])),
    responses((status = 200, body = FraudAssessmentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn assessments(State(state): State<AppState>, Admin(_admin): Admin, ApiQuery(params): ApiQuery<AssessmentParams>) -> Result<Json<FraudAssessmentPage>, ApiError> {
    let user = params.user_id.trim();
    if user.is_empty() || user.len() > 200 {
        return Err(ApiError::BadRequest { code: "invalid_query", message: "user_id must have 1 to 200 characters".into() });
    }
    let rows = state.store.fraud_assessments_of(user, 200).await?;
    Ok(Json(FraudAssessmentPage { items: rows.iter().map(fraud::assessment_view).collect() }))
}
