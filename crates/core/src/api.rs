//! The server's HTTP API as types: requests and responses of `/api/v1`. The server
//! serves them, the desktop app and the CLI send them, the OpenAPI document is derived
//! from them. Extend, never rename: clients in the field depend on these names.

use chrono::{DateTime, NaiveDate, Utc};
use ts_rs::TS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::account::{AccountKind, VendorType};
use crate::attribution::{AttributionModel, Credit};
use crate::code::{CodeNamespace, ReferralCode};
use crate::fraud::{FraudAction, Risk, SignalFinding};
use crate::leaderboard::LeaderboardPeriod;
use crate::ledger::{LedgerBucket, LedgerCause};
use crate::money::Money;
use crate::referral::ReferralMethod;
use crate::reward_status::RewardStatus;
use crate::rewards::RewardRole;
use crate::tiers::{PerkInfo, Tier, TierInfo};

/// Every error the API returns: a stable machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// A refused sync push: the number of the change the server would not take (the
    /// changes before it are fine; the device sets it aside, docs/sync.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub change: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterAccount {
    /// `supplier` or `couple` (admins are made with `bouquet-server admin create`).
    pub kind: AccountKind,
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// Suppliers: the business's name.
    pub business_name: Option<String>,
    /// Suppliers: the trade.
    pub vendor_type: Option<VendorType>,
    /// Couples: both names, e.g. "Anna & Ben".
    pub couple_names: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    /// Free text, e.g. "Bath, UK".
    pub location: Option<String>,
    /// The language of the account's pages and emails, a BCP 47 tag such as `es` or
    /// `en-GB`; absent: as the browser asks (`Accept-Language`).
    #[serde(default)]
    pub locale: Option<String>,
}

/// `PUT /api/v1/me/locale`: the account's language; `null` to follow the browser.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLocale {
    pub locale: Option<String>,
}

/// `DELETE /api/v1/me`: deleting the account, confirmed by typing its email address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    #[schema(example = "studio@example.com")]
    pub confirm_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub kind: AccountKind,
    pub email: String,
    pub business_name: Option<String>,
    pub vendor_type: Option<VendorType>,
    pub couple_names: Option<String>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    /// The language the account chose (BCP 47); absent: as the browser asks.
    #[serde(default)]
    pub locale: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub email: String,
    pub password: String,
    /// Shown in the account's device list, e.g. "Studio laptop".
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Bearer token for this device; shown once.
    pub token: String,
    pub device_id: Uuid,
    /// This device's code namespace: codes it makes offline start with it, so they never
    /// collide with another device's.
    #[schema(value_type = String, example = "7KQM")]
    pub code_namespace: CodeNamespace,
    pub account: AccountView,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReferral {
    /// A code the device made offline in its namespace; the server makes one when absent.
    #[schema(value_type = Option<String>, example = "LOVE-7KQMX4TPR8")]
    pub code: Option<ReferralCode>,
    /// Who is being referred; defaults to couples for suppliers and suppliers for couples.
    pub referee_type: Option<AccountKind>,
    /// How it is shared; `link` when absent.
    #[serde(default)]
    pub method: ReferralMethod,
    pub campaign_id: Option<Uuid>,
    pub source_url: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub vendor_type: Option<VendorType>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    /// A personal note shown on the landing page.
    pub message: Option<String>,
    /// What the referee is offered, in words ("10% off your engagement shoot").
    pub incentive_offered: Option<String>,
    pub incentive_amount: Option<Money>,
    /// When the code stops working; defaults to the server's referral lifetime.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the referral was made, for codes made offline; defaults to now.
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReferralView {
    pub id: Uuid,
    #[schema(value_type = String, example = "LOVE-7KQMX4TPR8")]
    pub code: ReferralCode,
    /// The shareable link.
    pub link: String,
    /// The link to print in a QR code (carries the QR marker).
    pub qr_link: String,
    pub referrer_id: Uuid,
    pub referrer_type: AccountKind,
    pub referee_type: AccountKind,
    pub method: ReferralMethod,
    pub campaign_id: Option<Uuid>,
    pub source_url: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub vendor_type: Option<VendorType>,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub message: Option<String>,
    pub incentive_offered: Option<String>,
    pub incentive_amount: Option<Money>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub clicked_at: Option<DateTime<Utc>>,
    pub signed_up_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub conversion_value: Option<Money>,
    pub conversion_plan: Option<String>,
    pub time_to_convert_seconds: Option<i64>,
    /// Unique visits (bots and repeat visits within an hour not counted).
    pub unique_visits: i64,
    pub qr_scans: i64,
    pub leads: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferralPage {
    pub items: Vec<ReferralView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Signup,
    Activate,
    Convert,
    Churn,
    Refund,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Activate => "activate",
            Self::Convert => "convert",
            Self::Churn => "churn",
            Self::Refund => "refund",
        }
    }
}

