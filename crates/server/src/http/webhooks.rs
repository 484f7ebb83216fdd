//! The admin API of outgoing webhooks (docs/webhooks.md): subscriptions and their
//! delivery log. Operators only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bouquet_core::api::ErrorBody;
use bouquet_core::webhooks::{CreateWebhook, DeliveryView, WebhookView};
use chrono::Utc;
use uuid::Uuid;

use super::AppState;
use super::extract::{Admin, ApiJson, ApiPath};
use crate::error::ApiError;
use crate::service::webhooks;

/// Subscribes a receiver to event types. The answer carries the signing secret, shown
/// this once.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin", request_body = CreateWebhook, security(("device_token" = [])),
    responses((status = 201, body = WebhookView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, Admin(_admin): Admin, ApiJson(req): ApiJson<CreateWebhook>) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    Ok((StatusCode::CREATED, Json(webhooks::create(&state.store, req).await?)))
}

/// The subscriptions, newest first, without their secrets; a disabled one says when and why.
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin", security(("device_token" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(state.store.webhooks().await?))
}

/// Deletes a subscription: nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, ApiError> {
    if state.store.delete_webhook(id, Utc::now()).await? { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound("no such webhook subscription")) }
}

/// A subscription's newest 100 deliveries, each with its attempts (time, status code,
/// error, duration).
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "admin", params(("id" = Uuid, Path)), security(("device_token" = [])),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn deliveries(State(state): State<AppState>, Admin(_admin): Admin, ApiPath(id): ApiPath<Uuid>) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    Ok(Json(webhooks::deliveries(&state.store, id).await?))
}
