//! Sync in the background, for the desktop app (and anything else that stays open):
//! a round at start, shortly after each change, on a timer, and when the network
//! returns; after a failure it retries with backoff without waiting for the next edit.
//! It never holds up the caller: changes only nudge it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use ts_rs::TS;

use crate::{ClientError, LocalStore, sync};

/// A quiet moment after a change before syncing, so a burst of edits goes in one round.
const AFTER_CHANGE: Duration = Duration::from_secs(2);
/// A round this often even when nothing changed here (others' changes, live stats).
const EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Not signed in: nothing to sync with.
    SignedOut,
    Syncing,
    /// Everything made here is on the server.
    Synced,
    /// Changes wait to be sent (the count is in `pending`).
    Pending,
    /// The server cannot be reached; changes are kept.
    Offline,
    /// The server refused (the reason is in `error`).
    Error,
}

/// What the status line shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncView {
    pub phase: SyncPhase,
    pub pending: i64,
    pub last_sync_at: Option<String>,
    pub error: Option<String>,
    /// Changes the server refused, set aside until the user fixes or discards them.
    pub refused: Vec<crate::store::refused::RefusedChange>,
}

pub struct SyncLoop {
    nudged: Notify,
    view: Mutex<SyncView>,
}

impl Default for SyncLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncLoop {
    pub fn new() -> Self {
        Self { nudged: Notify::new(), view: Mutex::new(SyncView { phase: SyncPhase::SignedOut, pending: 0, last_sync_at: None, error: None, refused: Vec::new() }) }
    }

    /// Something changed (or the network came back): sync soon.
    pub fn nudge(&self) {
        self.nudged.notify_one();
    }

    pub fn view(&self) -> SyncView {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The view as the store and the last outcome say, with pending changes counted now.
    pub fn refresh(&self, store: &LocalStore) -> SyncView {
        let mut view = self.view.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(refused) = store.refused_changes() {
            view.refused = refused;
        }
        if let Ok(status) = store.sync_status() {
            view.pending = status.pending;
            view.last_sync_at = status.last_sync_at;
            if view.phase == SyncPhase::Synced && status.pending > 0 {
                view.phase = SyncPhase::Pending;
            }
        }
        view.clone()
    }

    fn set(&self, store: &LocalStore, phase: SyncPhase, error: Option<String>) -> SyncView {
        {
            let mut view = self.view.lock().unwrap_or_else(|p| p.into_inner());
            view.phase = phase;
            view.error = error;
        }
        self.refresh(store)
    }

    /// Runs forever; `report` hears every change of the view.
    pub async fn run(self: Arc<Self>, store: Arc<LocalStore>, report: impl Fn(&SyncView) + Send + 'static) {
        let mut failures = 0u32;
        loop {
            let signed_in = matches!(store.session(), Ok(Some(_)));
            let wait = if signed_in {
                report(&self.set(&store, SyncPhase::Syncing, None));
                match sync::sync_once(&store).await {
                    Ok(_) => {
                        failures = 0;
                        report(&self.set(&store, SyncPhase::Synced, None));
                        EVERY
                    }
                    Err(err) => {
                        failures += 1;
                        let phase = match err {
                            ClientError::Offline { .. } => SyncPhase::Offline,
                            ClientError::NotSignedIn => SyncPhase::SignedOut,
                            _ => SyncPhase::Error,
                        };
                        report(&self.set(&store, phase, Some(err.to_string())));
                        sync::backoff(failures).min(EVERY)
                    }
                }
            } else {
                report(&self.set(&store, SyncPhase::SignedOut, None));
                EVERY
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.nudged.notified() => {
                    report(&self.refresh(&store));
                    tokio::time::sleep(AFTER_CHANGE).await;
                }
            }
        }
    }
}
