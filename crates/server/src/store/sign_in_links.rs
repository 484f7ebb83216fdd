//! Passwordless sign-in links in SQL once for both databases (docs/couples.md): kept by
//! the token's hash, used once, before they expire.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::db::args;
use super::rows::Columns;
use super::sql::SqlStore;

#[async_trait]
pub trait SignInLinkStore: Send + Sync {
    /// Keeps a new link for the account, unless it already has `max_open` unused, unexpired
    /// ones (`false`: none made — a flood of requests sends no flood of emails).
    async fn create_sign_in_link(&self, account_id: Uuid, token_hash: &str, expires_at: DateTime<Utc>, max_open: i64, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Uses the link once: its account, or `None` when it is unknown, used or expired.
    async fn use_sign_in_link(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Uuid>>;
}

#[async_trait]
impl SignInLinkStore for SqlStore {
    async fn create_sign_in_link(&self, account_id: Uuid, token_hash: &str, expires_at: DateTime<Utc>, max_open: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        super::dialect::lock_account(&mut tx, account_id).await?;
        let open = tx
            .fetch_one(
                "SELECT COUNT(*) AS n FROM sign_in_links WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2",
                &args![account_id, now],
            )
            .await?
            .int("n")?;
        if open >= max_open {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sign_in_links (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &args![token_hash, account_id, now, expires_at],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn use_sign_in_link(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Uuid>> {
        let mut tx = self.pool().begin_write().await?;
        let used = tx
            .execute("UPDATE sign_in_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2", &args![token_hash, now])
            .await?;
        if used == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let account = tx.fetch_one("SELECT account_id FROM sign_in_links WHERE token_hash = $1", &args![token_hash]).await?.uuid("account_id")?;
        tx.commit().await?;
        Ok(Some(account))
    }
}
