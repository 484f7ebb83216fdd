//! The client crate's one error type, sent to the UI (and the CLI) as `{code, message}`.

use serde::Serialize;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("the Bouquet server at {url} cannot be reached: {reason}")]
    Offline { url: String, reason: String },
    #[error("{message}")]
    Server { code: String, message: String },
    #[error("the server sent an answer Bouquet does not understand: {0}")]
    Protocol(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("sign in once while online: this device has no code namespace yet")]
    NotSignedIn,
    #[error("the local database failed: {0}")]
    Database(String),
    #[error("{0}")]
    Io(String),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            Self::Offline { .. } => "offline",
            Self::Server { code, .. } => code,
            Self::Protocol(_) => "protocol",
            Self::Invalid(_) => "invalid",
            Self::NotFound(_) => "not_found",
            Self::NotSignedIn => "not_signed_in",
            Self::Database(_) => "database",
            Self::Io(_) => "io",
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<rusqlite_migration::Error> for ClientError {
    fn from(e: rusqlite_migration::Error) -> Self {
        Self::Database(format!("migrating the local database: {e}"))
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

impl Serialize for ClientError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        bouquet_core::api::ErrorBody { code: self.code().to_string(), message: self.to_string() }.serialize(s)
    }
}
