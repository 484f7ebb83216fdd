//! The client crate's one error type, sent to the UI (and the CLI) as `{code, message}`.

use serde::Serialize;

/// Why a data file cannot be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DataProblem {
    /// Damaged, or not a Bouquet database at all.
    Damaged,
    /// Written by a newer version of Bouquet, whose data this one must not touch.
    Newer,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("the Bouquet server at {url} cannot be reached: {reason}")]
    Offline { url: String, reason: String },
    #[error("{message}")]
    Server { code: String, message: String },
    /// The server would not take change `seq` of a push (the ones before it are fine).
    #[error("{message}")]
    Refused { seq: i64, code: String, message: String },
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
    /// The data file cannot be used at all: damaged, not a database, or written by a newer
    /// Bouquet. The app offers a way out (docs/architecture.md, "The local database").
    #[error("{message}")]
    Unusable { problem: DataProblem, message: String },
    #[error("{0}")]
    Io(String),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            Self::Offline { .. } => "offline",
            Self::Server { code, .. } | Self::Refused { code, .. } => code,
            Self::Protocol(_) => "protocol",
            Self::Invalid(_) => "invalid",
            Self::NotFound(_) => "not_found",
            Self::NotSignedIn => "not_signed_in",
            Self::Database(_) => "database",
            Self::Unusable { problem: DataProblem::Damaged, .. } => "data_damaged",
            Self::Unusable { problem: DataProblem::Newer, .. } => "data_newer",
            Self::Io(_) => "io",
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(failure.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) =>
            {
                Self::Unusable { problem: DataProblem::Damaged, message: format!("Bouquet's data file is damaged and cannot be read ({e})") }
            }
            _ => Self::Database(e.to_string()),
        }
    }
}

impl From<rusqlite_migration::Error> for ClientError {
    fn from(e: rusqlite_migration::Error) -> Self {
        use rusqlite_migration::{Error, MigrationDefinitionError};
        match e {
            Error::MigrationDefinition(MigrationDefinitionError::DatabaseTooFarAhead) => Self::Unusable {
                problem: DataProblem::Newer,
                message: "Bouquet's data file was written by a newer version of Bouquet; install that version to use it".into(),
            },
            Error::RusqliteError { err, .. } => match Self::from(err) {
                Self::Database(m) => Self::Database(format!("migrating the local database: {m}")),
                other => other,
            },
            other => Self::Database(format!("migrating the local database: {other}")),
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

impl Serialize for ClientError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        bouquet_core::api::ErrorBody { code: self.code().to_string(), message: self.to_string(), change: None }.serialize(s)
    }
}
