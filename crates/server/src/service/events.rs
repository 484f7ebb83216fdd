//! Platform events (`signup`, `activate`, `convert`, `churn`, `refund`) and the
//! attribution engine they drive.
//!
//! Every event runs in one transaction that starts by claiming its idempotency key, so
//! a replay — sequential or concurrent, on one server process or several — finds the
//! key taken and gets the first outcome back, and a conversion is counted exactly once.
//! A user converts once: a second `convert` with a new key returns the first conversion.

use std::collections::BTreeSet;
use std::sync::Arc;

use bouquet_core::account::normalize_email;
use bouquet_core::api::{ConversionView, EventOutcome, EventStatus, EventType, PlatformEvent};
use bouquet_core::attribution::{AttributionRules, attribute};
use bouquet_core::money::parse_currency;
use bouquet_core::{AccountKind, Channel, Money, ReferralCode};
use chrono::{Duration, Utc};
use uuid::Uuid;

use bouquet_core::rewards::{RewardRules, is_free_plan};

use crate::error::ApiError;
use crate::service::announce;
use crate::service::fraud::{self, Cause, EventEvidence, FraudRules};
use crate::service::rewards::{self, Undo};
use crate::service::visitors::hash_ip;
use bouquet_core::fraud::FraudAction;
use crate::store::{EventClaim, EventTx, NewConversion, Stage, Store, StoreError};

/// Events may arrive late (captured offline) but not from the future.
const CLOCK_SKEW: Duration = Duration::minutes(10);

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_field", message)
}

fn validate_money(field: &str, m: Option<Money>) -> Result<Option<Money>, ApiError> {
    let Some(m) = m else { return Ok(None) };
    let currency =
        parse_currency(&m.currency).ok_or_else(|| invalid(format!("{field}.currency must be a three-letter code like GBP")))?;
    if m.amount_minor < 0 {
        return Err(invalid(format!("{field}.amount_minor cannot be negative")));
    }
    Ok(Some(Money { amount_minor: m.amount_minor, currency }))
}

/// A referral the user typed the code of, resolved before the transaction starts.
#[derive(Clone, Copy)]
struct TypedCode {
    referral_id: Uuid,
    referrer_id: Uuid,
}

/// The rules an event is applied by.
pub struct EventRules<'a> {
    pub attribution: &'a AttributionRules,
    pub rewards: &'a RewardRules,
    pub fraud: &'a FraudRules,
    /// The secret the user's IP is hashed with on arrival.
    pub ip_secret: &'a str,
}

pub async fn apply(store: &Arc<dyn Store>, event_rules: &EventRules<'_>, mut event: PlatformEvent) -> Result<EventOutcome, ApiError> {
    let key = event.idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 200 {
        return Err(invalid("idempotency_key must have 1 to 200 characters"));
    }
    let user_id = event.user.id.trim().to_string();
    if user_id.is_empty() || user_id.len() > 200 {
        return Err(invalid("user.id must have 1 to 200 characters"));
    }
    if event.user.kind == AccountKind::Admin {
        return Err(invalid("user.kind must be supplier or couple"));
    }
    if event.occurred_at > Utc::now() + CLOCK_SKEW {
        return Err(invalid("occurred_at is in the future"));
    }
    let email = match event.user.email.as_deref() {
        None => None,
        Some(e) => Some(normalize_email(e).ok_or_else(|| invalid("user.email is not a valid email address"))?),
    };
    let name = event.user.name.take().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(invalid("user.name must have at most 200 characters"));
    }
    // Hashed on arrival: the raw address is never stored, not even in the event's payload.
    let ip_hash = match event.user.ip.take().map(|ip| ip.trim().to_string()).filter(|ip| !ip.is_empty()) {
        None => None,
        Some(ip) => {
            // As proxies write them too: with a port, or IPv4 mapped into IPv6 (hashed as
            // the plain IPv4 address, as /r/{code} sees it).
            let ip = ip
                .parse::<std::net::IpAddr>()
                .or_else(|_| ip.parse::<std::net::SocketAddr>().map(|s| s.ip()))
                .map_err(|_| invalid("user.ip is not an IP address"))?;
            Some(hash_ip(event_rules.ip_secret, ip))
        }
    };
    if event.user.user_agent.take().is_some_and(|ua| ua.len() > 2000) {
        return Err(invalid("user.user_agent must have at most 2000 characters"));
    }
    event.value = validate_money("value", event.value.take())?;
    event.mrr = validate_money("mrr", event.mrr.take())?;
    let typed = match event.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => {
            let code = ReferralCode::parse(raw).map_err(|e| ApiError::invalid("invalid_code", e.to_string()))?;
            let found = store
                .referral_by_code(code.as_str())
                .await?
                .ok_or_else(|| ApiError::invalid("unknown_code", format!("no referral has the code {code}")))?;
            Some(TypedCode { referral_id: found.view.id, referrer_id: found.view.referrer_id })
        }
    };
    let payload = serde_json::to_string(&event).map_err(|e| ApiError::Internal(e.to_string()))?;

    let checked = Checked { key, user_id, email, name, ip_hash, typed, payload };
    // Each try is the whole event in one transaction. A campaign whose budget the first
    // try found taken at commit is charged at once in the next, which decides then
    // whether the campaign still pays (`CampaignTx::reserve_budget_at_commit`).
    let mut charge_at_once = BTreeSet::new();
    loop {
        match record(store, event_rules, &event, &checked, &charge_at_once).await? {
            Attempt::Recorded(outcome) => return Ok(outcome),
            Attempt::BudgetTaken(campaign) => {
                if !charge_at_once.insert(campaign) {
                    return Err(ApiError::Internal(format!("campaign {campaign} was charged at commit after being charged at once")));
                }
            }
        }
    }
}