/// The platform's user an event is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventUser {
    /// The platform's own id for the user.
    pub id: String,
    pub kind: AccountKind,
    pub email: Option<String>,
    /// The user's name (`signup`), compared for look-alike identities by fraud rules.
    pub name: Option<String>,
    /// The IP address the platform saw (`signup`, `convert`): hashed with the server's
    /// secret on arrival and never stored as sent.
    pub ip: Option<String>,
    /// The user agent the platform saw (`signup`, `convert`); not stored.
    pub user_agent: Option<String>,
}

/// An event from the platform (WedSync): someone signed up, activated, paid, left.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformEvent {
    /// Unique per event; a replay with the same key is answered, never counted again.
    pub idempotency_key: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened (events captured offline arrive late and are judged by this).
    pub occurred_at: DateTime<Utc>,
    pub user: EventUser,
    /// The touch id from the `bq_touch` cookie or the redirect's `bq_touch` parameter.
    pub touch_id: Option<Uuid>,
    /// A referral code the user typed.
    pub code: Option<String>,
    /// `convert`: the plan bought.
    pub plan: Option<String>,
    /// `convert`/`refund`: the amount.
    pub value: Option<Money>,
    /// `convert`: billed annually.
    pub annual: Option<bool>,
    /// `convert`: monthly recurring revenue of the plan.
    pub mrr: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// First time this idempotency key was seen; the event took effect.
    Recorded,
    /// A replay: nothing changed; the original outcome is returned.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversionView {
    pub id: Uuid,
    pub model: AttributionModel,
    /// The referral with the largest share, marked converted.
    pub referral_id: Uuid,
    pub referrer_id: Uuid,
    pub converted_at: DateTime<Utc>,
    pub time_to_convert_seconds: i64,
    pub plan: Option<String>,
    pub value: Option<Money>,
    pub annual: bool,
    pub mrr: Option<Money>,
    pub credits: Vec<Credit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventOutcome {
    pub event_id: Uuid,
    pub status: EventStatus,
    /// `convert`: the attribution, when the user had eligible touches.
    pub conversion: Option<ConversionView>,
    /// Touches newly tied to the user by this event (`signup` and others).
    pub touches_linked: i64,
    /// `convert`: the rewards it earned — each referrer's and the referee's incentive
    /// (role `referee`, for the platform to apply) — and tier perks it unlocked;
    /// `refund`/`churn`: the rewards it voided or clawed back.
    #[serde(default)]
    pub rewards: Vec<RewardView>,
    /// `signup`/`convert` of a referred user: the fraud assessment's risk and action
    /// (never its evidence). Absent for users no referral touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud: Option<FraudVerdict>,
}

/// What fraud rules made of a referred user: the risk and what happens to their rewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FraudVerdict {
    pub risk: Risk,
    pub action: FraudAction,
}

