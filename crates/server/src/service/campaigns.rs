//! Campaigns as operators run them: the seed's calendar on a fresh server, creating and
//! editing campaigns, time moving them, who a campaign admits, and which campaign a
//! referral's reward falls under (see `docs/campaigns.md`).

use std::sync::Arc;

use bouquet_core::api::{AccountView, ActiveCampaign, CampaignAction, CampaignView, CreateCampaign, UpdateCampaign};
use bouquet_core::campaigns::{Audience, CampaignKind, CampaignStatus, SEASONS};
use bouquet_core::money::CREDITS;
use bouquet_core::rewards::CampaignBoost;
use bouquet_core::{AccountKind, Money};
use chrono::{DateTime, Datelike, SubsecRound, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::{CampaignRow, ReferralFacts, Store};

/// The budget each seeded seasonal campaign starts with: 10,000 credits (operators edit it).
pub const SEASONAL_BUDGET_MINOR: i64 = 1_000_000;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_field", message)
}

/// Puts the seed's calendar on the server: this year's and next year's windows that have
/// not ended. Each year is seeded once, by whichever server process claims it first (a
/// shared marker), so a seeded campaign an operator renamed or moved is never seeded again.
pub async fn seed_calendar(store: &Arc<dyn Store>, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let mut added = 0;
    for year in [now.year(), now.year() + 1] {
        let claim = Uuid::now_v7().to_string();
        if store.shared_secret(&format!("seasonal_calendar_{year}"), &claim).await? != claim {
            continue;
        }
        for season in SEASONS {
            let (starts_at, ends_at) = season.window(year);
            if ends_at <= now {
                continue;
            }
            let row = CampaignRow {
                id: Uuid::now_v7(),
                name: season.name.to_string(),
                kind: CampaignKind::Seasonal,
                status: if starts_at <= now { CampaignStatus::Active } else { CampaignStatus::Scheduled },
                audience: season.audience,
                referrer_kind: None,
                vendor_type: None,
                location: None,
                min_tier: None,
                starts_at,
                ends_at,
                multiplier_bp: i64::from(season.multiplier_bp),
                bonus_minor: 0,
                referee_incentive: None,
                referee_incentive_text: None,
                target_referrals: None,
                target_conversions: None,
                budget_minor: SEASONAL_BUDGET_MINOR,
                spent_minor: 0,
                referrals: 0,
                conversions: 0,
                exhausted_at: None,
                email_template: None,
                landing_headline: Some(season.name.to_string()),
                landing_message: None,
                created_at: now,
                updated_at: now,
            };
            added += u64::from(store.insert_campaign(&row).await?);
        }
    }
    Ok(added)
}

/// The status shown: `exhausted` while an active campaign's budget refuses grants.
pub fn shown_status(c: &CampaignRow) -> CampaignStatus {
    match c.status {
        CampaignStatus::Active if c.exhausted_at.is_some() => CampaignStatus::Exhausted,
        other => other,
    }
}

