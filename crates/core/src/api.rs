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
use crate::money::Money;
use crate::referral::ReferralMethod;

/// Every error the API returns: a stable machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}
