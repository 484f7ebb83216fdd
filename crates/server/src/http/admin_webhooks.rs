//! The console's webhook screens (docs/webhooks.md): the subscriptions with a form for a
//! new one (its secret shown once, on the page that made it), and one subscription's
//! delivery log with its attempts, where it can be deleted.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use bouquet_core::webhooks::{CreateWebhook, EventType, WebhookView};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AppState;
use super::admin::{csrf_ok, csrf_token, operator, page};
use crate::error::ApiError;
use crate::service::webhooks;

struct SubscriptionLine {
    id: Uuid,
    url: String,
    events: String,
    created: String,
    state: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    section: &'static str,
    csrf: String,
    operator: String,
    error: Option<String>,
    /// A subscription just made, with its secret: shown this once.
    created: Option<(String, String)>,
    rows: Vec<SubscriptionLine>,
    event_types: Vec<&'static str>,
}

struct AttemptLine {
    at: String,
    status: String,
    error: String,
    duration_ms: i64,
}

struct DeliveryLine {
    event_id: Uuid,
    event_type: &'static str,
    status: String,
    next: String,
    attempts: Vec<AttemptLine>,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    section: &'static str,
    csrf: String,
    operator: String,
    id: Uuid,
    url: String,
    events: String,
    state: String,
    disabled: bool,
    deliveries: Vec<DeliveryLine>,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn state_of(w: &WebhookView) -> String {
    match (&w.disabled_at, &w.disabled_reason) {
        (Some(at), reason) => format!("disabled {}: {}", when(*at), reason.as_deref().unwrap_or("")),
        (None, _) => "active".into(),
    }
}

fn events_of(w: &WebhookView) -> String {
    w.event_types.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
}

async fn list_with(state: &AppState, jar: &CookieJar, error: Option<String>, created: Option<(String, String)>, status: StatusCode) -> Response {
    let (caller, token) = match operator(state, jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let rows = match state.store.webhooks().await {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = rows
        .iter()
        .map(|w| SubscriptionLine { id: w.id, url: w.url.clone(), events: events_of(w), created: when(w.created_at), state: state_of(w), disabled: w.disabled_at.is_some() })
        .collect();
    let event_types = EventType::ALL.iter().map(|e| e.as_str()).collect();
    page(status, WebhooksPage { section: "webhooks", csrf: csrf_token(state, &token), operator: caller.account.email, error, created, rows, event_types })
}

pub async fn list(State(state): State<AppState>, jar: CookieJar) -> Response {
    list_with(&state, &jar, None, None, StatusCode::OK).await
}

/// The form posts `event_types` once per ticked box, which a struct form cannot take.
pub async fn create(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    if !csrf_ok(&state, &token, &value("csrf")) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    let event_types = pairs.iter().filter(|(k, _)| k == "event_types").filter_map(|(_, v)| EventType::parse(v)).collect();
    let request = CreateWebhook { url: value("url"), event_types, description: Some(value("description")) };
    match webhooks::create(&state.store, request).await {
        Ok(view) => {
            let secret = view.secret.clone().unwrap_or_default();
            list_with(&state, &jar, None, Some((view.url, secret)), StatusCode::CREATED).await
        }
        Err(e @ ApiError::Invalid { .. }) => list_with(&state, &jar, Some(e.to_string()), None, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => e.into_response(),
    }
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let subscription = match state.store.webhooks().await {
        Ok(all) => all.into_iter().find(|w| w.id == id),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(w) = subscription else { return (StatusCode::NOT_FOUND, "No such webhook subscription.").into_response() };
    let deliveries = match webhooks::deliveries(&state.store, id).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryLine {
            event_id: d.event_id,
            event_type: d.event_type.as_str(),
            status: d.status,
            next: d.next_attempt_at.map(when).unwrap_or_default(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptLine {
                    at: when(a.at),
                    status: a.status_code.map_or("—".into(), |c| c.to_string()),
                    error: a.error.unwrap_or_default(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
        })
        .collect();
    let view = WebhookPage {
        section: "webhooks",
        csrf: csrf_token(&state, &token),
        operator: caller.account.email,
        id,
        url: w.url.clone(),
        events: events_of(&w),
        state: state_of(&w),
        disabled: w.disabled_at.is_some(),
        deliveries,
    };
    page(StatusCode::OK, view)
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn delete(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::Form(form): axum::Form<CsrfForm>) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    match state.store.delete_webhook(id, Utc::now()).await {
        Ok(true) => Redirect::to("/admin/webhooks").into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, "No such webhook subscription.").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
