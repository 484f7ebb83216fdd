//! The store's side of sync: outbox entries as numbered changes, acknowledgements,
//! pulled pages, the device's sync position and the server's last word (stats, codes'
//! live status, rewards, the campaigns open to the account, the account's growth
//! analytics), kept to show offline with its time.

use std::collections::BTreeMap;

use bouquet_core::analytics::AnalyticsReport;
use bouquet_core::api::{ActiveCampaign, BalanceView, LeaderboardEntry, RewardView, StatsView, TierView};
use bouquet_core::sync::{Change, CodeStatus, Entity, PullPage, RecordState};
use serde_json::{Map, Value};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::{LocalStore, Result, now_text, time_text, tracking};
use crate::ClientError;

/// What the app and the CLI show about sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncStatus {
    /// Changes made here that the server has not acknowledged yet.
    pub pending: i64,
    pub last_sync_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// Something the server said, and when.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AsOf<T: TS> {
    pub value: T,
    pub fetched_at: String,
}

/// The account's rewards as the server last told them (docs/rewards.md): its credits,
/// its tier, its newest rewards and its place on this month's leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RewardsSummary {
    pub balance: BalanceView,
    /// Absent for an account with no tier ladder (admins).
    pub tier: Option<TierView>,
    /// The newest rewards, newest first (at most `sync::RECENT_REWARDS`).
    pub recent: Vec<RewardView>,
    /// This account on this month's leaderboard; absent until it has a successful
    /// referral in the last 30 days.
    pub leaderboard_position: Option<LeaderboardEntry>,
}

