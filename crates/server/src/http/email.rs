//! Invitation email over HTTP (docs/email.md): the delivery of each queued invitation for
//! the supplier's devices, and one-click unsubscribe (RFC 8058) — a `POST` from the mail
//! client, or the page the email's visible link opens, which asks before acting (mail
//! scanners open links; only a `POST` unsubscribes). No sign-in, no JavaScript.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bouquet_core::api::ErrorBody;
use bouquet_core::delivery::DeliveryReport;
use chrono::Utc;

use super::AppState;
use super::extract::Device;
use crate::error::ApiError;
use crate::service::email::UnsubscribeKey;

/// How the server is sending the caller's queued invitations: each one's status (queued,
/// sending, sent, failed with the reason, opened, joined, expired), the pacing, and
/// whether a mail relay is configured at all.
#[utoipa::path(get, path = "/api/v1/sync/invitations", tag = "sync", security(("device_token" = [])),
    responses((status = 200, body = DeliveryReport), (status = 401, body = ErrorBody)))]
pub async fn deliveries(State(state): State<AppState>, Device(caller): Device) -> Result<Json<DeliveryReport>, ApiError> {
    let email = &state.settings.email;
    Ok(Json(DeliveryReport {
        relay_configured: email.relay.is_some(),
        pacing: email.pacing,
        invitations: state.store.invitation_deliveries(caller.account.id, Utc::now()).await?,
    }))
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    heading: &'a str,
    body: &'a str,
    show_button: bool,
    token: &'a str,
}

fn page(status: StatusCode, heading: &str, body: &str, show_button: bool, token: &str) -> Response {
    match (UnsubscribePage { heading, body, show_button, token }).render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

fn unknown() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "We could not find an invitation sent with this unsubscribe link. Please use the link from the email itself.",
        false,
        "",
    )
}

/// The page an email's visible unsubscribe link opens: it asks, and a button unsubscribes.
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "email",
    params(("token" = String, Path, description = "The token from the email's unsubscribe link")),
    responses((status = 200, description = "An HTML page asking to confirm", content_type = "text/html"),
        (status = 404, description = "No email went out with this token", content_type = "text/html")))]
pub async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    if !UnsubscribeKey::well_formed(&token) {
        return Ok(unknown());
    }
    Ok(match state.store.suppressed(&token).await? {
        None => unknown(),
        Some(true) => page(StatusCode::OK, "You are unsubscribed", "No supplier's invitation will reach you through Bouquet again.", false, ""),
        Some(false) => page(
            StatusCode::OK,
            "Unsubscribe from invitations?",
            "You will receive no more invitations from any supplier through Bouquet.",
            true,
            &token,
        ),
    })
}

/// One-click unsubscribe (RFC 8058: the mail client posts `List-Unsubscribe=One-Click`),
/// or the confirmation page's button. The address goes on the suppression list every
/// supplier's invitations respect. Doing it twice is harmless.
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "email",
    params(("token" = String, Path, description = "The token from the email's List-Unsubscribe header")),
    responses((status = 200, description = "Unsubscribed (an HTML page)", content_type = "text/html"),
        (status = 404, description = "No email went out with this token", content_type = "text/html")))]
pub async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    if !UnsubscribeKey::well_formed(&token) || !state.store.suppress(&token, Utc::now()).await? {
        return Ok(unknown());
    }
    tracing::info!("an address unsubscribed from invitations");
    Ok(page(StatusCode::OK, "You are unsubscribed", "No supplier's invitation will reach you through Bouquet again.", false, ""))
}
