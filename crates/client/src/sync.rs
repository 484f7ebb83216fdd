//! One sync round (docs/sync.md): push the outbox in numbered batches until the server
//! has it all, pull every record changed since the cursor, then fetch the server's
//! figures for the dashboard (stats, codes' live status, rewards, the account's growth
//! analytics by week) and the campaigns open to the account (offered when making codes,
//! offline too). Each step is safe to
//! interrupt: the outbox only shrinks for what the server acknowledged, and a pulled page
//! commits with its cursor.

use bouquet_core::AccountKind;
use bouquet_core::api::StatsView;
use bouquet_core::leaderboard::LeaderboardPeriod;
use bouquet_core::metrics::Period;
use bouquet_core::sync::{MAX_BATCH, MAX_PUSH_BYTES, PullPage, PushRequest, SCHEMA_VERSION};
use chrono::Utc;
use serde::Serialize;
use ts_rs::TS;

use crate::store::session::LocalSession;
use crate::store::notifications::NOTIFICATIONS_VIEW;
use crate::store::syncing::{ANALYTICS_VIEW, CAMPAIGNS_VIEW, DELIVERIES_VIEW, NETWORK_VIEW, RECOMMENDED_BY_VIEW, RewardsSummary};
use crate::{ClientError, LocalStore, ServerClient, token};

/// Changes per push and records per pull page. Pages of 1,000 (the server's most) pulled
/// no faster once the next page is fetched during the write (docs/performance.md,
/// "Sync"), and 500 keep a page well inside the request timeout on a slow link.
pub const BATCH: i64 = 500;
const _: () = assert!(BATCH as usize <= MAX_BATCH);
/// How many of the newest rewards the dashboard keeps.
pub const RECENT_REWARDS: i64 = 10;
/// How many of the newest notifications the app keeps.
pub const NOTIFICATIONS_KEPT: i64 = 50;
/// How the dashboard's growth analytics are bucketed (over the server's default range
/// for it, the last 12 weeks).
pub const ANALYTICS_PERIOD: Period = Period::Week;
/// A report is the most expensive read a round makes (docs/metrics.md, "Cost"), so it is
/// fetched again when the account's figures moved (its stats changed, or this round moved
/// records) and otherwise at most this often: a refund, a churn or a fraud decision,
/// which the stats do not show, reaches the dashboard within this time.
pub const ANALYTICS_MAX_AGE_MINUTES: i64 = 15;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncReport {
    /// Changes the server acknowledged.
    pub pushed: i64,
    /// Records that changed here because of the pull.
    pub pulled: i64,
    /// The server asked this device to start again (restored from a backup).
    pub reset: bool,
}

/// Signs this device in: the session is kept in the store, the token beside it.
pub async fn log_in(store: &LocalStore, server_url: &str, email: &str, password: &str, device_name: &str) -> Result<LocalSession, ClientError> {
    let server = ServerClient::new(server_url);
    let session = server.sign_in(email, password, device_name).await?;
    if let Some(current) = store.session()?
        && current.account_id != session.account.id
    {
        return Err(ClientError::Invalid(format!(
            "this data folder belongs to {}; use another data folder for another account",
            current.email
        )));
    }
    token::save(store.data_dir(), &session.token)?;
    let local = store.save_session(server.base_url(), &session)?;
    store.start_device_numbering()?;
    Ok(local)
}

/// Saves everything the server holds about the account as JSON in `dir`; returns where.
pub async fn export_account(store: &LocalStore, dir: &std::path::Path) -> Result<std::path::PathBuf, ClientError> {
    let document = server_of(store)?.export_account().await?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("bouquet-account-{}.json", Utc::now().format("%Y-%m-%d")));
    let text = serde_json::to_vec_pretty(&document).map_err(|e| ClientError::Protocol(e.to_string()))?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Deletes the account (the server first: offline, nothing is deleted), then everything
/// this device kept of it: its records, its session and its token.
pub async fn delete_account(store: &LocalStore, confirm_email: &str) -> Result<(), ClientError> {
    server_of(store)?.delete_account(confirm_email).await?;
    store.forget_everything()?;
    token::forget(store.data_dir())
}

/// The signed-in server, calling with this device's token.
pub fn server_of(store: &LocalStore) -> Result<ServerClient, ClientError> {
    let session = store.session()?.ok_or(ClientError::NotSignedIn)?;
    let token = token::load(store.data_dir())?.ok_or(ClientError::NotSignedIn)?;
    Ok(ServerClient::new(&session.server_url).with_token(&token))
}

