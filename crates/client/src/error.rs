//! The client crate's one error type, sent to the UI as `{code, message}`.

use serde::Serialize;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("the Bouquet server at {url} cannot be reached: {reason}")]
    Offline { url: String, reason: String },
    #[error("{message}")]
    Server { code: String, message: String },
    #[error("the server sent an answer Bouquet does not understand: {0}")]
    Protocol(String),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            Self::Offline { .. } => "offline",
            Self::Server { code, .. } => code,
            Self::Protocol(_) => "protocol",
        }
    }
}

impl Serialize for ClientError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        bouquet_core::api::ErrorBody { code: self.code().to_string(), message: self.to_string() }.serialize(s)
    }
}
