//! Storage: one trait of business verbs ([`Store`], and [`EventTx`]/[`SyncTx`] for the
//! steps that must commit together), implemented once (`sql`) for SQLite and PostgreSQL.
//! Nothing above this module knows SQL; nothing in here knows HTTP or the business rules.
//!
//! - `sql`, `events`, `syncing`: the operations, one SQL text for both databases.
//! - `db`: runs a statement on either database; encodes arguments and decodes rows.
//! - `dialect`: the little that must differ (connecting, row locks, one statement).
//! - `migrations`: the schema, shared where the databases agree.

mod analytics;
pub mod backup;
mod analytics_days;
mod analytics_referrers;
mod campaigns;
mod db;
mod dialect;
mod email;
mod events;
mod experiments;
mod fraud;
mod migrations;
mod network;
mod notifications;
mod privacy;
mod recommendations;
mod rewards;
mod rewards_sql;
mod rows;
mod sign_in_links;
mod sql;
mod syncing;
mod time;
mod visits;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use bouquet_core::api::{AccountView, ConversionView, ReferralView};
use bouquet_core::attribution::{Channel, Credit, Touch};
use bouquet_core::sync::{CodeStatus, Entity, Record, RecordState};
use bouquet_core::{AccountKind, AttributionModel, CodeNamespace, Money};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

