//! A/B tests on campaigns: attaching one, which variant a referrer gets, the results with
//! their statistics, and applying a winner (`bouquet_core::experiments` holds the math).

use std::sync::Arc;

use bouquet_core::api::{CreateExperiment, ExperimentSubject, ExperimentView, UpdateCampaign, VariantResult};
use bouquet_core::campaigns::CampaignStatus;
use bouquet_core::experiments::{Counts, Verdict, assign, compare, judge, wilson_interval};
use bouquet_core::money::CREDITS;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::{ExperimentRow, Store, VariantRow};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_field", message)
}

/// The variant a referrer gets: stable for the experiment's life (its weights are fixed).
pub fn variant_of(e: &ExperimentRow, account: Uuid) -> Option<(usize, &VariantRow)> {
    let i = assign(e.id, account, &e.weights())?;
    Some((i, &e.variants[i]))
}

pub async fn create(store: &Arc<dyn Store>, campaign_id: Uuid, req: CreateExperiment, now: DateTime<Utc>) -> Result<ExperimentView, ApiError> {
    let campaign = store.campaign(campaign_id).await?.ok_or(ApiError::NotFound("no such campaign"))?;
    if campaign.status == CampaignStatus::Ended {
        return Err(ApiError::Conflict("an ended campaign cannot be tested".into()));
    }
    let name = req.name.trim();
    if name.is_empty() || name.len() > 120 {
        return Err(invalid("name must have 1 to 120 characters"));
    }
    if !(2..=10).contains(&req.variants.len()) {
        return Err(invalid("an experiment needs 2 to 10 variants (the first is the control)"));
    }
    if req.variants.iter().any(|v| v.weight < 0 || v.weight > 1_000_000) || req.variants.iter().all(|v| v.weight == 0) {
        return Err(invalid("weights must be 0 to 1,000,000, and not all 0"));
    }
    let mut variants = Vec::new();
    for (i, v) in req.variants.into_iter().enumerate() {
        let label = if v.name.trim().is_empty() { format!("variant {}", i + 1) } else { v.name.trim().to_string() };
        let row = VariantRow {
            name: label.clone(),
            weight: v.weight,
            multiplier_bp: v.multiplier_bp,
            bonus_minor: v.bonus.as_ref().map(|b| b.amount_minor),
            referee_incentive: v.referee_incentive,
            referee_incentive_text: v.referee_incentive_text,
            message: v.message,
            landing_headline: v.landing_headline,
            landing_message: v.landing_message,
        };
        // Each variant must say what it changes.
        let says = match req.subject {
            ExperimentSubject::ReferrerIncentive => row.multiplier_bp.is_some() || row.bonus_minor.is_some(),
            ExperimentSubject::RefereeIncentive => row.referee_incentive.is_some() || row.referee_incentive_text.is_some(),
            ExperimentSubject::InvitationMessage => row.message.is_some(),
            ExperimentSubject::LandingText => row.landing_headline.is_some() || row.landing_message.is_some(),
        };
        if !says {
            return Err(invalid(format!("variant \"{label}\" sets nothing for a {} test", req.subject.as_str().replace('_', " "))));
        }
        if row.multiplier_bp.is_some_and(|m| !(1..=100_000).contains(&m)) {
            return Err(invalid("multiplier_bp must be between 1 and 100000"));
        }
        if v.bonus.as_ref().is_some_and(|b| b.amount_minor < 0 || b.currency != CREDITS) {
            return Err(invalid("a bonus is a non-negative amount of CRD"));
        }
        variants.push(row);
    }
    let row = ExperimentRow {
        id: Uuid::now_v7(),
        campaign_id,
        name: name.to_string(),
        subject: req.subject.as_str().to_string(),
        status: "running".into(),
        applied_variant: None,
        created_at: now,
        decided_at: None,
        variants,
    };
    store.insert_experiment(&row).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => ApiError::Conflict("this campaign already has a running experiment".into()),
        other => other.into(),
    })?;
    results(store, row.id).await
}

