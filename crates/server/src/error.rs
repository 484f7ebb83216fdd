//! The server's one error type. Clients get a fitting status and `{code, message}`;
//! database and internal details go to the log, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bouquet_core::api::ErrorBody;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A sync push that skips changes the server has not seen.
    #[error("{0}")]
    PushGap(String),
    /// A sync push whose change `seq` the server will not take (the whole push is refused;
    /// the body names the change, so the device can set it aside and send the rest).
    #[error("{message}")]
    RefusedChange { seq: i64, code: &'static str, message: String, conflict: bool },
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("send JSON with the header Content-Type: application/json")]
    UnsupportedMediaType,
    /// Past a rate limit; the response carries `Retry-After`.
    #[error("{0}")]
    TooManyRequests(String),
    /// Too many wrong passwords in a row: the account waits until `until` (or a sign-in link).
    #[error("too many wrong passwords: this account is locked until {} UTC; try again then, or sign in with an emailed link", until.format("%H:%M"))]
    Locked { until: chrono::DateTime<chrono::Utc> },
    #[error("the database is unavailable; try again shortly")]
    Unavailable(#[source] StoreError),
    #[error("something went wrong on our side; it has been logged")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }

    /// This error, as the refusal of a pushed change `seq` when it is one (a rule or a
    /// conflict the change itself ran into), else unchanged.
    pub fn for_change(self, seq: i64) -> Self {
        match self {
            Self::Invalid { code, message } => Self::RefusedChange { seq, code, message, conflict: false },
            Self::Conflict(message) => Self::RefusedChange { seq, code: "conflict", message, conflict: true },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } | Self::RefusedChange { conflict: false, .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RefusedChange { conflict: true, .. } => StatusCode::CONFLICT,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::PushGap(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) | Self::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Invalid { code, .. } | Self::RefusedChange { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PushGap(_) => "push_gap",
            Self::TooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::TooManyRequests(_) => "rate_limited",
            Self::Locked { .. } => "account_locked",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let change = if let Self::RefusedChange { seq, .. } = self { Some(*seq) } else { None };
        ErrorBody { code: self.code().to_string(), message: self.to_string(), change }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            StoreError::Refused(why) => Self::Conflict(why.to_string()),
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                Self::Unavailable(err)
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::Unavailable(source) => tracing::warn!(%source, "database unavailable"),
            _ => {}
        }
        if let Self::Locked { until } = &self {
            let seconds = (*until - chrono::Utc::now()).num_seconds().max(1);
            return (self.status(), [(axum::http::header::RETRY_AFTER, seconds.to_string())], Json(self.body())).into_response();
        }
        (self.status(), Json(self.body())).into_response()
    }
}