impl LocalStore {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let conn = self.conn();
        let pending: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        Ok(conn.query_row("SELECT last_sync_at, last_attempt_at, last_error FROM sync_state WHERE id = 1", [], |r| {
            Ok(SyncStatus { pending, last_sync_at: r.get(0)?, last_attempt_at: r.get(1)?, last_error: r.get(2)? })
        })?)
    }

    /// A new device of the account (a sign-in) numbers its changes from 1: the first
    /// change not yet sent becomes change 1.
    pub(crate) fn start_device_numbering(&self) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "UPDATE sync_state SET seq_base = COALESCE((SELECT MIN(seq) FROM outbox), next_seq) - 1 WHERE id = 1",
            [],
        )?;
        Ok(())
    }

    /// Before a push: records made before sync existed are queued once.
    pub(crate) fn prepare_push(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let needed: bool = tx.query_row("SELECT needs_snapshot FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        if needed {
            tracking::enqueue_snapshot(&tx)?;
            tx.execute("UPDATE sync_state SET needs_snapshot = 0 WHERE id = 1", [])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The oldest `limit` changes not yet acknowledged, numbered for the device: what
    /// the next push carries.
    pub fn changes_to_push(&self, limit: i64) -> Result<Vec<Change>> {
        let conn = self.conn();
        let base: i64 = conn.query_row("SELECT seq_base FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        let mut stmt = conn.prepare("SELECT seq, entity, entity_id, payload FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?;
        let mut changes = Vec::new();
        for row in rows {
            let (seq, entity, id, payload) = row?;
            let bad = |what: &str| ClientError::Database(format!("outbox entry {seq} has a bad {what}"));
            let state: RecordState = serde_json::from_str(&payload).map_err(|_| bad("payload"))?;
            changes.push(Change {
                seq: seq - base,
                entity: Entity::parse(&entity).ok_or_else(|| bad("entity"))?,
                id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
                fields: state.fields,
                clocks: state.clocks,
                deleted: state.deleted,
            });
        }
        Ok(changes)
    }

    /// The server has applied every change up to `applied_through`: they leave the outbox.
    pub(crate) fn acknowledge(&self, applied_through: i64) -> Result<usize> {
        let conn = self.conn();
        let base: i64 = conn.query_row("SELECT seq_base FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        Ok(conn.execute("DELETE FROM outbox WHERE seq <= ?1", [applied_through + base])?)
    }

    /// The server has applied fewer of this device's changes than were acknowledged (it
    /// was restored from a backup): everything is queued again and numbered to follow on
    /// from what the server has.
    pub(crate) fn resend_everything(&self, applied_through: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tracking::enqueue_snapshot(&tx)?;
        let first: i64 = tx.query_row("SELECT MIN(seq) FROM outbox", [], |r| r.get(0))?;
        tx.execute("UPDATE sync_state SET seq_base = ?1 WHERE id = 1", [first - (applied_through + 1)])?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn pull_position(&self) -> Result<(i64, Option<String>)> {
        Ok(self.conn().query_row("SELECT cursor, epoch FROM sync_state WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// Merges a pulled page and moves the cursor, in one transaction: a crash leaves
    /// either all of it or none. A reset starts the pull again from the beginning and
    /// queues every local record, so nothing the server lost is lost.
    pub(crate) fn apply_page(&self, page: &PullPage) -> Result<usize> {
        let mut conn = self.conn();
        // Records arrive in change order, so a record may come before one it refers to
        // (an invitation before its code was last edited): references are checked by
        // the sync, not by SQLite, while a page is applied.
        conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        let applied = (|| {
            let tx = conn.transaction()?;
            if page.reset {
                tracking::enqueue_snapshot(&tx)?;
            }
            let changed = tracking::apply_remote_page(&tx, &page.records)?;
            tx.execute("UPDATE sync_state SET cursor = ?1, epoch = ?2 WHERE id = 1", params![page.next_after, page.epoch])?;
            tx.commit()?;
            Ok(changed)
        })();
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
        applied
    }

    /// The server's clock, as seen in its last answer: corrects this device's clocks.
    pub(crate) fn learn_server_time(&self, server_time: DateTime<Utc>) -> Result<()> {
        tracking::correct_clock(&self.conn(), server_time)
    }

    pub(crate) fn record_sync_outcome(&self, outcome: std::result::Result<(), &ClientError>) -> Result<()> {
        let conn = self.conn();
        let now = now_text();
        match outcome {
            Ok(()) => conn.execute("UPDATE sync_state SET last_sync_at = ?1, last_attempt_at = ?1, last_error = NULL WHERE id = 1", [now])?,
            Err(e) => conn.execute("UPDATE sync_state SET last_attempt_at = ?1, last_error = ?2 WHERE id = 1", params![now, e.to_string()])?,
        };
        Ok(())
    }

    /// Every synced record as stored here: its fields and whether it is deleted. Two
    /// devices that have both synced with nothing pending hold the same map.
    pub fn synced_records(&self) -> Result<BTreeMap<(Entity, Uuid), (Map<String, Value>, bool)>> {
        let conn = self.conn();
        let mut all = BTreeMap::new();
        for entity in Entity::ALL {
            for (id, fields, deleted) in tracking::read_all(&conn, entity)? {
                all.insert((entity, id), (fields, deleted));
            }
        }
        Ok(all)
    }

    /// The server's figures for the dashboard, as of the last sync.
    pub fn server_stats(&self) -> Result<Option<AsOf<StatsView>>> {
        self.server_view("stats")
    }

    /// The live state of codes with any activity, as of the last sync.
    pub fn code_statuses(&self) -> Result<Option<AsOf<Vec<CodeStatus>>>> {
        self.server_view("codes")
    }

    /// Credits, tier, recent rewards and leaderboard place, as of the last sync.
    pub fn rewards_summary(&self) -> Result<Option<AsOf<RewardsSummary>>> {
        self.server_view("rewards")
    }

    /// The campaigns open to this account (docs/campaigns.md), as of the last sync: what
    /// the dashboard shows and codes can be made under, offline too.
    pub fn active_campaigns(&self) -> Result<Option<AsOf<Vec<ActiveCampaign>>>> {
        self.server_view(CAMPAIGNS_VIEW)
    }

    /// The account's own growth analytics by week over the last 12 weeks (its funnel and
    /// bottleneck, its loop, the revenue it brought), as of the last sync that fetched
    /// them: a round that fails keeps the previous ones.
    pub fn analytics(&self) -> Result<Option<AsOf<AnalyticsReport>>> {
        self.server_view(ANALYTICS_VIEW)
    }

    /// Couples' recommendations of this supplier (to friends, or inviting them), newest
    /// first, with how far each got, as of the last sync.
    pub fn recommended_by(&self) -> Result<Option<AsOf<bouquet_core::recommend::RecommendationsReceived>>> {
        self.server_view(RECOMMENDED_BY_VIEW)
    }

    /// Suppliers who joined through this supplier's invitations, and through them, as of
    /// the last sync.
    pub fn network(&self) -> Result<Option<AsOf<bouquet_core::network::Network>>> {
        self.server_view(NETWORK_VIEW)
    }

    pub(crate) fn save_server_view<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let body = serde_json::to_string(value).map_err(|e| ClientError::Database(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO server_view (name, body, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
            params![name, body, time_text(Utc::now())],
        )?;
        Ok(())
    }

    pub(crate) fn server_view<T: DeserializeOwned + TS>(&self, name: &str) -> Result<Option<AsOf<T>>> {
        saved_view(&self.conn(), name)
    }

    /// When the server last told what is saved under `name` (without reading it).
    pub(crate) fn server_view_fetched_at(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> = self.conn().query_row("SELECT fetched_at FROM server_view WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        Ok(at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc)))
    }
}

/// The name the campaigns open to the account are saved under.
pub(crate) const CAMPAIGNS_VIEW: &str = "campaigns";
/// The name the server's delivery of queued invitations is saved under.
pub(crate) const DELIVERIES_VIEW: &str = "invitations";
/// The name the account's growth analytics are saved under.
pub(crate) const ANALYTICS_VIEW: &str = "analytics";
/// The name couples' recommendations of the supplier are saved under.
pub(crate) const RECOMMENDED_BY_VIEW: &str = "recommended_by";
/// The name the supplier's network is saved under.
pub(crate) const NETWORK_VIEW: &str = "network";

/// What the server last said under `name`, read on an open connection (inside a write).
pub(crate) fn saved_view<T: DeserializeOwned + TS>(conn: &Connection, name: &str) -> Result<Option<AsOf<T>>> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT body, fetched_at FROM server_view WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((body, fetched_at)) = row else { return Ok(None) };
    let value = serde_json::from_str(&body).map_err(|e| ClientError::Database(format!("cached {name}: {e}")))?;
    Ok(Some(AsOf { value, fetched_at }))
}
