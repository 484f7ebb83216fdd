//! The device's sign-in, kept locally so codes can be made offline forever after one
//! online log-in.

use bouquet_core::api::SessionView;
use bouquet_core::{AccountKind, CodeNamespace};
use rusqlite::{OptionalExtension, params};
use ts_rs::TS;
use serde::Serialize;
use uuid::Uuid;

use super::{LocalStore, Result, now_text};
use crate::ClientError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LocalSession {
    pub server_url: String,
    pub account_id: Uuid,
    pub account_kind: AccountKind,
    pub email: String,
    /// The business's name (suppliers) or the couple's names.
    pub display_name: String,
    pub device_id: Uuid,
    #[ts(type = "string")]
    pub code_namespace: CodeNamespace,
}

impl LocalStore {
    /// Keeps what the server said at log-in (the token is stored elsewhere).
    pub fn save_session(&self, server_url: &str, session: &SessionView) -> Result<LocalSession> {
        let account = &session.account;
        if account.kind == AccountKind::Admin {
            return Err(ClientError::Invalid("admin accounts do not use the desktop app".into()));
        }
        let display_name = account
            .business_name
            .clone()
            .or_else(|| account.couple_names.clone())
            .unwrap_or_else(|| account.email.clone());
        self.conn().execute(
            "INSERT INTO session (id, server_url, account_id, account_kind, email, display_name, device_id, code_namespace, signed_in_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url, account_id = excluded.account_id,
                account_kind = excluded.account_kind, email = excluded.email, display_name = excluded.display_name,
                device_id = excluded.device_id, code_namespace = excluded.code_namespace, signed_in_at = excluded.signed_in_at",
            params![
                server_url.trim_end_matches('/'),
                account.id.to_string(),
                account.kind.as_str(),
                account.email,
                display_name,
                session.device_id.to_string(),
                session.code_namespace.as_str(),
                now_text()
            ],
        )?;
        self.session()?.ok_or(ClientError::NotSignedIn)
    }

    /// Empties the data folder's database — every record, the outbox, what the server last
    /// said, the session — after the account was deleted, so nothing of it stays and the
    /// folder can serve another account. One transaction: all of it or none.
    pub fn forget_everything(&self) -> Result<()> {
        let mut conn = self.conn();
        self.forgets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tx = conn.transaction()?;
        // Children before parents; the search index follows the contacts (its triggers).
        for table in [
            "refused_changes", "outbox", "sync_meta", "server_view", "notifications_seen", "notification_choices",
            "fair_leads", "invitations", "codes", "contacts", "fairs", "profiles", "session",
        ] {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        tx.execute(
            "UPDATE sync_state SET cursor = 0, epoch = NULL, seq_base = 0, last_clock = NULL, clock_offset_ms = 0,
                last_sync_at = NULL, last_attempt_at = NULL, last_error = NULL, needs_snapshot = 0 WHERE id = 1",
            [],
        )?;
        tx.commit()?;
        // Deleted rows linger in free pages and the write-ahead log until overwritten:
        // fold the log in and rebuild the file so nothing of the account stays on disk.
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
        drop(conn);
        // An import's staging file holds contacts too.
        self.sweep_uploads(std::time::Duration::ZERO)
    }

    pub fn session(&self) -> Result<Option<LocalSession>> {
        let row = self
            .conn()
            .query_row(
                "SELECT server_url, account_id, account_kind, email, display_name, device_id, code_namespace FROM session WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((server_url, account_id, kind, email, display_name, device_id, namespace)) = row else { return Ok(None) };
        let corrupt = |what: &str| ClientError::Database(format!("stored session has a bad {what}"));
        Ok(Some(LocalSession {
            server_url,
            account_id: Uuid::parse_str(&account_id).map_err(|_| corrupt("account id"))?,
            account_kind: AccountKind::parse(&kind).ok_or_else(|| corrupt("account kind"))?,
            email,
            display_name,
            device_id: Uuid::parse_str(&device_id).map_err(|_| corrupt("device id"))?,
            code_namespace: CodeNamespace::parse(&namespace).map_err(|_| corrupt("code namespace"))?,
        }))
    }
}
