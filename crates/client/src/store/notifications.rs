//! Notifications in the app (docs/notifications.md): the account's newest, as the last
//! sync fetched them, which are new since the supplier last looked, and the choice of
//! which kinds also come by email — made here, offline too, and sent by the next round.

use bouquet_core::notifications::{NotificationKind, NotificationPreference, NotificationView, preferences_with_defaults};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use ts_rs::TS;

use super::syncing::saved_view;
use super::{LocalStore, Result, now_text};
use crate::ClientError;

/// The name the account's notifications are saved under.
pub(crate) const NOTIFICATIONS_VIEW: &str = "notifications";

/// One notification as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NotificationItem {
    #[serde(flatten)]
    pub notification: NotificationView,
    /// Newer than what the supplier last saw.
    pub unread: bool,
}

/// The Notifications list: newest first, how many are unread, as of which sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NotificationList {
    pub items: Vec<NotificationItem>,
    pub unread: usize,
    /// When the server last told them; `None` before the first sync.
    pub fetched_at: Option<String>,
}

/// One email choice as Settings shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NotificationChoice {
    pub kind: NotificationKind,
    pub label: String,
    pub email: bool,
    /// Made here and not yet sent to the server (it goes with the next sync).
    pub pending: bool,
}

impl LocalStore {
    pub fn notifications(&self) -> Result<NotificationList> {
        let conn = self.conn();
        let saved = saved_view::<Vec<NotificationView>>(&conn, NOTIFICATIONS_VIEW)?;
        let seen: Option<String> = conn.query_row("SELECT seen_at FROM notifications_seen WHERE only = 1", [], |r| r.get(0)).optional()?;
        let seen = seen.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.to_utc());
        let Some(saved) = saved else { return Ok(NotificationList { items: Vec::new(), unread: 0, fetched_at: None }) };
        let items: Vec<NotificationItem> = saved
            .value
            .into_iter()
            .map(|n| NotificationItem { unread: seen.is_none_or(|s| n.created_at > s), notification: n })
            .collect();
        Ok(NotificationList { unread: items.iter().filter(|i| i.unread).count(), items, fetched_at: Some(saved.fetched_at) })
    }

    /// The supplier looked at the list whose newest was made `up_to`: it and everything
    /// before it are read (one a sync brought in meanwhile stays unread). Never backwards.
    pub fn mark_notifications_read(&self, up_to: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let seen = up_to.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.conn().execute(
            "INSERT INTO notifications_seen (only, seen_at) VALUES (1, ?1)
             ON CONFLICT (only) DO UPDATE SET seen_at = excluded.seen_at WHERE excluded.seen_at > notifications_seen.seen_at",
            [seen],
        )?;
        Ok(())
    }

    /// Every kind's email choice, as the server last said or as changed here since.
    pub fn notification_choices(&self) -> Result<Vec<NotificationChoice>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT kind, email, pending FROM notification_choices")?;
        let rows: Vec<(String, bool, bool)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
        let known: Vec<(NotificationPreference, bool)> = rows
            .into_iter()
            .filter_map(|(kind, email, pending)| Some((NotificationPreference { kind: NotificationKind::parse(&kind)?, email, changed_at: None }, pending)))
            .collect();
        let chosen: Vec<NotificationPreference> = known.iter().map(|(p, _)| *p).collect();
        Ok(preferences_with_defaults(&chosen)
            .into_iter()
            .map(|p| NotificationChoice {
                kind: p.kind,
                label: p.kind.label().to_string(),
                email: p.email,
                pending: known.iter().any(|(k, pending)| k.kind == p.kind && *pending),
            })
            .collect())
    }

    /// Turns a kind's email on or off; the server hears it with the next sync.
    pub fn set_notification_choice(&self, kind: &str, email: bool) -> Result<Vec<NotificationChoice>> {
        let kind = NotificationKind::parse(kind).ok_or_else(|| ClientError::Invalid(format!("'{kind}' is not a kind of notification")))?;
        self.conn().execute(
            "INSERT INTO notification_choices (kind, email, pending, changed_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (kind) DO UPDATE SET email = excluded.email, pending = 1, changed_at = excluded.changed_at",
            params![kind.as_str(), email, now_text()],
        )?;
        self.notification_choices()
    }

    /// The choices made here that the server has not heard, with when each was made.
    pub(crate) fn pending_notification_choices(&self) -> Result<Vec<(NotificationPreference, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT kind, email, changed_at FROM notification_choices WHERE pending = 1")?;
        let rows: Vec<(String, bool, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, email, at)| {
                let changed_at = chrono::DateTime::parse_from_rfc3339(&at).ok().map(|t| t.to_utc());
                Some((NotificationPreference { kind: NotificationKind::parse(&kind)?, email, changed_at }, at))
            })
            .collect())
    }

    /// Saves what the server says the choices are. A choice sent (`sent`, with when it was
    /// made) is settled unless it was changed again meanwhile; a choice still waiting here
    /// is kept over the server's.
    pub(crate) fn save_notification_choices(&self, server: &[NotificationPreference], sent: &[(NotificationPreference, String)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (choice, at) in sent {
            tx.execute("UPDATE notification_choices SET pending = 0 WHERE kind = ?1 AND changed_at = ?2", params![choice.kind.as_str(), at])?;
        }
        for p in server {
            tx.execute(
                "INSERT INTO notification_choices (kind, email, pending, changed_at) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (kind) DO UPDATE SET email = excluded.email WHERE notification_choices.pending = 0",
                params![p.kind.as_str(), p.email, now_text()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
