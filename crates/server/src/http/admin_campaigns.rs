//! The console's campaign screens: the list with spend against budget and targets, a form
//! for a new campaign, one campaign with its run controls and its A/B test's results.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use bouquet_core::api::{CampaignAction, CreateCampaign, UpdateCampaign};
use bouquet_core::campaigns::{Audience, CampaignKind, CampaignStatus};
use bouquet_core::money::format_factor_bp;
use bouquet_core::{AccountKind, Money};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::admin::{credits, csrf_ok, csrf_token, operator, page, parse_credits};
use crate::error::ApiError;
use crate::service::{campaigns, experiments};
use crate::store::CampaignRow;

struct CampaignLine {
    id: Uuid,
    name: String,
    kind: &'static str,
    status: &'static str,
    runs: String,
    multiplier: String,
    spend: String,
    referrals: i64,
    conversions: i64,
}

#[derive(Template)]
#[template(path = "admin/campaigns.html")]
struct CampaignsPage {
    section: &'static str,
    csrf: String,
    operator: String,
    error: Option<String>,
    rows: Vec<CampaignLine>,
}

struct VariantLine {
    name: String,
    weight: i64,
    referrals: i64,
    conversions: i64,
    rate: String,
    lift: String,
    z: String,
    p: String,
    verdict: String,
}

struct ExperimentBlock {
    id: Uuid,
    name: String,
    subject: String,
    status: String,
    variants: Vec<VariantLine>,
    can_apply: bool,
}

#[derive(Template)]
#[template(path = "admin/campaign.html")]
struct CampaignPage {
    section: &'static str,
    csrf: String,
    operator: String,
    id: Uuid,
    name: String,
    kind: &'static str,
    status: &'static str,
    runs: String,
    audience: String,
    targeting: String,
    multiplier: String,
    bonus: String,
    spent: String,
    budget: String,
    referrals: i64,
    conversions: i64,
    target_referrals: String,
    target_conversions: String,
    actions: Vec<&'static str>,
    experiments: Vec<ExperimentBlock>,
    done: Option<String>,
    error: Option<String>,
}

fn runs(c: &CampaignRow) -> String {
    let last = c.ends_at - chrono::Duration::seconds(1);
    format!("{} – {}", c.starts_at.format("%Y-%m-%d"), last.format("%Y-%m-%d"))
}

fn multiplier(bp: i64) -> String {
    format!("×{}", format_factor_bp(u32::try_from(bp).unwrap_or(u32::MAX)))
}

pub async fn list(State(state): State<AppState>, jar: CookieJar) -> Response {
    list_with(&state, &jar, None, StatusCode::OK).await
}