pub use analytics::AnalyticsStore;
pub use email::{BeginSend, ClaimedBatch, EmailBacklog, EmailStore, OutgoingEmail, QueuedInvitation, SendOutcome};
pub use recommendations::{RecommendationStore, SupplierChoice};
pub use experiments::{ExperimentRow, ExperimentStore, ExperimentTx, ReferrerCounts, VariantRow};
pub use fraud::{AssessmentRow, FraudStore, FraudSubjectRow, FraudTx, ReviewRow, TouchFact};
pub use campaigns::{CampaignRow, CampaignStore, CampaignTx, ReferralFacts};
pub use rewards::{AccountOverview, LedgerAudit, LedgerEntryRow, RewardRow, RewardStore, RewardTx, StandingRow, Transfer};
pub use rewards_sql::PROGRAM;
pub use sql::SqlStore;
pub use webhooks::{Attempt, AttemptOutcome, DueDelivery, WebhookStore};
pub use sign_in_links::SignInLinkStore;
pub use network::NetworkStore;
pub use privacy::PrivacyStore;
pub use notifications::{AudienceMember, NotificationEmail, NotificationEmailOutcome, NotificationLogRow, NotificationStore, StoredNotification};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint said no: the thing already exists.
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// A constraint that guards a rule said no (e.g. a balance below zero).
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// An operator's command (backup, restore) cannot be done, and why.
    #[error("{0}")]
    Operation(String),
    /// A campaign charge made at commit ([`CampaignTx::reserve_budget_at_commit`]) no
    /// longer fits the campaign's budget: the transaction was not committed.
    #[error("campaign {0}'s budget was spent while the transaction ran")]
    BudgetTaken(Uuid),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`) and migrates it.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

pub struct NewAccount {
    pub id: Uuid,
    pub kind: AccountKind,
    pub email: String,
    pub password_hash: String,
    pub business_name: Option<String>,
    pub vendor_type: Option<String>,
    pub couple_names: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub locale: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A device's session: who is calling and from which device.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: AccountView,
    pub device_id: Uuid,
}

#[derive(Clone)]
pub struct NewReferral {
    pub id: Uuid,
    /// Seasonal campaigns whose window and audience cover the referral as it is made: their
    /// referral counts grow with it, in the same transaction.
    pub seasonal_campaigns: Vec<Uuid>,
    pub code: String,
    pub referrer_id: Uuid,
    pub referrer_type: AccountKind,
    pub referee_type: AccountKind,
    pub method: String,
    pub campaign_id: Option<Uuid>,
    pub source_url: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub vendor_type: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub message: Option<String>,
    pub incentive_offered: Option<String>,
    pub incentive_amount: Option<Money>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored referral, with the referrer's public face for the landing page.
#[derive(Debug, Clone)]
pub struct StoredReferral {
    /// `link` and `qr_link` are empty: they depend on the server's public URL, which
    /// the HTTP layer fills in.
    pub view: ReferralView,
    pub referrer_name: String,
}

/// A visit to `/r/CODE` as recorded (bots never get here).
pub struct NewVisit {
    pub touch_id: Uuid,
    pub referral_id: Uuid,
    pub referrer_id: Uuid,
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    pub visitor_key: String,
    pub ip_hash: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
}

pub struct NewLead {
    pub id: Uuid,
    pub touch_id: Uuid,
    pub referral_id: Uuid,
    pub couple_names: String,
    pub email: String,
    pub wedding_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClaim {
    /// First sighting of this idempotency key: the event is ours to apply.
    New,
    /// Seen before; here is the outcome it had.
    Replay,
}

/// A platform user's milestone, as stamped on `platform_users` and the referrals they touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    SignedUp,
    Activated,
    Churned,
    Refunded,
}

pub struct NewConversion {
    pub id: Uuid,
    pub event_id: Uuid,
    pub platform_user_id: String,
    pub model: AttributionModel,
    pub converted_at: DateTime<Utc>,
    pub time_to_convert_seconds: i64,
    pub plan: Option<String>,
    pub value: Option<Money>,
    pub annual: bool,
    pub mrr: Option<Money>,
    pub credits: Vec<Credit>,
    pub primary: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsRow {
    pub total_referrals: i64,
    pub active_referrals: i64,
    pub unique_visits: i64,
    pub qr_scans: i64,
    pub leads: i64,
    pub signups: i64,
    pub activations: i64,
    pub successful_referrals: i64,
    pub total_time_to_convert_seconds: i64,
    pub value_generated: Vec<Money>,
    pub last_referral_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Store: EmailStore + WebhookStore + NotificationStore + SignInLinkStore + RewardStore + CampaignStore + ExperimentStore + FraudStore + AnalyticsStore + RecommendationStore + NetworkStore + PrivacyStore + Send + Sync + 'static {
    /// "sqlite" or "postgres", for health and logs.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;

    // --- accounts, devices, keys ---
    async fn create_account(&self, account: NewAccount) -> StoreResult<AccountView>;
    /// The account and its password hash, by normalised email.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<(AccountView, String)>>;
    async fn account(&self, id: Uuid) -> StoreResult<Option<AccountView>>;
    /// The account's language (BCP 47), or none to follow the browser.
    async fn set_locale(&self, account_id: Uuid, locale: Option<&str>) -> StoreResult<()>;
    /// Counts a password attempt for an email from a client (both keyed hashes), before it
    /// is checked, so attempts in flight at once each get their own number: how many came
    /// in a row without success, this one included, and the lock if one holds. The count
    /// starts again once a lock has passed or when the last attempt is older than
    /// `forget_before`.
    async fn begin_sign_in(&self, email_hash: &str, client_hash: &str, at: DateTime<Utc>, forget_before: DateTime<Utc>) -> StoreResult<(i64, Option<DateTime<Utc>>)>;
    async fn lock_sign_in(&self, email_hash: &str, client_hash: &str, until: DateTime<Utc>) -> StoreResult<()>;
    /// A right password (that client's count) or a used sign-in link (every client's).
    async fn clear_sign_in_failures(&self, email_hash: &str, client_hash: Option<&str>) -> StoreResult<()>;
    /// Registers a device with its token hash and allocates it a fresh, unique code
    /// namespace.
    async fn create_device(&self, account_id: Uuid, name: Option<&str>, token_hash: &str) -> StoreResult<(Uuid, CodeNamespace)>;
    async fn caller_by_token(&self, token_hash: &str) -> StoreResult<Option<Caller>>;
    /// Ends a session: the device's token stops working.
    async fn revoke_device(&self, device_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    async fn create_api_key(&self, name: &str, key_hash: &str) -> StoreResult<Uuid>;
    async fn api_key_exists(&self, key_hash: &str) -> StoreResult<bool>;
    /// The namespace for codes the server makes on the account's behalf (allocated once).
    async fn server_namespace(&self, account_id: Uuid) -> StoreResult<CodeNamespace>;
    /// Whether `namespace` was issued to this account (to one of its devices or the server).
    async fn namespace_belongs_to(&self, namespace: &str, account_id: Uuid) -> StoreResult<bool>;
    /// The shared secret `name`: `candidate` is stored if none exists yet, and whichever
    /// value won is returned, so every server process on the database agrees.
    async fn shared_secret(&self, name: &str, candidate: &str) -> StoreResult<String>;
    /// Sets the shared secret `name` to `value`, whatever it was.
    async fn replace_shared_secret(&self, name: &str, value: &str) -> StoreResult<()>;
    /// Waits for the connections in use and closes them all (SQLite folds its write-ahead
    /// log into the file); the store refuses work afterwards.
    async fn close(&self);

    // --- referrals ---
    async fn create_referral(&self, referral: NewReferral) -> StoreResult<StoredReferral>;
    async fn referral_by_code(&self, code: &str) -> StoreResult<Option<StoredReferral>>;
    /// The referrer's referrals, newest first, `limit` after the `after` cursor.
    async fn list_referrals(&self, referrer_id: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<StoredReferral>>;

    // --- the landing page ---
    /// Records a visit; it is unique unless the same visitor touched the same referral
    /// within `unique_window` before. Returns whether it was unique.
    async fn record_visit(&self, visit: NewVisit, unique_window: chrono::Duration) -> StoreResult<bool>;
    /// The referral and visit time of a touch, to check a lead form's touch.
    async fn touch(&self, touch_id: Uuid) -> StoreResult<Option<(Uuid, DateTime<Utc>)>>;
    async fn record_lead(&self, lead: NewLead) -> StoreResult<()>;

    // --- platform events ---
    async fn begin_event(&self) -> StoreResult<Box<dyn EventTx>>;
    async fn stats(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<StatsRow>;

    // --- sync ---
    async fn begin_sync(&self) -> StoreResult<Box<dyn SyncTx>>;
    /// The device's applied change number and its account's last change number.
    async fn sync_position(&self, account_id: Uuid, device_id: Uuid) -> StoreResult<(i64, i64)>;
    /// The account's records changed after change `after`, oldest change first.
    async fn pull(&self, account_id: Uuid, after: i64, limit: i64) -> StoreResult<Vec<Record>>;
    /// The live state of the account's codes that anyone has touched, or that expired.
    async fn code_statuses(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<CodeStatus>>;
}

/// A couple captured at a fair booth, as a touch on the code they were shown.
pub struct NewFairLead {
    /// The device's lead id: the touch's and the lead's id.
    pub id: Uuid,
    pub code: String,
    pub referrer_id: Uuid,
    pub couple_names: String,
    pub email: String,
    pub wedding_date: Option<NaiveDate>,
    pub captured_at: DateTime<Utc>,
}

/// The steps of applying one push, inside one transaction: all of them or none.
#[async_trait]
pub trait SyncTx: Send {
    /// Locks the device's push position (until commit) and returns it.
    async fn applied_through(&mut self, device_id: Uuid) -> StoreResult<i64>;
    async fn set_applied_through(&mut self, device_id: Uuid, seq: i64) -> StoreResult<()>;
    async fn record(&mut self, account_id: Uuid, entity: Entity, id: Uuid) -> StoreResult<Option<RecordState>>;
    /// Saves the record under the account's next change number, which it returns.
    async fn save_record(&mut self, account_id: Uuid, entity: Entity, id: Uuid, state: &RecordState) -> StoreResult<i64>;
    /// `Conflict` when the code is taken.
    async fn add_referral(&mut self, referral: &NewReferral) -> StoreResult<()>;
    /// Ends the referral of a deleted code at `at` (its link then says it has expired).
    async fn end_referral(&mut self, code: &str, referrer_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// `false` when the referrer has no such code.
    async fn add_fair_lead(&mut self, lead: &NewFairLead) -> StoreResult<bool>;
    /// The account's fair-lead records captured for `contact_id` (not deleted).
    async fn leads_of_contact(&mut self, account_id: Uuid, contact_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// The fair lead `lead_id` takes its contact's current names, email and date, and is
    /// tied to the platform user who signed up with that email, if one has and it is not
    /// tied yet. `false` when the lead has no row (its contact had no email at capture).
    async fn relink_fair_lead(&mut self, account_id: Uuid, lead_id: Uuid, names: &str, email: Option<&str>, wedding_date: Option<NaiveDate>) -> StoreResult<bool>;
    /// Records a fair's local date (fraud rules expect traffic on its codes that day).
    async fn save_fair(&mut self, account_id: Uuid, fair_id: Uuid, local_date: Option<NaiveDate>) -> StoreResult<()>;
    /// Ties the account's code to one of its fairs (or unties it).
    async fn tie_code_to_fair(&mut self, code: &str, referrer_id: Uuid, fair_id: Option<Uuid>) -> StoreResult<()>;
    /// An invitation the supplier queued: the server sends it (docs/email.md).
    async fn queue_invitation(&mut self, invitation: &QueuedInvitation) -> StoreResult<()>;
    /// An invitation taken back to drafts or deleted: cancelled unless it has started to go.
    async fn cancel_invitation(&mut self, account_id: Uuid, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// The steps of applying one platform event, inside one database transaction: either
/// all of them commit, or none. Dropping it without `commit` rolls back.
#[async_trait]
pub trait EventTx: Send {
    /// Claims the idempotency key. `Replay` carries the outcome stored by the first
    /// application (which may still be committing elsewhere; this waits for it).
    async fn claim(&mut self, event_id: Uuid, key: &str, event_type: &str, occurred_at: DateTime<Utc>, user_id: &str, payload: &str) -> StoreResult<(EventClaim, Option<String>)>;
    async fn upsert_user(&mut self, user_id: &str, kind: AccountKind, email: Option<&str>) -> StoreResult<()>;
    /// Ties a visit touch to the user (when it is not tied to someone else already).
    async fn link_touch(&mut self, touch_id: Uuid, user_id: &str) -> StoreResult<u64>;
    /// Ties the touches of leads left with `email` to the user.
    async fn link_lead_touches(&mut self, email: &str, user_id: &str) -> StoreResult<u64>;
    /// Records a typed code as a touch of the user.
    async fn add_code_touch(&mut self, touch_id: Uuid, referral_id: Uuid, referrer_id: Uuid, user_id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn touches_of(&mut self, user_id: &str) -> StoreResult<Vec<Touch>>;
    /// Stamps the stage on the user and (first time only) on every referral they touched.
    async fn stamp_stage(&mut self, user_id: &str, stage: Stage, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records the conversion, its credits, the primary referral's conversion fields and
    /// the referrers' stats. `false` when the user had already converted (nothing written).
    async fn record_conversion(&mut self, conversion: &NewConversion) -> StoreResult<bool>;
    /// The user's conversion, if any, as stored.
    async fn conversion_of(&mut self, user_id: &str) -> StoreResult<Option<ConversionView>>;
    /// The rewards side of this same transaction.
    fn rewards(&mut self) -> &mut dyn RewardTx;
    async fn finish(self: Box<Self>, event_id: Uuid, outcome: &str) -> StoreResult<()>;
}
