//! Storage verbs of rewards and their ledger: [`RewardTx`] for the steps that commit with
//! a conversion, a refund, the scheduler's tick, a claim or an adjustment; [`RewardStore`]
//! for what the API and the console read. The rules live in `service::rewards`.

use async_trait::async_trait;
use bouquet_core::ledger::{LedgerBucket, LedgerCause, Posting};
use bouquet_core::reward_status::RewardStatus;
use bouquet_core::rewards::RewardRole;
use bouquet_core::tiers::Tier;
use bouquet_core::{AccountKind, Money};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

/// One reward as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRow {
    pub id: Uuid,
    /// Whose ledger it posts to (an account's id, or a referee's platform holder id).
    pub holder: Uuid,
    pub account_id: Option<Uuid>,
    pub platform_user_id: Option<String>,
    pub role: RewardRole,
    pub amount: Money,
    /// A referrer reward: their attributed share of the conversion's value.
    pub value_minor: i64,
    pub status: RewardStatus,
    pub reason: String,
    pub referral_id: Option<Uuid>,
    pub conversion_id: Option<Uuid>,
    /// The campaign it was granted under (its amount is that campaign's spend).
    pub campaign_id: Option<Uuid>,
    /// The platform user whose conversion earned it.
    pub referee_user_id: Option<String>,
    pub tier: Option<Tier>,
    pub awaiting_paid_plan: bool,
    pub created_at: DateTime<Utc>,
    /// The conversion's time (or the tier's): leaderboard periods count by it.
    pub earned_at: DateTime<Utc>,
    pub eligible_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub status_at: DateTime<Utc>,
}

/// Postings that commit together, with what they are about.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub postings: Vec<Posting>,
    pub currency: String,
    pub reward_id: Option<Uuid>,
    pub memo: Option<String>,
    pub created_by: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub at: DateTime<Utc>,
}

/// One side of a posting, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntryRow {
    pub id: Uuid,
    pub transfer_id: Uuid,
    pub holder: Uuid,
    /// `None` for the program's liability.
    pub book: Option<LedgerBucket>,
    /// Signed: + into the balance, − out of it.
    pub amount: Money,
    pub cause: LedgerCause,
    pub reward_id: Option<Uuid>,
    pub memo: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A referrer's standing for tiers and leaderboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingRow {
    pub account_id: Uuid,
    pub kind: AccountKind,
    pub successful_referrals: i64,
    pub value_generated_minor: i64,
    pub reached_at: Option<DateTime<Utc>>,
    /// The account's name (a business's or a couple's) and whether it may be shown.
    pub name: Option<String>,
    pub show_name: bool,
}

/// An account in the operators' console: who, their balances, their standing.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub account: bouquet_core::api::AccountView,
    pub balances: Vec<(LedgerBucket, Money)>,
    pub successful_referrals: i64,
}

/// Whether the books add up: what the invariant tests and an operator check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerAudit {
    /// Transfers whose entries do not sum to zero (must be none).
    pub unbalanced_transfers: i64,
    /// Balances that differ from the sum of their entries (must be none).
    pub mismatched_balances: i64,
    /// Per currency, the sum of every balance (must be zero).
    pub totals: Vec<Money>,
    /// Balances other than the program's that are below zero (must be none).
    pub negative_balances: i64,
    /// Rewards for conversions that do not exist (must be none).
    pub orphan_rewards: i64,
    /// Conversions rewarded more than once per holder and role (must be none).
    pub duplicate_rewards: i64,
}

impl LedgerAudit {
    pub fn is_clean(&self) -> bool {
        self.unbalanced_transfers == 0
            && self.mismatched_balances == 0
            && self.negative_balances == 0
            && self.orphan_rewards == 0
            && self.duplicate_rewards == 0
            && self.totals.iter().all(|m| m.amount_minor == 0)
    }
}