/// One full round; the outcome (and any error's reason) is kept for the status line.
pub async fn sync_once(store: &LocalStore) -> Result<SyncReport, ClientError> {
    let outcome = async {
        let server = server_of(store)?;
        round(store, &server).await
    }
    .await;
    store.record_sync_outcome(outcome.as_ref().map(|_| ()))?;
    outcome
}

async fn round(store: &LocalStore, server: &ServerClient) -> Result<SyncReport, ClientError> {
    let mut report = SyncReport::default();
    store.prepare_push()?;
    report.pushed += push_all(store, server).await?;
    pull_all(store, server, &mut report).await?;
    if report.reset {
        // Everything local was queued again for the server that forgot it.
        report.pushed += push_all(store, server).await?;
    }
    let stats = server.stats().await?;
    let figures_moved = report.pushed > 0 || report.pulled > 0 || store.server_view::<StatsView>("stats")?.is_none_or(|saved| saved.value != stats);
    store.save_server_view("stats", &stats)?;
    store.save_server_view("codes", &server.code_statuses().await?)?;
    store.save_server_view(DELIVERIES_VIEW, &server.invitation_deliveries().await?)?;
    // Couples rank among couples, suppliers among suppliers.
    let kind = match store.session()?.map(|s| s.account_kind) {
        Some(AccountKind::Couple) => AccountKind::Couple,
        _ => AccountKind::Supplier,
    };
    store.save_server_view("rewards", &fetch_rewards(server, kind).await?)?;
    store.save_server_view(CAMPAIGNS_VIEW, &server.active_campaigns().await?)?;
    // A supplier's word of mouth: couples recommending them, suppliers who joined through them.
    if kind == AccountKind::Supplier {
        store.save_server_view(RECOMMENDED_BY_VIEW, &server.recommended_by().await?)?;
        store.save_server_view(NETWORK_VIEW, &server.network().await?)?;
    }
    // Notifications: the email choices made here go first, then what the server says.
    let sent = store.pending_notification_choices()?;
    let choices = if sent.is_empty() {
        server.notification_preferences().await?
    } else {
        server.set_notification_preferences(&sent.iter().map(|(c, _)| *c).collect::<Vec<_>>()).await?
    };
    store.save_notification_choices(&choices, &sent)?;
    store.save_server_view(NOTIFICATIONS_VIEW, &server.notifications(NOTIFICATIONS_KEPT).await?)?;
    // The dashboard's growth section: the server's default 12 weeks, week by week.
    let stale = store
        .server_view_fetched_at(ANALYTICS_VIEW)?
        .is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(ANALYTICS_MAX_AGE_MINUTES));
    if figures_moved || stale {
        store.save_server_view(ANALYTICS_VIEW, &server.my_analytics(ANALYTICS_PERIOD).await?)?;
    }
    Ok(report)
}

/// The account's rewards for the dashboard: balance, tier, the newest rewards and its
/// place on this month's `kind` board. An account without tiers (an admin) has none.
pub async fn fetch_rewards(server: &ServerClient, kind: AccountKind) -> Result<RewardsSummary, ClientError> {
    let tier = match server.tier().await {
        Ok(tier) => Some(tier),
        Err(ClientError::Server { code, .. }) if code == "no_tiers" => None,
        Err(e) => return Err(e),
    };
    Ok(RewardsSummary {
        balance: server.balance().await?,
        tier,
        recent: server.rewards(RECENT_REWARDS).await?.items,
        leaderboard_position: server.leaderboard(kind, LeaderboardPeriod::Month).await?.you,
    })
}

async fn push_all(store: &LocalStore, server: &ServerClient) -> Result<i64, ClientError> {
    let mut pushed = 0;
    loop {
        match push_once(store, server, BATCH).await? {
            0 => return Ok(pushed),
            n => pushed += n,
        }
    }
}