/// One assessment with its evidence (operators only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FraudAssessmentView {
    pub id: Uuid,
    pub platform_user_id: String,
    pub referrer_id: Uuid,
    /// `signup`, `convert`, or `reassessment` (a later event revealed a pattern).
    pub cause: String,
    /// The sum of the triggered signals' weights, 0 to 1.
    pub score: f64,
    pub risk: Risk,
    /// The action in force after this assessment (automatic ones only ever raise it).
    pub action: FraudAction,
    pub signals: Vec<SignalFinding>,
    pub policy_version: String,
    pub assessed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FraudAssessmentPage {
    /// Newest first: the first is the user's current assessment.
    pub items: Vec<FraudAssessmentView>,
}

/// Another referee of the same referrer, as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FraudNeighbour {
    pub platform_user_id: String,
    /// As compared (dots and `+tags` removed where the provider ignores them).
    pub email: Option<String>,
    pub signed_up_at: DateTime<Utc>,
    pub converted_at: Option<DateTime<Utc>>,
    pub fair_traffic: bool,
    pub action: FraudAction,
    /// The first characters of their IP hashes (keyed hashes, never addresses).
    pub ip_hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IpClusterSize {
    pub ip_hash: String,
    /// The referrer's referees seen on it within a week of this one.
    pub referees: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseEvidence {
    pub referee_email: Option<String>,
    /// The referrer's referees a week either side, oldest first (the timing plot).
    pub referees: Vec<FraudNeighbour>,
    pub ip_clusters: Vec<IpClusterSize>,
}

/// A case in the fraud review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewCase {
    pub id: Uuid,
    pub platform_user_id: String,
    pub referrer_id: Uuid,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The operator; absent when the policy decided (a hard rule).
    pub decided_by: Option<Uuid>,
    pub note: Option<String>,
    pub assessment: FraudAssessmentView,
    /// Only on `GET /api/v1/admin/fraud/reviews/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<CaseEvidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<ReviewCase>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// An operator's decision on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// `approve` (release the rewards) or `reject` (void them).
    pub decision: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct StatsView {
    pub account_id: Uuid,
    pub total_referrals: i64,
    /// Referrals whose code still works (not expired); a code can bring many couples.
    pub active_referrals: i64,
    pub unique_visits: i64,
    pub qr_scans: i64,
    pub leads: i64,
    pub signups: i64,
    pub activations: i64,
    /// Conversions where this account's referral was primary (the seed's successful referrals).
    pub successful_referrals: i64,
    /// Successful referrals per referred sign-up, in basis points (2500 = 25%, the seed's target).
    pub conversion_rate_bp: Option<i64>,
    pub avg_time_to_convert_seconds: Option<i64>,
    /// Value of attributed conversions, per currency (this account's credited share).
    pub value_generated: Vec<Money>,
    pub last_referral_at: Option<DateTime<Utc>>,
}

/// One reward (`/me/rewards`): what it is for, how much, where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RewardView {
    pub id: Uuid,
    pub role: RewardRole,
    /// Credits (`CRD`) for referrer and tier rewards; a referee's incentive is in its own
    /// currency. 0 for a tier whose perk is not paid in credits.
    pub amount: Money,
    pub status: RewardStatus,
    /// In words with its numbers, e.g. "5% of 400.00 GBP = 20.00 credits".
    pub reason: String,
    pub referral_id: Option<Uuid>,
    pub conversion_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// When the holding period ends.
    pub eligible_at: Option<DateTime<Utc>>,
    /// Unclaimed after this, it expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    /// Tier rewards: the tier reached (its perk is `Tier`'s perk).
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RewardsPage {
    pub items: Vec<RewardView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A holder's credit balances (`/me/balance`), all in `CRD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct BalanceView {
    /// Earned, inside the holding period or waiting for a paid plan.
    pub pending: Money,
    /// Claimable now.
    pub available: Money,
    /// Claimed so far.
    pub claimed: Money,
    /// Frozen for review.
    pub held: Money,
    /// Earned and kept: pending + available + claimed + held (expired, voided and
    /// clawed-back credits are not counted).
    pub lifetime: Money,
}

/// One entry of a holder's ledger (`/me/ledger`): one side of a posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerEntryView {
    pub id: Uuid,
    /// The holder's account the entry is on.
    pub account: LedgerBucket,
    /// Signed: positive into the account, negative out of it.
    pub amount: Money,
    pub cause: LedgerCause,
    pub reward_id: Option<Uuid>,
    /// Adjustments: the admin's reason.
    pub memo: Option<String>,
    /// Adjustments: the admin who made it.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerPage {
    pub items: Vec<LedgerEntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where an account stands on its tier ladder (`/me/tier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct TierView {
    pub kind: AccountKind,
    /// The highest tier reached; absent before the first.
    pub tier: Option<TierInfo>,
    pub successful_referrals: i64,
    /// Absent at the top tier.
    pub next_tier: Option<TierInfo>,
    pub referrals_to_next: Option<i64>,
    /// The perks of every tier reached, lowest first.
    pub perks: Vec<PerkInfo>,
}

/// The next tier a leaderboard entry is heading for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Milestone {
    pub tier: Tier,
    pub threshold: i64,
    pub referrals_to_go: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LeaderboardEntry {
    /// From 1; no shared ranks (ties are broken, see `leaderboard::leaderboard_order`).
    pub rank: i64,
    /// The account's name, or "A Bouquet supplier" / "A Bouquet couple" if it opted out.
    pub display_name: String,
    pub tier: Option<Tier>,
    pub badge: Option<String>,
    pub successful_referrals: i64,
    pub value_generated: Money,
    pub next_milestone: Option<Milestone>,
    /// This entry is the caller's.
    pub is_you: bool,
}

/// A leaderboard (`/leaderboards?kind=supplier&period=month`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Leaderboard {
    pub kind: AccountKind,
    pub period: LeaderboardPeriod,
    /// Best first, at most `leaderboard::LEADERBOARD_SIZE`.
    pub entries: Vec<LeaderboardEntry>,
    /// The caller's own entry when they are of this kind, also when outside `entries`.
    pub you: Option<LeaderboardEntry>,
}

/// An admin's correction of a holder's available credits (`/admin/ledger/adjustments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct LedgerAdjustment {
    pub account_id: Uuid,
    /// Credits (`CRD`), signed: positive adds, negative removes (never below zero).
    pub amount: Money,
    /// Why, for the holder's ledger and the audit trail; required.
    pub reason: String,
    /// A retry with the same key is answered, never posted twice.
    pub idempotency_key: Option<String>,
}

/// A platform user's rewards, for the platform (WedSync) to show or apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct PlatformUserRewards {
    /// The platform's own id for the user (as in `EventUser::id`).
    pub user_id: String,
    pub items: Vec<RewardView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}

/// A campaign as operators see it (`/admin/campaigns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct CampaignView {
    pub id: Uuid,
    pub name: String,
    pub kind: crate::campaigns::CampaignKind,
    /// `exhausted` while its budget refuses grants (until budget comes back).
    pub status: crate::campaigns::CampaignStatus,
    /// Seasonal: whose referrals it covers.
    pub audience: crate::campaigns::Audience,
    /// Targeting; absent = any.
    pub referrer_kind: Option<AccountKind>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    pub min_tier: Option<crate::tiers::Tier>,
    pub starts_at: DateTime<Utc>,
    /// Exclusive.
    pub ends_at: DateTime<Utc>,
    /// The referrer's reward × this, in basis points (15000 = ×1.5).
    pub multiplier_bp: i64,
    /// Credits added to the referrer's reward.
    pub bonus: Money,
    /// What the referee is offered while it runs (shown on the landing page).
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub target_referrals: Option<i64>,
    pub target_conversions: Option<i64>,
    /// The hard cap on credits granted under it.
    pub budget: Money,
    pub spent: Money,
    pub referrals: i64,
    pub conversions: i64,
    pub email_template: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct CampaignPage {
    pub items: Vec<CampaignView>,
}

/// A new campaign. Scheduled (or active, if it has started) unless `draft`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    pub name: String,
    pub kind: crate::campaigns::CampaignKind,
    pub audience: Option<crate::campaigns::Audience>,
    pub referrer_kind: Option<AccountKind>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    /// The lowest tier a referrer must have reached (of `referrer_kind`'s ladder).
    pub min_tier: Option<crate::tiers::Tier>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Default 10000 (×1).
    pub multiplier_bp: Option<i64>,
    pub bonus: Option<Money>,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub target_referrals: Option<i64>,
    pub target_conversions: Option<i64>,
    /// Credits (`CRD`).
    pub budget: Money,
    pub email_template: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
    pub draft: Option<bool>,
}