/// The rewards side of one transaction (and its campaigns').
#[async_trait]
pub trait RewardTx: super::CampaignTx + super::ExperimentTx + super::FraudTx + Send {
    /// Writes the entries of `transfer` and moves their balances. `Refused` when a
    /// balance other than the program's would go below zero, `Conflict` when the
    /// adjustment's idempotency key was used before; the transaction must then be dropped.
    async fn post(&mut self, transfer: &Transfer) -> StoreResult<()>;
    /// `false` when this conversion already rewarded this holder in this role, or the
    /// holder already has this tier's reward.
    async fn insert_reward(&mut self, reward: &RewardRow) -> StoreResult<bool>;
    /// The reward, locked until commit.
    async fn reward_for_update(&mut self, id: Uuid) -> StoreResult<Option<RewardRow>>;
    /// Moves the reward from `from` to `to` if it is still `from` (`false` otherwise).
    async fn set_reward_status(&mut self, id: Uuid, from: RewardStatus, to: RewardStatus, at: DateTime<Utc>) -> StoreResult<bool>;
    /// The rewards a referee's conversion earned (theirs and their referrers'), locked.
    async fn rewards_of_referee(&mut self, user_id: &str) -> StoreResult<Vec<RewardRow>>;
    /// The referee paid: their conversion's rewards no longer wait for a paid plan.
    async fn clear_awaiting_paid_plan(&mut self, user_id: &str) -> StoreResult<u64>;
    /// Up to `limit` pending rewards whose holding period ended by `now` and that do not
    /// wait for a paid plan, locked (other processes skip them).
    async fn due_rewards(&mut self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<RewardRow>>;
    /// Up to `limit` pending or eligible rewards whose expiry passed by `now`, locked.
    async fn expired_rewards(&mut self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<RewardRow>>;
    /// Adds to a referrer's standing (creating it) and returns the successful referrals
    /// before and after; the row stays locked until commit, so two conversions of one
    /// referrer count one after the other.
    async fn add_to_standing(&mut self, account_id: Uuid, kind: AccountKind, successes: i64, value_minor: i64, at: DateTime<Utc>) -> StoreResult<(i64, i64)>;
    /// The referrer's conversions held for fraud review (not counted in the standing).
    async fn held_successes(&mut self, account_id: Uuid) -> StoreResult<i64>;
    /// A referrer's conversion was voided or clawed back: one fewer successful referral.
    async fn remove_success(&mut self, account_id: Uuid, value_minor: i64) -> StoreResult<()>;
    /// Records that the account reached `tier` (`false` if it already had).
    async fn record_tier(&mut self, account_id: Uuid, tier: Tier, successful: i64, reward_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Commits a transaction begun with [`RewardStore::begin_rewards`].
    /// Tells an account something, in this transaction (docs/notifications.md).
    /// `notice` is what happened; `words` tell it in the account's chosen language.
    async fn notify(
        &mut self,
        account_id: Uuid,
        notice: &bouquet_core::notifications::Notice,
        words: &bouquet_core::notifications::Message,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The language the account chose (BCP 47), if any: its notifications are written in it.
    async fn locale_of(&mut self, account_id: Uuid) -> StoreResult<Option<String>>;
    /// Writes a webhook event to the outbox, in this transaction (docs/webhooks.md).
    async fn emit_webhook(&mut self, event: bouquet_core::webhooks::EventType, payload: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Ends it without a change, releasing its row locks at once.
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// What the API, the console and the scheduler read and begin.
#[async_trait]
pub trait RewardStore: Send + Sync {
    async fn begin_rewards(&self) -> StoreResult<Box<dyn RewardTx>>;
    /// The holder's rewards, newest first, `limit` after the `after` cursor.
    async fn rewards_of(&self, holder: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<RewardRow>>;
    /// The holder's balances by book and currency (absent ones are zero).
    async fn balances_of(&self, holder: Uuid) -> StoreResult<Vec<(LedgerBucket, Money)>>;
    /// The holder's ledger entries, newest first, `limit` after the `after` cursor.
    async fn ledger_of(&self, holder: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<LedgerEntryRow>>;
    async fn standing(&self, account_id: Uuid) -> StoreResult<Option<StandingRow>>;
    /// The best `limit` of `kind` by the leaderboard's order; all time when `since` is
    /// `None`, else counting the referrer rewards made since then that still count.
    async fn leaderboard(&self, kind: AccountKind, since: Option<DateTime<Utc>>, limit: i64) -> StoreResult<Vec<StandingRow>>;
    /// The account's own standing in that leaderboard and how many rank above it.
    async fn leaderboard_position(&self, account_id: Uuid, kind: AccountKind, since: Option<DateTime<Utc>>) -> StoreResult<Option<(i64, StandingRow)>>;
    async fn set_show_on_leaderboards(&self, account_id: Uuid, show: bool) -> StoreResult<()>;
    /// Accounts for the console, newest first, optionally filtered by email or name.
    async fn accounts_overview(&self, search: Option<&str>, limit: i64) -> StoreResult<Vec<AccountOverview>>;
    async fn audit_ledger(&self) -> StoreResult<LedgerAudit>;
}
