//! Personal data (docs/privacy.md): what an account may take away and delete, what the
//! platform may erase, and how long visits and leads keep anything personal.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use bouquet_core::account::normalize_email;
use crate::store::{Caller, Store};

/// The export's format name: a reader checks it before trusting the sections.
pub const EXPORT_FORMAT: &str = "bouquet-account-export/1";

/// Everything the server holds about the caller's account, as one JSON document.
pub async fn export(store: &Arc<dyn Store>, caller: &Caller, now: DateTime<Utc>) -> Result<Value, ApiError> {
    let sections = store.export_account(caller.account.id).await?;
    let mut document = json!({"format": EXPORT_FORMAT, "exported_at": now});
    document.as_object_mut().expect("an object").extend(sections);
    Ok(document)
}

/// Deletes the caller's account once they have typed its email address again.
pub async fn delete(store: &Arc<dyn Store>, caller: &Caller, confirm_email: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    let typed = normalize_email(confirm_email);
    if typed.as_deref() != Some(caller.account.email.to_lowercase().as_str()) {
        return Err(ApiError::invalid("confirmation_mismatch", "type the account's email address to confirm deleting it"));
    }
    store.delete_account(caller.account.id, now).await?;
    tracing::info!(account = %caller.account.id, "account deleted at its holder's request");
    Ok(())
}

/// Erases a platform user at the platform's request; nothing to do for one never seen.
pub async fn erase_platform_user(store: &Arc<dyn Store>, user_id: &str, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let user_id = user_id.trim();
    if user_id.is_empty() || user_id.len() > 200 {
        return Err(ApiError::invalid("invalid_user", "the user id must have 1 to 200 characters"));
    }
    let erased = store.erase_platform_user(user_id, now).await?;
    if erased {
        tracing::info!("a platform user was erased at the platform's request");
    }
    Ok(erased)
}

/// How long touches and leads keep what identifies a person (docs/privacy.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub touch_days: i64,
    pub lead_days: i64,
}

impl Default for Retention {
    /// Eighteen months: a couple books most suppliers within a year of the first visit,
    /// and attribution, fraud rules and repeat-visit counting look back far less.
    fn default() -> Self {
        Self { touch_days: 540, lead_days: 540 }
    }
}

/// Anonymises what has outlived the retention: (touches, leads) changed.
pub async fn apply_retention(store: &Arc<dyn Store>, retention: Retention, now: DateTime<Utc>) -> Result<(u64, u64), ApiError> {
    Ok(store.forget_old_visits(now - Duration::days(retention.touch_days), now - Duration::days(retention.lead_days)).await?)
}
