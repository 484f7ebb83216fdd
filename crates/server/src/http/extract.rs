//! Extractors that turn every way a request can be wrong into an `ApiError`:
//! malformed or mistyped JSON, oversized bodies, bad query strings, bad credentials.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::ApiError;
use crate::service::accounts;
use crate::store::Caller;

/// `axum::Json` with our error body on rejection.
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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::BadRequest { code: "malformed_json", message: format!("the body is not valid JSON: {}", e.body_text()) }
                }
                JsonRejection::JsonDataError(e) => ApiError::invalid("invalid_body", e.body_text()),
                JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::TooLarge(limit)
                }
                other => ApiError::BadRequest { code: "bad_request", message: other.body_text() },
            }),
        }
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
        accounts::authenticate(&state.store, bearer(parts)).await.map(Self)
    }
}

/// The platform (a platform API key).
pub struct Platform;

impl FromRequestParts<AppState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        accounts::authenticate_platform(&state.store, bearer(parts)).await.map(|()| Self)
    }
}