pub fn view(c: &CampaignRow) -> CampaignView {
    CampaignView {
        id: c.id,
        name: c.name.clone(),
        kind: c.kind,
        status: shown_status(c),
        audience: c.audience,
        referrer_kind: c.referrer_kind,
        vendor_type: c.vendor_type.clone(),
        location: c.location.clone(),
        min_tier: c.min_tier,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        multiplier_bp: c.multiplier_bp,
        bonus: Money::credits(c.bonus_minor),
        referee_incentive: c.referee_incentive.clone(),
        referee_incentive_text: c.referee_incentive_text.clone(),
        target_referrals: c.target_referrals,
        target_conversions: c.target_conversions,
        budget: Money::credits(c.budget_minor),
        spent: Money::credits(c.spent_minor),
        referrals: c.referrals,
        conversions: c.conversions,
        email_template: c.email_template.clone(),
        landing_headline: c.landing_headline.clone(),
        landing_message: c.landing_message.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Whether a campaign's targeting admits a referrer with `successful` referrals so far
/// (kind, trade, a place inside their location — case-insensitive — and the lowest tier).
pub fn admits(c: &CampaignRow, referrer: &AccountView, successful: i64) -> bool {
    admits_facts(c, referrer.kind, referrer.vendor_type.map(|v| v.as_str()), referrer.location.as_deref(), successful)
}

/// The referrer's successful referrals, for [`admits`].
pub async fn successes(store: &Arc<dyn Store>, account: uuid::Uuid) -> Result<i64, ApiError> {
    Ok(store.standing(account).await?.map_or(0, |s| s.successful_referrals))
}

fn admits_facts(c: &CampaignRow, kind: AccountKind, vendor_type: Option<&str>, location: Option<&str>, successful: i64) -> bool {
    let tier_ok = c.min_tier.is_none_or(|t| t.kind() == kind && successful >= t.threshold());
    let kind_ok = c.referrer_kind.is_none_or(|k| k == kind);
    let trade_ok = c.vendor_type.as_deref().is_none_or(|v| vendor_type.is_some_and(|t| t.eq_ignore_ascii_case(v)));
    let place_ok = c
        .location
        .as_deref()
        .is_none_or(|want| location.is_some_and(|have| have.to_lowercase().contains(&want.to_lowercase())));
    kind_ok && trade_ok && place_ok && tier_ok
}

/// A campaign an operator started is announced at once rather than at the scheduler's
/// next round; if that fails, the scheduler tries again (the campaign itself is saved).
async fn announce_now(store: &Arc<dyn Store>, now: DateTime<Utc>) {
    if let Err(e) = announce_started(store, now).await {
        tracing::warn!(error = %e, "announcing the campaign failed; the scheduler will try again");
    }
}

/// Tells every account a newly active campaign admits that it started (once per campaign,
/// whichever process gets there first). How many accounts were told.
pub async fn announce_started(store: &Arc<dyn Store>, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let mut told = 0;
    for id in store.unannounced_campaigns().await? {
        let Some(c) = store.campaign(id).await? else { continue };
        let bonus = Money::credits(c.bonus_minor);
        let multiplier = u32::try_from(c.multiplier_bp).unwrap_or(10_000);
        let notice = bouquet_core::notifications::Notice::CampaignStarted {
            name: c.name.clone(),
            multiplier_bp: multiplier,
            bonus: Some(bonus.clone()),
            ends: c.ends_at.date_naive(),
        };
        // Each account's words are in its own language.
        let recipients: Vec<(uuid::Uuid, bouquet_core::notifications::Message)> = store
            .campaign_audience(c.referrer_kind)
            .await?
            .iter()
            .filter(|m| admits_facts(&c, m.kind, m.vendor_type.as_deref(), m.location.as_deref(), m.successful_referrals))
            .map(|m| {
                let tr = crate::i18n::Tr::for_account(m.locale.as_deref(), None);
                (m.account_id, super::notices::words(&tr, &notice))
            })
            .collect();
        if store.announce_campaign(id, &notice, &recipients, now).await? {
            tracing::info!(campaign = %id, accounts = recipients.len(), "campaign start announced");
            told += recipients.len();
        }
    }
    Ok(told)
}

/// The campaigns a referral falls under, with the boost each would give: the one it was
/// made with (if its targeting admits the referrer), and seasonal ones whose window held
/// its making and whose audience its data matches.
pub fn covering(campaigns: &[CampaignRow], facts: &ReferralFacts, successful_before: i64) -> Vec<(CampaignRow, CampaignBoost)> {
    campaigns
        .iter()
        .filter(|c| {
            let targeted = facts.campaign_id == Some(c.id);
            let seasonal = c.kind == CampaignKind::Seasonal
                && c.starts_at <= facts.created_at
                && facts.created_at < c.ends_at
                && c.audience.matches(facts.wedding_date, facts.created_at);
            (targeted || seasonal)
                && admits_facts(
                    c,
                    facts.referrer_kind,
                    facts.referrer_vendor_type.as_deref(),
                    facts.referrer_location.as_deref(),
                    successful_before,
                )
        })
        .map(|c| {
            let boost = CampaignBoost {
                name: c.name.clone(),
                multiplier_bp: u32::try_from(c.multiplier_bp).unwrap_or(u32::MAX),
                bonus_minor: c.bonus_minor,
            };
            (c.clone(), boost)
        })
        .collect()
}

fn check_money(field: &str, m: &Money, credits_only: bool) -> Result<(), ApiError> {
    if m.amount_minor < 0 {
        return Err(invalid(format!("{field}.amount_minor cannot be negative")));
    }
    if credits_only && m.currency != CREDITS {
        return Err(invalid(format!("{field}.currency must be CRD (credits)")));
    }
    Ok(())
}

fn check(c: &CampaignRow) -> Result<(), ApiError> {
    let name = c.name.trim();
    if name.is_empty() || name.len() > 120 {
        return Err(invalid("name must have 1 to 120 characters"));
    }
    if c.ends_at <= c.starts_at {
        return Err(invalid("ends_at must be after starts_at"));
    }
    if !(1..=100_000).contains(&c.multiplier_bp) {
        return Err(invalid("multiplier_bp must be between 1 and 100000 (×10)"));
    }
    if c.bonus_minor < 0 || c.budget_minor < 0 {
        return Err(invalid("bonus and budget cannot be negative"));
    }
    if c.target_referrals.is_some_and(|t| t < 0) || c.target_conversions.is_some_and(|t| t < 0) {
        return Err(invalid("targets cannot be negative"));
    }
    for text in [&c.email_template, &c.landing_headline, &c.landing_message, &c.referee_incentive_text].into_iter().flatten() {
        if text.len() > 4000 {
            return Err(invalid("texts are at most 4000 characters"));
        }
    }
    Ok(())
}

pub async fn create(store: &Arc<dyn Store>, req: CreateCampaign, now: DateTime<Utc>) -> Result<CampaignView, ApiError> {
    check_money("budget", &req.budget, true)?;
    if let Some(bonus) = &req.bonus {
        check_money("bonus", bonus, true)?;
    }
    if let Some(incentive) = &req.referee_incentive {
        check_money("referee_incentive", incentive, false)?;
    }
    if req.referrer_kind == Some(AccountKind::Admin) {
        return Err(invalid("referrer_kind must be supplier or couple"));
    }
    if let (Some(tier), Some(kind)) = (req.min_tier, req.referrer_kind) {
        if tier.kind() != kind {
            return Err(invalid(format!("the {} tier is not a {} tier", tier.as_str(), kind.as_str())));
        }
    }
    let status = match (req.draft.unwrap_or(false), req.starts_at <= now, req.ends_at <= now) {
        (true, _, _) => CampaignStatus::Draft,
        (false, _, true) => return Err(invalid("ends_at is in the past")),
        (false, true, false) => CampaignStatus::Active,
        (false, false, false) => CampaignStatus::Scheduled,
    };
    let row = CampaignRow {
        id: Uuid::now_v7(),
        name: req.name.trim().to_string(),
        kind: req.kind,
        status,
        audience: req.audience.unwrap_or(Audience::Everyone),
        referrer_kind: req.referrer_kind,
        vendor_type: req.vendor_type.map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty()),
        location: req.location.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()),
        min_tier: req.min_tier,
        // Stored to the microsecond (both databases): answer what will be read back.
        starts_at: req.starts_at.trunc_subsecs(6),
        ends_at: req.ends_at.trunc_subsecs(6),
        multiplier_bp: req.multiplier_bp.unwrap_or(10_000),
        bonus_minor: req.bonus.map_or(0, |b| b.amount_minor),
        referee_incentive: req.referee_incentive,
        referee_incentive_text: req.referee_incentive_text,
        target_referrals: req.target_referrals,
        target_conversions: req.target_conversions,
        budget_minor: req.budget.amount_minor,
        spent_minor: 0,
        referrals: 0,
        conversions: 0,
        exhausted_at: None,
        email_template: req.email_template,
        landing_headline: req.landing_headline,
        landing_message: req.landing_message,
        created_at: now,
        updated_at: now,
    };
    check(&row)?;
    if !store.insert_campaign(&row).await? {
        return Err(ApiError::Conflict(format!("a campaign named \"{}\" already starts then", row.name)));
    }
    announce_now(store, now).await;
    Ok(view(&row))
}

