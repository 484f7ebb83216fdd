//! Outgoing webhooks (docs/webhooks.md): the events the platform and other tools can
//! subscribe to, and the admin API's wire types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a subscription can ask to be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub enum EventType {
    #[serde(rename = "referral.created")]
    ReferralCreated,
    #[serde(rename = "touch.recorded")]
    TouchRecorded,
    #[serde(rename = "lead.created")]
    LeadCreated,
    #[serde(rename = "conversion.attributed")]
    ConversionAttributed,
    #[serde(rename = "reward.created")]
    RewardCreated,
    #[serde(rename = "reward.eligible")]
    RewardEligible,
    #[serde(rename = "reward.voided")]
    RewardVoided,
    #[serde(rename = "tier.reached")]
    TierReached,
    #[serde(rename = "fraud.flagged")]
    FraudFlagged,
    #[serde(rename = "fraud.decided")]
    FraudDecided,
    #[serde(rename = "invitation.sent")]
    InvitationSent,
    #[serde(rename = "invitation.failed")]
    InvitationFailed,
}

impl EventType {
    pub const ALL: [Self; 12] = [
        Self::ReferralCreated,
        Self::TouchRecorded,
        Self::LeadCreated,
        Self::ConversionAttributed,
        Self::RewardCreated,
        Self::RewardEligible,
        Self::RewardVoided,
        Self::TierReached,
        Self::FraudFlagged,
        Self::FraudDecided,
        Self::InvitationSent,
        Self::InvitationFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReferralCreated => "referral.created",
            Self::TouchRecorded => "touch.recorded",
            Self::LeadCreated => "lead.created",
            Self::ConversionAttributed => "conversion.attributed",
            Self::RewardCreated => "reward.created",
            Self::RewardEligible => "reward.eligible",
            Self::RewardVoided => "reward.voided",
            Self::TierReached => "tier.reached",
            Self::FraudFlagged => "fraud.flagged",
            Self::FraudDecided => "fraud.decided",
            Self::InvitationSent => "invitation.sent",
            Self::InvitationFailed => "invitation.failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// `POST /api/v1/admin/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// Where events are POSTed: `https://…` (`http://` only to this machine).
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
}

/// A subscription as the admin API shows it; its secret only once, when it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When deliveries stopped because the receiver kept failing, and why.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`): in the answer to its creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One event's delivery to one subscription, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: Uuid,
    pub event_type: EventType,
    /// `pending` (will be tried again), `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: Vec<AttemptView>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; none when it could not be reached.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}