/// An event checked before its transaction: what the transaction needs of it.
struct Checked {
    key: String,
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    ip_hash: Option<String>,
    typed: Option<TypedCode>,
    payload: String,
}

/// How one try at recording an event ended.
enum Attempt {
    Recorded(EventOutcome),
    /// A campaign charged at commit had no budget left for it then: nothing was written.
    BudgetTaken(Uuid),
}

/// Records a checked event in one transaction.
async fn record(
    store: &Arc<dyn Store>,
    event_rules: &EventRules<'_>,
    event: &PlatformEvent,
    checked: &Checked,
    charge_at_once: &BTreeSet<Uuid>,
) -> Result<Attempt, ApiError> {
    let Checked { key, user_id, email, name, ip_hash, typed, payload } = checked;
    let (rules, reward_rules) = (event_rules.attribution, event_rules.rewards);
    let now = Utc::now();
    let mut tx = store.begin_event().await?;
    let event_id = Uuid::now_v7();
    let at = event.occurred_at;
    let (claim, stored) = tx.claim(event_id, &key, event.event_type.as_str(), at, &user_id, &payload).await?;
    if claim == EventClaim::Replay {
        let stored = stored.ok_or_else(|| ApiError::Internal(format!("event {key} has no stored outcome")))?;
        let mut outcome: EventOutcome = serde_json::from_str(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
        outcome.status = EventStatus::Duplicate;
        return Ok(Attempt::Recorded(outcome));
    }

    tx.upsert_user(&user_id, event.user.kind, email.as_deref()).await?;
    let touches_linked = link_touches(tx.as_mut(), event, &user_id, email.as_deref(), *typed).await?;
    let evidence = || EventEvidence { email: email.as_deref(), name: name.as_deref(), ip_hash: ip_hash.clone() };
    let mut verdict = None;
    let (conversion, earned) = match event.event_type {
        EventType::Signup => {
            tx.stamp_stage(&user_id, Stage::SignedUp, at).await?;
            verdict = fraud::assess_event(tx.rewards(), event_rules.fraud, &user_id, evidence(), Cause::Signup, at, None, now).await?;
            (None, Vec::new())
        }
        EventType::Activate => {
            tx.stamp_stage(&user_id, Stage::Activated, at).await?;
            (None, Vec::new())
        }
        EventType::Convert => match convert(tx.as_mut(), rules, event, event_id, user_id).await? {
            Converted::New(view, recorded) => {
                // Assessed before the rewards, so a withheld conversion's are issued held.
                let primary = Some((view.referral_id, view.referrer_id));
                verdict = fraud::assess_event(tx.rewards(), event_rules.fraud, &user_id, evidence(), Cause::Convert, at, primary, now).await?;
                let withheld = verdict.is_some_and(|v| v.action.withholds());
                let mut earned = rewards::reward_conversion(tx.rewards(), reward_rules, &recorded, withheld, charge_at_once, now).await?;
                if verdict.is_some_and(|v| v.action == FraudAction::Reject) {
                    fraud::void(tx.rewards(), &user_id, now).await?;
                    earned = tx.rewards().rewards_of_referee(&user_id).await?;
                }
                (Some(view), earned)
            }
            Converted::Before(view) => {
                // A paid plan after a free one: the free conversion's rewards stop waiting.
                if event.plan.as_deref().is_some_and(|p| !is_free_plan(p)) {
                    rewards::paid_plan_reached(tx.rewards(), &user_id, now).await?;
                }
                let earned = tx.rewards().rewards_of_referee(&user_id).await?;
                (view, earned)
            }
        },
        EventType::Churn => {
            tx.stamp_stage(&user_id, Stage::Churned, at).await?;
            (None, rewards::undo_conversion(tx.rewards(), &user_id, Undo::Churn, at, now).await?)
        }
        EventType::Refund => {
            tx.stamp_stage(&user_id, Stage::Refunded, at).await?;
            (None, rewards::undo_conversion(tx.rewards(), &user_id, Undo::Refund, at, now).await?)
        }
    };
    let outcome = EventOutcome {
        event_id,
        status: EventStatus::Recorded,
        conversion,
        touches_linked,
        rewards: earned.iter().map(rewards::view).collect(),
        fraud: verdict,
    };
    let stored = serde_json::to_string(&outcome).map_err(|e| ApiError::Internal(e.to_string()))?;
    match tx.finish(event_id, &stored).await {
        Ok(()) => Ok(Attempt::Recorded(outcome)),
        Err(StoreError::BudgetTaken(campaign)) => Ok(Attempt::BudgetTaken(campaign)),
        Err(e) => Err(e.into()),
    }
}

/// Ties everything that identifies the user's journey to them: the touch id from the
/// cookie/redirect, leads left with their email, and a code they typed.
async fn link_touches(
    tx: &mut dyn EventTx,
    event: &PlatformEvent,
    user_id: &str,
    email: Option<&str>,
    typed: Option<TypedCode>,
) -> Result<i64, ApiError> {
    let mut linked = 0u64;
    if let Some(touch_id) = event.touch_id {
        linked += tx.link_touch(touch_id, user_id).await?;
    }
    if let Some(email) = email {
        linked += tx.link_lead_touches(email, user_id).await?;
    }
    if let Some(typed) = typed {
        let already = tx
            .touches_of(user_id)
            .await?
            .iter()
            .any(|t| t.referral_id == typed.referral_id && t.channel == Channel::DirectCode);
        if !already {
            let touch_id = Uuid::now_v7();
            tx.add_code_touch(touch_id, typed.referral_id, typed.referrer_id, user_id, event.occurred_at).await?;
            announce::code_touch(tx.rewards(), touch_id, typed.referral_id, typed.referrer_id, event.occurred_at, Utc::now()).await?;
            linked += 1;
        }
    }
    Ok(linked as i64)
}

/// What a `convert` found: a conversion recorded now (with what was recorded, for the
/// rewards), or the user's earlier one (or none: organic).
enum Converted {
    New(ConversionView, NewConversion),
    Before(Option<ConversionView>),
}

async fn convert(
    tx: &mut dyn EventTx,
    rules: &AttributionRules,
    event: &PlatformEvent,
    event_id: Uuid,
    user_id: &str,
) -> Result<Converted, ApiError> {
    // A user converts once: the insert below refuses a second conversion, so the earlier
    // one is looked up only when there is no new one to record (one read fewer for the
    // common case, a first conversion).
    let touches = tx.touches_of(user_id).await?;
    let value_minor = event.value.as_ref().map_or(0, |v| v.amount_minor);
    let Some(attribution) = attribute(&touches, event.occurred_at, value_minor, rules) else {
        // No touch inside the window now: organic, unless the user converted before.
        return Ok(Converted::Before(tx.conversion_of(user_id).await?));
    };
    let conversion = NewConversion {
        id: Uuid::now_v7(),
        event_id,
        platform_user_id: user_id.to_string(),
        model: attribution.model,
        converted_at: event.occurred_at,
        time_to_convert_seconds: attribution.time_to_convert.num_seconds(),
        plan: event.plan.clone(),
        value: event.value.clone(),
        annual: event.annual.unwrap_or(false),
        mrr: event.mrr.clone(),
        primary: attribution.primary,
        credits: attribution.credits,
    };
    if !tx.record_conversion(&conversion).await? {
        // The user had converted already (by an earlier event, or one racing this one).
        return Ok(Converted::Before(tx.conversion_of(user_id).await?));
    }
    let primary = &conversion.credits[conversion.primary];
    let view = ConversionView {
        id: conversion.id,
        model: conversion.model,
        referral_id: primary.referral_id,
        referrer_id: primary.referrer_id,
        converted_at: conversion.converted_at,
        time_to_convert_seconds: conversion.time_to_convert_seconds,
        plan: conversion.plan.clone(),
        value: conversion.value.clone(),
        annual: conversion.annual,
        mrr: conversion.mrr.clone(),
        credits: conversion.credits.clone(),
    };
    announce::conversion_attributed(tx.rewards(), user_id, &view, Utc::now()).await?;
    Ok(Converted::New(view, conversion))
}