/// What an operator does to a campaign besides editing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// A draft goes on the calendar.
    Schedule,
    Pause,
    Resume,
    /// Ends it now.
    End,
}

/// An edit: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    pub action: Option<CampaignAction>,
    pub name: Option<String>,
    pub audience: Option<crate::campaigns::Audience>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub multiplier_bp: Option<i64>,
    pub bonus: Option<Money>,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub target_referrals: Option<i64>,
    pub target_conversions: Option<i64>,
    pub budget: Option<Money>,
    pub email_template: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
}

/// A campaign that applies to the caller now (`/campaigns/active`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ActiveCampaign {
    pub id: Uuid,
    pub name: String,
    pub kind: crate::campaigns::CampaignKind,
    pub multiplier_bp: i64,
    pub bonus: Money,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub ends_at: DateTime<Utc>,
}

/// What an experiment's variants change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSubject {
    /// The referrer's reward: `multiplier_bp` and `bonus`.
    ReferrerIncentive,
    /// The referee's offer: `referee_incentive` and `referee_incentive_text`.
    RefereeIncentive,
    /// The invitation's `message`.
    InvitationMessage,
    /// The couple's page: `landing_headline` and `landing_message`.
    LandingText,
}

impl ExperimentSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReferrerIncentive => "referrer_incentive",
            Self::RefereeIncentive => "referee_incentive",
            Self::InvitationMessage => "invitation_message",
            Self::LandingText => "landing_text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::ReferrerIncentive, Self::RefereeIncentive, Self::InvitationMessage, Self::LandingText].into_iter().find(|x| x.as_str() == s)
    }
}

