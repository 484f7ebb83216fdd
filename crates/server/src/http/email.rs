//! Invitation email over HTTP (docs/email.md): the delivery of each queued invitation for
//! the supplier's devices, and one-click unsubscribe (RFC 8058) — a `POST` from the mail
//! client, or the page the email's visible link opens, which asks before acting (mail
//! scanners open links; only a `POST` unsubscribes). No sign-in, no JavaScript.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bouquet_core::api::ErrorBody;
use bouquet_core::delivery::DeliveryReport;
use chrono::Utc;

use super::AppState;
use super::extract::ApiPath;
use super::extract::Device;
use crate::error::ApiError;
use crate::i18n::Tr;
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
    tr: Tr,
    heading: String,
    body: String,
    show_button: bool,
    token: &'a str,
}

/// The page in the reader's language: `what` names its heading and text
/// (`unsubscribe-<what>-heading`, `-body`).
fn page(tr: Tr, status: StatusCode, what: &str, show_button: bool, token: &str) -> Response {
    let heading = tr.t(&format!("unsubscribe-{what}-heading"));
    let body = tr.t(&format!("unsubscribe-{what}-body"));
    match (UnsubscribePage { tr, heading, body, show_button, token }).render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

fn unknown(tr: Tr) -> Response {
    page(tr, StatusCode::NOT_FOUND, "invalid", false, "")
}

fn language(headers: &HeaderMap) -> Tr {
    Tr::for_request(None, headers)
}

/// The page an email's visible unsubscribe link opens: it asks, and a button unsubscribes.
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "email",
    params(("token" = String, Path, description = "The token from the email's unsubscribe link")),
    responses((status = 200, description = "An HTML page asking to confirm", content_type = "text/html"),
        (status = 404, description = "No email went out with this token", content_type = "text/html")))]
pub async fn confirm_page(State(state): State<AppState>, headers: HeaderMap, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    let tr = language(&headers);
    if !UnsubscribeKey::well_formed(&token) {
        return Ok(unknown(tr));
    }
    Ok(match state.store.suppressed(&token).await? {
        None => unknown(tr),
        Some(true) => page(tr, StatusCode::OK, "done", false, ""),
        Some(false) => page(tr, StatusCode::OK, "ask", true, &token),
    })
}

/// One-click unsubscribe (RFC 8058: the mail client posts `List-Unsubscribe=One-Click`),
/// or the confirmation page's button. The address goes on the suppression list every
/// supplier's invitations respect. Doing it twice is harmless.
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "email",
    params(("token" = String, Path, description = "The token from the email's List-Unsubscribe header")),
    responses((status = 200, description = "Unsubscribed (an HTML page)", content_type = "text/html"),
        (status = 404, description = "No email went out with this token", content_type = "text/html")))]
pub async fn unsubscribe(State(state): State<AppState>, headers: HeaderMap, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    let tr = language(&headers);
    if !UnsubscribeKey::well_formed(&token) || !state.store.suppress(&token, Utc::now()).await? {
        return Ok(unknown(tr));
    }
    tracing::info!("an address unsubscribed from invitations");
    Ok(page(tr, StatusCode::OK, "done", false, ""))
}
