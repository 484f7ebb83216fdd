//! Landing-page visits written in groups: the `/r/CODE` hot path's one write.
//!
//! A fair is a burst of phones on one code. Written one transaction per visit, every
//! visit queued on SQLite's single write lock (each waiter sleeping in SQLite's busy
//! handler), and the page answered at a fiftieth of what the same machine serves without
//! the write. Here each visit is handed to a writer task, which takes every visit waiting
//! at that moment and records them in one transaction: a group commit. The page is still
//! answered only after its visit is committed, so nothing changes for a reader — the lead
//! form finds its touch, a conversion can link it, a crash loses no answered visit, and a
//! graceful stop (which waits for answers in flight) loses none either. Under light load
//! a group is one visit and nothing waits; under a burst the groups grow and the cost of
//! a commit is shared.

use std::sync::Arc;

use bouquet_core::webhooks::EventType;
use tokio::sync::{mpsc, oneshot};

use super::db::{Dialect, Pool, Tx, args};
use super::webhooks::Interest;
use super::rows::Columns;
use super::{NewVisit, StoreError, StoreResult, dialect};

/// The most visits one transaction records; more wait for the next group.
const MOST_PER_GROUP: usize = 256;

/// Visits waiting for a writer before the page handlers themselves wait to hand theirs
/// over (so a stalled database holds memory to this, not to the length of the burst).
const QUEUE: usize = 4096;

struct Pending {
    visit: NewVisit,
    unique_window: chrono::Duration,
    answer: oneshot::Sender<StoreResult<bool>>,
}

/// Hands visits to the writer task and waits for their commit.
pub(super) struct VisitWriter {
    queue: mpsc::Sender<Pending>,
    pool: Pool,
    interest: Arc<Interest>,
}

impl VisitWriter {
    /// Starts the writer. One, on both databases: SQLite has one writer anyway, and on
    /// PostgreSQL a fair's burst is on one code, whose counters row every group updates —
    /// four writers measured slower than one (each group waited for the row lock, then
    /// for its own commit's flush), where one writer makes fewer, larger groups. Several
    /// server processes still write side by side.
    pub(super) fn start(pool: Pool, interest: Arc<Interest>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let writer = write_groups(pool.clone(), interest.clone(), receiver);
        match pool.dialect() {
            Dialect::Sqlite => on_its_own_thread(writer),
            // A PostgreSQL connection the writer opened would belong to the writer's
            // runtime, and be dead to the rest of the server once that runtime ended; the
            // waits here are the network's, which a thread of its own would not shorten.
            Dialect::Postgres => {
                tokio::spawn(writer);
            }
        }
        Self { queue, pool, interest }
    }

    /// Records the visit with whatever else is waiting; whether it counted as unique.
    pub(super) async fn record(&self, visit: NewVisit, unique_window: chrono::Duration) -> StoreResult<bool> {
        let (answer, answered) = oneshot::channel();
        match self.queue.send(Pending { visit, unique_window, answer }).await {
            Ok(()) => match answered.await {
                Ok(result) => result,
                // The writer is gone (its runtime ended): nothing was written for it.
                Err(_) => Err(sqlx::Error::WorkerCrashed.into()),
            },
            // No writer left to take it (the runtime that started them has ended, as
            // between tests): write it here, alone.
            Err(mpsc::error::SendError(pending)) => {
                Ok(write_group(&self.pool, &self.interest, &[pending.visit], pending.unique_window).await?[0])
            }
        }
    }
}

/// Runs SQLite's writer on a thread and runtime of its own. A group is three to five
/// statements (begin, one to three inserts, commit), each handed to the connection's thread and awaited; on
/// the server's runtime every one of those wake-ups queued behind the page requests of the
/// very burst the writer was serving, and a group of seven visits took a millisecond.
/// Alone, the writer resumes the moment each statement is done (measured: a sixth more
/// pages a second under the fair's burst). It ends when the store's last handle is gone.
fn on_its_own_thread(writer: impl std::future::Future<Output = ()> + Send + 'static) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let started = runtime.and_then(|runtime| {
        std::thread::Builder::new().name("visit-writer".into()).spawn(move || runtime.block_on(writer))
    });
    if let Err(e) = started {
        // Visits are then written by the page handlers themselves, alone (`record`).
        tracing::error!(error = %e, "no thread for the landing-page visit writer");
    }
}

/// One writer: waits for a visit, takes every other one waiting, writes them together.
async fn write_groups(pool: Pool, interest: Arc<Interest>, mut receiver: mpsc::Receiver<Pending>) {
    let mut taken = Vec::with_capacity(MOST_PER_GROUP);
    loop {
        if receiver.recv_many(&mut taken, MOST_PER_GROUP).await == 0 {
            return; // every sender is gone: the store was dropped
        }
        write_and_answer(&pool, &interest, std::mem::take(&mut taken)).await;
        taken.reserve(MOST_PER_GROUP);
    }
}