/// One variant of a new experiment; the first is the control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    pub name: String,
    /// Share of referrers, relative to the other variants' weights.
    pub weight: i64,
    pub multiplier_bp: Option<i64>,
    pub bonus: Option<Money>,
    pub referee_incentive: Option<Money>,
    pub referee_incentive_text: Option<String>,
    pub message: Option<String>,
    pub landing_headline: Option<String>,
    pub landing_message: Option<String>,
}

/// An A/B test attached to a campaign (`POST /admin/campaigns/{id}/experiments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct CreateExperiment {
    pub name: String,
    pub subject: ExperimentSubject,
    /// Two or more; the first is the control.
    pub variants: Vec<VariantInput>,
}

/// One variant's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct VariantResult {
    pub name: String,
    pub weight: i64,
    pub is_control: bool,
    pub referrals: i64,
    pub conversions: i64,
    /// Absent with no referrals.
    pub conversion_rate: Option<f64>,
    /// The 95% Wilson interval of the rate.
    pub rate_low: Option<f64>,
    pub rate_high: Option<f64>,
    /// Against the control (absent for the control itself).
    pub comparison: Option<crate::experiments::Comparison>,
    pub verdict: Option<crate::experiments::Verdict>,
    /// The verdict in words, e.g. "not significant yet".
    pub verdict_text: Option<String>,
}

/// An experiment and its results (`/admin/experiments/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ExperimentView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub name: String,
    pub subject: ExperimentSubject,
    /// `running`, `applied` or `stopped`.
    pub status: String,
    pub variants: Vec<VariantResult>,
    /// The variant that won (index into `variants`), when one has.
    pub winner: Option<i64>,
    pub applied_variant: Option<i64>,
    pub created_at: DateTime<Utc>,
}