async fn list_with(state: &AppState, jar: &CookieJar, error: Option<String>, status: StatusCode) -> Response {
    let (caller, token) = match operator(state, jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let rows = match state.store.campaigns(500).await {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = rows
        .iter()
        .map(|c| CampaignLine {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind.as_str(),
            status: campaigns::shown_status(c).as_str(),
            runs: runs(c),
            multiplier: multiplier(c.multiplier_bp),
            spend: format!("{} / {}", credits(c.spent_minor), credits(c.budget_minor)),
            referrals: c.referrals,
            conversions: c.conversions,
        })
        .collect();
    page(status, CampaignsPage { section: "campaigns", csrf: csrf_token(state, &token), operator: caller.account.email, error, rows })
}

#[derive(Deserialize)]
pub struct NewCampaignForm {
    csrf: String,
    name: String,
    kind: String,
    audience: String,
    #[serde(default)]
    referrer_kind: String,
    #[serde(default)]
    vendor_type: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    min_tier: String,
    starts_on: String,
    ends_on: String,
    multiplier: String,
    #[serde(default)]
    bonus: String,
    budget: String,
    #[serde(default)]
    referee_incentive_text: String,
    #[serde(default)]
    landing_headline: String,
    #[serde(default)]
    target_referrals: String,
    #[serde(default)]
    target_conversions: String,
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn parse_form(form: &NewCampaignForm) -> Result<CreateCampaign, String> {
    let day = |text: &str, what: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| format!("{what} must be a date"));
    let starts = day(&form.starts_on, "The first day")?;
    let ends = day(&form.ends_on, "The last day")? + chrono::Duration::days(1);
    let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
    let multiplier_bp = parse_credits(&form.multiplier).ok_or("The multiplier must be a number like 1.5")? * 100;
    let count = |text: &str| some(text).map(|t| t.parse::<i64>().map_err(|_| "Targets are whole numbers".to_string())).transpose();
    Ok(CreateCampaign {
        name: form.name.clone(),
        kind: CampaignKind::parse(&form.kind).ok_or("Pick a kind")?,
        audience: Audience::parse(&form.audience),
        referrer_kind: AccountKind::parse(&form.referrer_kind),
        vendor_type: some(&form.vendor_type),
        location: some(&form.location),
        min_tier: bouquet_core::tiers::Tier::parse(form.min_tier.trim()),
        starts_at: midnight(starts),
        ends_at: midnight(ends),
        multiplier_bp: Some(multiplier_bp),
        bonus: Some(Money::credits(some(&form.bonus).map_or(Some(0), |b| parse_credits(&b)).ok_or("The bonus must be credits like 5 or 2.50")?)),
        referee_incentive: None,
        referee_incentive_text: some(&form.referee_incentive_text),
        target_referrals: count(&form.target_referrals)?,
        target_conversions: count(&form.target_conversions)?,
        budget: Money::credits(parse_credits(&form.budget).ok_or("The budget must be credits like 500 or 1,000.00")?),
        email_template: None,
        landing_headline: some(&form.landing_headline),
        landing_message: None,
        draft: None,
    })
}

pub async fn create(State(state): State<AppState>, jar: CookieJar, axum::Form(form): axum::Form<NewCampaignForm>) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    let request = match parse_form(&form) {
        Ok(r) => r,
        Err(message) => return list_with(&state, &jar, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match campaigns::create(&state.store, request, Utc::now()).await {
        Ok(view) => Redirect::to(&format!("/admin/campaigns/{}?done=created", view.id)).into_response(),
        Err(e @ (ApiError::Invalid { .. } | ApiError::Conflict(_))) => list_with(&state, &jar, Some(e.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::extract::Query(q): axum::extract::Query<DoneQuery>) -> Response {
    show_with(&state, &jar, id, q.done.map(|d| format!("Campaign {d}.")), None, StatusCode::OK).await
}

async fn show_with(state: &AppState, jar: &CookieJar, id: Uuid, done: Option<String>, error: Option<String>, status: StatusCode) -> Response {
    let (caller, token) = match operator(state, jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let c = match state.store.campaign(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such campaign.").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut blocks = Vec::new();
    if let Ok(Some(test)) = state.store.running_experiment(c.id).await {
        if let Ok(view) = experiments::results(&state.store, test.id).await {
            let pct = |x: Option<f64>| x.map_or("—".into(), |v| format!("{:.1}%", v * 100.0));
            blocks.push(ExperimentBlock {
                id: view.id,
                name: view.name.clone(),
                subject: view.subject.as_str().replace('_', " "),
                status: view.status.clone(),
                can_apply: view.winner.is_some() && view.status == "running",
                variants: view
                    .variants
                    .iter()
                    .map(|v| VariantLine {
                        name: v.name.clone(),
                        weight: v.weight,
                        referrals: v.referrals,
                        conversions: v.conversions,
                        rate: match (v.conversion_rate, v.rate_low, v.rate_high) {
                            (Some(r), Some(lo), Some(hi)) => format!("{:.1}% ({:.1}–{:.1}%)", r * 100.0, lo * 100.0, hi * 100.0),
                            _ => "—".into(),
                        },
                        lift: pct(v.comparison.and_then(|c| c.relative_lift)),
                        z: v.comparison.and_then(|c| c.z).map_or("—".into(), |z| format!("{z:.2}")),
                        p: v.comparison.and_then(|c| c.p_value).map_or("—".into(), |p| format!("{p:.4}")),
                        verdict: if v.is_control { "control".into() } else { v.verdict_text.clone().unwrap_or_default() },
                    })
                    .collect(),
            });
        }
    }
    let shown = campaigns::shown_status(&c);
    let actions: Vec<&'static str> = match c.status {
        CampaignStatus::Draft => vec!["schedule", "end"],
        CampaignStatus::Active | CampaignStatus::Scheduled => vec!["pause", "end"],
        CampaignStatus::Paused => vec!["resume", "end"],
        _ => vec![],
    };
    let mut targeting = Vec::new();
    if let Some(k) = c.referrer_kind {
        targeting.push(format!("{}s", k.as_str()));
    }
    if let Some(v) = &c.vendor_type {
        targeting.push(v.clone());
    }
    if let Some(l) = &c.location {
        targeting.push(format!("in {l}"));
    }
    if let Some(t) = c.min_tier {
        targeting.push(format!("{} tier and above", t.as_str()));
    }
    page(
        status,
        CampaignPage {
            section: "campaigns",
            csrf: csrf_token(state, &token),
            operator: caller.account.email,
            id: c.id,
            name: c.name.clone(),
            kind: c.kind.as_str(),
            status: shown.as_str(),
            runs: runs(&c),
            audience: if c.kind == CampaignKind::Seasonal { c.audience.as_str().replace('_', " ") } else { String::new() },
            targeting: targeting.join(", "),
            multiplier: multiplier(c.multiplier_bp),
            bonus: credits(c.bonus_minor),
            spent: credits(c.spent_minor),
            budget: credits(c.budget_minor),
            referrals: c.referrals,
            conversions: c.conversions,
            target_referrals: c.target_referrals.map_or("no target".into(), |t| format!("target {t}")),
            target_conversions: c.target_conversions.map_or("no target".into(), |t| format!("target {t}")),
            actions,
            experiments: blocks,
            done,
            error,
        },
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
}

pub async fn act(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::Form(form): axum::Form<ActionForm>) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    let action = match form.action.as_str() {
        "schedule" => CampaignAction::Schedule,
        "pause" => CampaignAction::Pause,
        "resume" => CampaignAction::Resume,
        "end" => CampaignAction::End,
        _ => return (StatusCode::UNPROCESSABLE_ENTITY, "Unknown action.").into_response(),
    };
    match campaigns::update(&state.store, id, UpdateCampaign { action: Some(action), ..UpdateCampaign::default() }, Utc::now()).await {
        Ok(_) => Redirect::to(&format!("/admin/campaigns/{id}?done={}", match action {
            CampaignAction::Schedule => "scheduled",
            CampaignAction::Pause => "paused",
            CampaignAction::Resume => "resumed",
            CampaignAction::End => "ended",
        }))
        .into_response(),
        Err(e @ (ApiError::Invalid { .. } | ApiError::Conflict(_))) => show_with(&state, &jar, id, None, Some(e.to_string()), StatusCode::CONFLICT).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn apply(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::Form(form): axum::Form<CsrfOnly>) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    match experiments::apply(&state.store, id, Utc::now()).await {
        Ok(view) => Redirect::to(&format!("/admin/campaigns/{}?done=given%20the%20winner%27s%20values", view.campaign_id)).into_response(),
        Err(e) => e.into_response(),
    }
}
