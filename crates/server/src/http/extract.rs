//! Extractors that turn every way a request can be wrong into an `ApiError`:
//! malformed or mistyped JSON, oversized bodies, bad query strings, bad credentials.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::ApiError;
use crate::service::accounts;
use crate::http::landing::ClientIp;
use crate::service::visitors::hash_ip;
use crate::store::Caller;

/// A JSON body, told apart in three steps so each failure gets its own answer: too
/// big (413), not JSON at all (400 `malformed_json`), JSON of the wrong shape (422
/// `invalid_body`, naming the field).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).settings.body_limit_bytes;
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(limit)
            } else {
                ApiError::BadRequest { code: "bad_request", message: e.body_text() }
            }
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest {
            code: "malformed_json",
            message: format!("the body is not valid JSON: {e}"),
        })?;
        serde_json::from_value(value).map(Self).map_err(|e| ApiError::invalid("invalid_body", format!("the body does not fit: {e}")))
    }
}

/// `axum::extract::Path` with our error body on rejection: an id that is not one is a 400
/// `invalid_path` in JSON, like every other API error.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|e| ApiError::BadRequest { code: "invalid_path", message: e.body_text() })
    }
}

/// `axum::extract::Query` with our error body on rejection.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ApiError::BadRequest { code: "invalid_query", message: e.body_text() })
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The signed-in device's caller (a device bearer token).
pub struct Device(pub Caller);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = accounts::authenticate(&state.store, bearer(parts)).await?;
        note_account_ip(state, parts, caller.account.id).await;
        note_account_seen(state, caller.account.id).await;
        Ok(Self(caller))
    }
}

/// Remembers the keyed hash of the IP an account's own people use (its devices' API
/// calls and sign-ins): a referee arriving from it is the referrer's own network
/// (docs/fraud.md). Written at most hourly per address; a failure only logs.
pub async fn note_account_ip(state: &AppState, parts: &mut Parts, account_id: uuid::Uuid) {
    let Ok(ClientIp(Some(ip))) = ClientIp::from_request_parts(parts, state).await else { return };
    let mark = format!("ip:{}", hash_ip(&state.ip_secret, ip));
    if !first_in_the_hour(state, account_id, &mark) {
        return;
    }
    if let Err(e) = state.store.record_account_mark(account_id, &mark, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "could not record an account's network");
    }
}

/// Remembers when the account was last seen (a supplier not seen for 90 days is never
/// recommended to couples). Written at most hourly; a failure only logs.
pub async fn note_account_seen(state: &AppState, account_id: uuid::Uuid) {
    if !first_in_the_hour(state, account_id, "seen") {
        return;
    }
    if let Err(e) = state.store.note_seen(account_id, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "could not note that an account was seen");
    }
}

/// Whether `what` of this account has not been noted within [`MARK_REFRESH`] by this
/// process (and notes it now).
fn first_in_the_hour(state: &AppState, account_id: uuid::Uuid, what: &str) -> bool {
    let Ok(mut seen) = state.marks_seen.lock() else { return false };
    let key = (account_id, what.to_string());
    let fresh = seen.get(&key).is_none_or(|at| at.elapsed() > MARK_REFRESH);
    if fresh {
        if seen.len() > 100_000 {
            seen.clear();
        }
        seen.insert(key, std::time::Instant::now());
    }
    fresh
}

const MARK_REFRESH: std::time::Duration = std::time::Duration::from_secs(3600);

/// The platform (a platform API key).
pub struct Platform;

impl FromRequestParts<AppState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        accounts::authenticate_platform(&state.store, bearer(parts)).await.map(|()| Self)
    }
}

/// A signed-in operator: a device token of an admin account. Anyone else signed in gets
/// 403, nobody signed in 401.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = accounts::authenticate(&state.store, bearer(parts)).await?;
        if caller.account.kind != bouquet_core::AccountKind::Admin {
            return Err(ApiError::Forbidden("this needs an operator (admin) account"));
        }
        Ok(Self(caller))
    }
}