pub async fn update(store: &Arc<dyn Store>, id: Uuid, req: UpdateCampaign, now: DateTime<Utc>) -> Result<CampaignView, ApiError> {
    let mut c = store.campaign(id).await?.ok_or(ApiError::NotFound("no such campaign"))?;
    if c.status == CampaignStatus::Ended {
        return Err(ApiError::Conflict("an ended campaign cannot change".into()));
    }
    macro_rules! set {
        ($($field:ident),*) => { $(if let Some(v) = req.$field.clone() { c.$field = v.into(); })* };
    }
    set!(name, audience, multiplier_bp, target_referrals, target_conversions, email_template, landing_headline, landing_message, referee_incentive_text);
    if let Some(at) = req.starts_at {
        c.starts_at = at.trunc_subsecs(6);
    }
    if let Some(at) = req.ends_at {
        c.ends_at = at.trunc_subsecs(6);
    }
    if let Some(bonus) = &req.bonus {
        check_money("bonus", bonus, true)?;
        c.bonus_minor = bonus.amount_minor;
    }
    if let Some(budget) = &req.budget {
        check_money("budget", budget, true)?;
        if budget.amount_minor < c.spent_minor {
            return Err(invalid(format!("the budget cannot go below what is already spent ({} credits)", bouquet_core::money::format_minor_grouped(c.spent_minor))));
        }
        c.budget_minor = budget.amount_minor;
    }
    if let Some(incentive) = &req.referee_incentive {
        check_money("referee_incentive", incentive, false)?;
        c.referee_incentive = Some(incentive.clone());
    }
    c.status = match (req.action, c.status) {
        (None, s) => s,
        (Some(CampaignAction::Schedule), CampaignStatus::Draft) => CampaignStatus::Scheduled.at(c.starts_at, c.ends_at, now),
        (Some(CampaignAction::Pause), CampaignStatus::Active | CampaignStatus::Scheduled) => CampaignStatus::Paused,
        (Some(CampaignAction::Resume), CampaignStatus::Paused) => {
            if c.starts_at <= now { CampaignStatus::Active } else { CampaignStatus::Scheduled }
        }
        (Some(CampaignAction::End), _) => CampaignStatus::Ended,
        (Some(action), s) => {
            return Err(ApiError::Conflict(format!("a {} campaign cannot {}", s.as_str(), format!("{action:?}").to_lowercase())));
        }
    };
    if c.status == CampaignStatus::Ended && c.ends_at > now {
        c.ends_at = now.max(c.starts_at + chrono::Duration::seconds(1));
    }
    c.name = c.name.trim().to_string();
    c.updated_at = now;
    check(&c)?;
    store.update_campaign(&c).await?;
    announce_now(store, now).await;
    let saved = store.campaign(id).await?.ok_or(ApiError::NotFound("no such campaign"))?;
    Ok(view(&saved))
}