/// Each variant's referrals and conversions (referrals made under the campaign since the
/// experiment began, by the referrers assigned to it) and what the numbers say.
pub async fn results(store: &Arc<dyn Store>, id: Uuid) -> Result<ExperimentView, ApiError> {
    let e = store.experiment(id).await?.ok_or(ApiError::NotFound("no such experiment"))?;
    let mut counts = vec![Counts { referrals: 0, conversions: 0 }; e.variants.len()];
    for c in store.campaign_referrer_counts(e.campaign_id, e.created_at).await? {
        if let Some((i, _)) = variant_of(&e, c.referrer_id) {
            counts[i].referrals += c.referrals;
            counts[i].conversions += c.conversions;
        }
    }
    let control = counts[0];
    let mut winner: Option<(usize, f64)> = None;
    let variants = e
        .variants
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(i, (v, &c))| {
            let interval = wilson_interval(c);
            let (comparison, verdict) = if i == 0 { (None, None) } else { (Some(compare(control, c)), Some(judge(control, c))) };
            if verdict == Some(Verdict::Winner) {
                let lift = comparison.and_then(|c| c.relative_lift).unwrap_or(0.0);
                if winner.is_none_or(|(_, best)| lift > best) {
                    winner = Some((i, lift));
                }
            }
            VariantResult {
                name: v.name.clone(),
                weight: v.weight,
                is_control: i == 0,
                referrals: c.referrals,
                conversions: c.conversions,
                conversion_rate: c.rate(),
                rate_low: interval.map(|(low, _)| low),
                rate_high: interval.map(|(_, high)| high),
                comparison,
                verdict_text: verdict.as_ref().map(Verdict::explain),
                verdict,
            }
        })
        .collect();
    Ok(ExperimentView {
        id: e.id,
        campaign_id: e.campaign_id,
        name: e.name.clone(),
        subject: ExperimentSubject::parse(&e.subject).unwrap_or(ExperimentSubject::ReferrerIncentive),
        status: e.status.clone(),
        variants,
        winner: winner.map(|(i, _)| i as i64),
        applied_variant: e.applied_variant,
        created_at: e.created_at,
    })
}

/// Makes the winner's values the campaign's and ends the experiment. Only a declared
/// winner can be applied: an operator cannot apply noise.
pub async fn apply(store: &Arc<dyn Store>, id: Uuid, now: DateTime<Utc>) -> Result<ExperimentView, ApiError> {
    let view = results(store, id).await?;
    if view.status != "running" {
        return Err(ApiError::Conflict(format!("the experiment is already {}", view.status)));
    }
    let Some(winner) = view.winner else {
        // Each challenger's verdict (the control, first, has none).
        let why = view.variants.iter().filter_map(|v| v.verdict_text.clone()).collect::<Vec<_>>().join("; ");
        return Err(ApiError::Conflict(format!("no variant has won yet ({why})")));
    };
    let e = store.experiment(id).await?.ok_or(ApiError::NotFound("no such experiment"))?;
    let v = &e.variants[winner as usize];
    let edit = UpdateCampaign {
        multiplier_bp: v.multiplier_bp,
        bonus: v.bonus_minor.map(bouquet_core::Money::credits),
        referee_incentive: v.referee_incentive.clone(),
        referee_incentive_text: v.referee_incentive_text.clone(),
        email_template: v.message.clone(),
        landing_headline: v.landing_headline.clone(),
        landing_message: v.landing_message.clone(),
        ..UpdateCampaign::default()
    };
    crate::service::campaigns::update(store, e.campaign_id, edit, now).await?;
    if !store.decide_experiment(id, "applied", Some(winner), now).await? {
        return Err(ApiError::Conflict("the experiment was decided meanwhile".into()));
    }
    results(store, id).await
}
