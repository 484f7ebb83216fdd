//! What each change tells, in the change's own transaction: the webhook events the
//! platform subscribes to (docs/webhooks.md) and the notifications the account sees in the
//! app and by email (docs/notifications.md). One place, so the rewards, fraud and events
//! code say *that* something happened and this module says *who hears what*.

use bouquet_core::api::ConversionView;
use bouquet_core::notifications::Notice;
use bouquet_core::tiers::Tier;
use bouquet_core::webhooks::EventType;
use bouquet_core::{RewardEvent, RewardRole, RewardStatus};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::notices;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::store::{AssessmentRow, RewardRow, RewardTx};

fn reward_payload(r: &RewardRow, status: RewardStatus) -> Value {
    json!({
        "reward_id": r.id,
        "account_id": r.account_id,
        "platform_user_id": r.platform_user_id,
        "referee_user_id": r.referee_user_id,
        "role": r.role,
        "amount": r.amount,
        "status": status,
        "reason": r.reason,
        "referral_id": r.referral_id,
        "conversion_id": r.conversion_id,
        "campaign_id": r.campaign_id,
        "tier": r.tier,
        "eligible_at": r.eligible_at,
        "expires_at": r.expires_at,
    })
}

/// Tells an account what happened: the notice itself (told again in each reader's
/// language) and its words in the language the account chose, else English (for the
/// email, which has no browser to ask).
async fn tell(tx: &mut dyn RewardTx, account: Uuid, notice: Notice, now: DateTime<Utc>) -> Result<(), ApiError> {
    let tr = Tr::for_account(tx.locale_of(account).await?.as_deref(), None);
    tx.notify(account, &notice, &notices::words(&tr, &notice), now).await?;
    Ok(())
}

/// A reward was issued. `tell_earned`: its holder hears of it now (not when fraud rules
/// hold it at once: they hear that instead).
pub async fn reward_issued(tx: &mut dyn RewardTx, r: &RewardRow, tell_earned: bool, now: DateTime<Utc>) -> Result<(), ApiError> {
    tx.emit_webhook(EventType::RewardCreated, &reward_payload(r, r.status), now).await?;
    if let (true, RewardRole::Referrer, Some(account)) = (tell_earned, r.role, r.account_id) {
        tell(tx, account, Notice::RewardEarned { amount: r.amount.clone(), reason: r.reason.clone(), eligible_at: r.eligible_at }, now).await?;
    }
    Ok(())
}

/// A reward moved from `r.status` to `to` by `event`. Only an operator's decision on a
/// held reward (release or reject) is told as a review's outcome; a refund voiding a held
/// reward while its case waits is not a decision.
pub async fn reward_moved(tx: &mut dyn RewardTx, r: &RewardRow, event: &RewardEvent, to: RewardStatus, now: DateTime<Utc>) -> Result<(), ApiError> {
    // Tier perks are told as the tier (`tier_reached`); referees have no account here.
    let told = match (r.role, r.account_id) {
        (RewardRole::Referrer, Some(account)) => Some(account),
        _ => None,
    };
    if let Some(account) = told {
        let amount = r.amount.clone();
        match event {
            RewardEvent::Release { .. } => tell(tx, account, Notice::ReviewDecided { approved: true, amount }, now).await?,
            RewardEvent::Reject => tell(tx, account, Notice::ReviewDecided { approved: false, amount }, now).await?,
            RewardEvent::Hold => tell(tx, account, Notice::ReferralHeld { amount }, now).await?,
            _ => {}
        }
    }
    match to {
        RewardStatus::Eligible => {
            tx.emit_webhook(EventType::RewardEligible, &reward_payload(r, to), now).await?;
            if let Some(account) = told {
                tell(tx, account, Notice::RewardEligible { amount: r.amount.clone(), reason: r.reason.clone(), expires_at: r.expires_at }, now).await?;
            }
        }
        RewardStatus::Voided | RewardStatus::ClawedBack => {
            tx.emit_webhook(EventType::RewardVoided, &reward_payload(r, to), now).await?;
        }
        _ => {}
    }
    Ok(())
}

pub async fn tier_reached(tx: &mut dyn RewardTx, account: Uuid, tier: Tier, successful: i64, perk: &RewardRow, now: DateTime<Utc>) -> Result<(), ApiError> {
    let payload = json!({
        "account_id": account,
        "tier": tier,
        "successful_referrals": successful,
        "perk": tier.perk(),
        "reward_id": perk.id,
    });
    tx.emit_webhook(EventType::TierReached, &payload, now).await?;
    tell(tx, account, Notice::TierReached { tier }, now).await?;
    Ok(())
}

pub async fn conversion_attributed(tx: &mut dyn RewardTx, user_id: &str, c: &ConversionView, now: DateTime<Utc>) -> Result<(), ApiError> {
    let mut payload = serde_json::to_value(c).map_err(|e| ApiError::Internal(e.to_string()))?;
    payload["platform_user_id"] = json!(user_id);
    tx.emit_webhook(EventType::ConversionAttributed, &payload, now).await?;
    Ok(())
}

/// A typed code became a touch of the user's journey.
pub async fn code_touch(tx: &mut dyn RewardTx, touch_id: Uuid, referral_id: Uuid, referrer_id: Uuid, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    let payload = json!({
        "touch_id": touch_id,
        "referral_id": referral_id,
        "referrer_id": referrer_id,
        "channel": bouquet_core::Channel::DirectCode,
        "occurred_at": at,
        "unique": false,
    });
    tx.emit_webhook(EventType::TouchRecorded, &payload, now).await?;
    Ok(())
}

/// Fraud rules took a referee's conversion out of the normal path (review, hold, reject).
/// The case is the referee's (one per platform user).
pub async fn fraud_flagged(tx: &mut dyn RewardTx, a: &AssessmentRow, now: DateTime<Utc>) -> Result<(), ApiError> {
    let payload = json!({
        "assessment_id": a.id,
        "platform_user_id": a.platform_user_id,
        "referrer_id": a.referrer_id,
        "score_bp": a.score_bp,
        "risk": a.risk,
        "action": a.action,
        "policy_version": a.policy_version,
    });
    tx.emit_webhook(EventType::FraudFlagged, &payload, now).await?;
    Ok(())
}

/// An operator decided a review case.
pub async fn fraud_decided(tx: &mut dyn RewardTx, case_id: Uuid, user_id: &str, referrer_id: Uuid, decision: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    let payload = json!({
        "case_id": case_id,
        "platform_user_id": user_id,
        "referrer_id": referrer_id,
        "decision": decision,
        "decided_at": now,
    });
    tx.emit_webhook(EventType::FraudDecided, &payload, now).await?;
    Ok(())
}