/// Writes a group and tells each waiter. Visits in one group share a unique window (it is
/// a constant), so the group is split only if a caller ever passes another.
async fn write_and_answer(pool: &Pool, interest: &Interest, mut group: Vec<Pending>) {
    // A visit whose page already failed (the request timed out while it waited) is not
    // written: the visitor got an error, not a page.
    group.retain(|p| !p.answer.is_closed());
    let Some(first) = group.first() else { return };
    let window = first.unique_window;
    if group.iter().any(|p| p.unique_window != window) || group.len() == 1 {
        for pending in group {
            answer_alone(pool, interest, pending).await;
        }
        return;
    }
    let (visits, answers): (Vec<NewVisit>, Vec<_>) = group.into_iter().map(|p| (p.visit, p.answer)).unzip();
    match write_group(pool, interest, &visits, window).await {
        Ok(unique) => {
            for (answer, unique) in answers.into_iter().zip(unique) {
                let _ = answer.send(Ok(unique));
            }
        }
        // One bad visit (its referral deleted a moment ago, say) must not cost the others
        // theirs: each is tried alone and gets its own answer.
        Err(e) if belongs_to_one_visit(&e) => {
            for (visit, answer) in visits.into_iter().zip(answers) {
                answer_alone(pool, interest, Pending { visit, unique_window: window, answer }).await;
            }
        }
        // The database itself said no (busy past its timeout, a lock waited too long, gone):
        // trying each visit alone would wait that long once per visit while every page on
        // this server waits behind them. The whole group fails at once.
        Err(e) => {
            tracing::warn!(error = %e, visits = answers.len(), "a group of landing-page visits was not recorded");
            for answer in answers {
                let _ = answer.send(Err(not_recorded(&e)));
            }
        }
    }
}

/// Whether an error is about one visit's own data (a constraint it broke), so the rest of
/// its group can still be written.
fn belongs_to_one_visit(e: &StoreError) -> bool {
    use sqlx::error::ErrorKind;
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.kind(), ErrorKind::ForeignKeyViolation | ErrorKind::UniqueViolation | ErrorKind::NotNullViolation | ErrorKind::CheckViolation)
        }
        StoreError::Conflict(_) | StoreError::Refused(_) | StoreError::Corrupt(_) => true,
        _ => false,
    }
}

/// Each waiter's copy of a group's failure: the database could not take the write now
/// (answered 503, as any store call that finds the database unavailable).
fn not_recorded(e: &StoreError) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!("the visit was not recorded: {e}"))))
}

async fn answer_alone(pool: &Pool, interest: &Interest, pending: Pending) {
    let result = write_group(pool, interest, &[pending.visit], pending.unique_window).await.map(|unique| unique[0]);
    let _ = pending.answer.send(result);
}

/// Records the visits in one transaction; whether each counted as unique, in the order
/// given. A visitor's second visit to a referral in one group is not unique (the first
/// counts); the rows go in as few statements as [`dialect::VISIT_BATCHES`] allow (37
/// visits: three statements), each one round trip.
async fn write_group(pool: &Pool, interest: &Interest, visits: &[NewVisit], unique_window: chrono::Duration) -> StoreResult<Vec<bool>> {
    let announce = super::webhooks::subscribed(pool, interest, EventType::TouchRecorded).await?;
    let mut seen = std::collections::HashSet::with_capacity(visits.len());
    let first_in_group: Vec<bool> = visits.iter().map(|v| seen.insert((v.referral_id, v.visitor_key.as_str()))).collect();
    let mut tx = pool.begin_write_impatient().await?;
    dialect::lock_visits(&mut tx, visits.iter().map(visitor_lock), visits.iter().map(|v| v.referral_id)).await?;
    let mut unique = Vec::with_capacity(visits.len());
    let mut at = 0;
    while at < visits.len() {
        let rows = dialect::VISIT_BATCHES.into_iter().find(|&n| n <= visits.len() - at).expect("1 is a batch size");
        let chunk = at..at + rows;
        unique.extend(insert(&mut tx, &visits[chunk.clone()], &first_in_group[chunk], unique_window).await?);
        at += rows;
    }
    if announce {
        // Someone listens: the visits and their events commit together.
        for (v, &unique) in visits.iter().zip(&unique) {
            let payload = super::webhooks::touch_payload(v.touch_id, v.referral_id, v.referrer_id, v.channel, v.occurred_at, unique);
            super::webhooks::emit(&mut tx, EventType::TouchRecorded, &payload, v.occurred_at).await?;
        }
    }
    tx.commit().await?;
    Ok(unique)
}

/// The lock key of a visitor on a referral: "is this visit unique" reads the visitor's
/// earlier visits, and two transactions asking at once (two writers, or two server
/// processes on PostgreSQL) would both find none. Stable across processes and versions.
fn visitor_lock(v: &NewVisit) -> i32 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(v.referral_id.as_bytes()).chain_update(v.visitor_key.as_bytes()).finalize();
    i32::from_be_bytes(digest[..4].try_into().expect("4 bytes"))
}

/// Writes `visits` in one statement; whether each counted as unique, in their order.
async fn insert(tx: &mut Tx, visits: &[NewVisit], first_in_group: &[bool], unique_window: chrono::Duration) -> StoreResult<Vec<bool>> {
    let mut args = Vec::with_capacity(visits.len() * dialect::VISIT_COLUMNS);
    for (v, &first) in visits.iter().zip(first_in_group) {
        args.extend(args![
            v.touch_id,
            v.referral_id,
            v.referrer_id,
            v.channel.as_str(),
            v.occurred_at,
            &v.visitor_key,
            &v.ip_hash,
            &v.user_agent,
            &v.referer,
            &v.utm_source,
            &v.utm_medium,
            &v.utm_campaign,
            v.occurred_at - unique_window,
            first,
        ]);
    }
    let rows = tx.fetch_all(dialect::record_visits_sql(tx.dialect(), visits.len()), &args).await?;
    let mut unique = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        unique.insert(row.uuid("id")?, row.flag("is_unique")?);
    }
    visits
        .iter()
        .map(|v| unique.get(&v.touch_id).copied().ok_or_else(|| StoreError::Corrupt(format!("visit {} was not recorded by its group", v.touch_id))))
        .collect()
}