/// One push of at most `limit` changes; returns how many left the outbox. A gap (the
/// server has less of this device's history than it acknowledged: it was restored from
/// a backup) queues everything again, numbered to follow what the server has.
pub async fn push_once(store: &LocalStore, server: &ServerClient, limit: i64) -> Result<i64, ClientError> {
    let mut batch_limit = limit;
    let mut gaps = 0;
    loop {
        let changes = store.changes_to_push(batch_limit)?;
        if changes.is_empty() {
            return Ok(0);
        }
        // Cut the batch well inside the server's body limit.
        let mut size = 0;
        let mut batch = Vec::with_capacity(changes.len());
        for change in &changes {
            let value = serde_json::to_value(change).map_err(|e| ClientError::Protocol(e.to_string()))?;
            size += value.to_string().len();
            if size > MAX_PUSH_BYTES / 2 && !batch.is_empty() {
                break;
            }
            batch.push(value);
        }
        let request = PushRequest { schema_version: SCHEMA_VERSION, changes: batch };
        match server.push(&request).await {
            Ok(answer) => {
                store.learn_server_time(answer.server_time)?;
                return Ok(store.acknowledge(answer.applied_through)? as i64);
            }
            Err(ClientError::Server { code, .. }) if code == "push_gap" => {
                gaps += 1;
                if gaps > 1 {
                    return Err(ClientError::Protocol("the server refused this device's change numbers twice in a row".into()));
                }
                let state = server.sync_state().await?;
                store.resend_everything(state.applied_through)?;
            }
            // One change the server will not take (nothing of the push was applied): the
            // changes before it go first; then it is set aside for the user to fix or
            // discard, and the rest follow (docs/sync.md, "Refused changes").
            Err(ClientError::Refused { seq, code, message }) => {
                let first = changes[0].seq;
                if seq > first {
                    batch_limit = seq - first;
                    continue;
                }
                if seq != first {
                    return Err(ClientError::Protocol(format!("the server refused change {seq}, which this push did not carry")));
                }
                store.set_aside_refused(seq, &code, &message)?;
                batch_limit = limit;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What one pulled page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulledPage {
    /// Local records that changed.
    pub changed: i64,
    pub more: bool,
    pub reset: bool,
}

/// Pulls and applies one page of at most `limit` records.
pub async fn pull_once(store: &LocalStore, server: &ServerClient, limit: i64) -> Result<PulledPage, ClientError> {
    let (after, epoch) = store.pull_position()?;
    let page = server.pull(after, epoch.as_deref(), limit).await?;
    apply_pulled(store, &page, std::time::Instant::now())
}

/// Applies a page that arrived at `received` (a page fetched ahead may wait while the
/// one before it is written: the server's clock it carries is aged by that wait).
fn apply_pulled(store: &LocalStore, page: &PullPage, received: std::time::Instant) -> Result<PulledPage, ClientError> {
    let waited = chrono::Duration::from_std(received.elapsed()).unwrap_or_default();
    store.learn_server_time(page.server_time + waited)?;
    let changed = store.apply_page(page)? as i64;
    Ok(PulledPage { changed, more: page.more, reset: page.reset })
}

/// Pulls every page from the cursor on. The next page is fetched while this one is
/// written, so the server's read and this device's write overlap (docs/performance.md,
/// "Sync"); pages still commit one by one, in order, each with its cursor, and a page
/// that fails to apply leaves the cursor before it (the page fetched ahead is dropped).
async fn pull_all(store: &LocalStore, server: &ServerClient, report: &mut SyncReport) -> Result<(), ClientError> {
    let (after, epoch) = store.pull_position()?;
    let mut fetching = Prefetch::start(server, after, epoch, BATCH);
    loop {
        let (page, received) = fetching.finish().await?;
        let next = page.more.then(|| Prefetch::start(server, page.next_after, Some(page.epoch.clone()), BATCH));
        let applied = apply_pulled(store, &page, received)?;
        report.reset |= applied.reset;
        report.pulled += applied.changed;
        match next {
            Some(next) => fetching = next,
            None => return Ok(()),
        }
    }
}

/// A pull page being fetched in the background; dropping it (a failed apply, an
/// abandoned round) cancels the request.
struct Prefetch(tokio::task::JoinHandle<Result<(PullPage, std::time::Instant), ClientError>>);

impl Prefetch {
    fn start(server: &ServerClient, after: i64, epoch: Option<String>, limit: i64) -> Self {
        let server = server.clone();
        Self(tokio::spawn(async move {
            let page = server.pull(after, epoch.as_deref(), limit).await?;
            Ok((page, std::time::Instant::now()))
        }))
    }

    /// The page and when it arrived.
    async fn finish(&mut self) -> Result<(PullPage, std::time::Instant), ClientError> {
        (&mut self.0).await.map_err(|e| ClientError::Protocol(format!("fetching a pull page stopped: {e}")))?
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When the next attempt should be after `failures` failures in a row: 2 s doubling up
/// to 5 minutes, so a flaky network is retried soon and a dead one is not hammered.
pub fn backoff(failures: u32) -> std::time::Duration {
    std::time::Duration::from_secs(2u64.saturating_pow(failures.min(9)).min(300))
}