/// The active seasonal campaigns whose window holds `made_at`, whose audience the
/// referral's wedding date matches and whose targeting admits the referrer.
pub fn seasonal_covering(open: &[CampaignRow], referrer: &AccountView, successful: i64, made_at: DateTime<Utc>, wedding_date: Option<chrono::NaiveDate>) -> Vec<Uuid> {
    open.iter()
        .filter(|c| {
            c.kind == CampaignKind::Seasonal
                && c.status == CampaignStatus::Active
                && c.starts_at <= made_at
                && made_at < c.ends_at
                && c.audience.matches(wedding_date, made_at)
                && admits(c, referrer, successful)
        })
        .map(|c| c.id)
        .collect()
}

/// The campaigns open to `caller` now: active, admitting them, and (for seasonal ones)
/// the multiplier their referrals made now may get.
pub async fn active_for(store: &Arc<dyn Store>, caller: &AccountView) -> Result<Vec<ActiveCampaign>, ApiError> {
    let rows = store.campaigns(500).await?;
    let successful = successes(store, caller.id).await?;
    Ok(rows
        .iter()
        .filter(|c| c.status == CampaignStatus::Active && c.exhausted_at.is_none() && admits(c, caller, successful))
        .map(|c| ActiveCampaign {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind,
            multiplier_bp: c.multiplier_bp,
            bonus: Money::credits(c.bonus_minor),
            referee_incentive: c.referee_incentive.clone(),
            referee_incentive_text: c.referee_incentive_text.clone(),
            ends_at: c.ends_at,
        })
        .collect())
}
