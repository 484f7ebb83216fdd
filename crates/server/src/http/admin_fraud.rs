//! The console's fraud review queue: pending cases with their evidence (the referrer's
//! other referees, look-alike emails side by side, IP-hash cluster sizes, a plot of the
//! sign-up times), and the approve/reject decision with a note.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use bouquet_core::api::{ReviewCase, ReviewDecision};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::admin::{csrf_ok, csrf_token, operator, page};
use crate::error::ApiError;
use crate::service::fraud;

struct CaseLine {
    id: Uuid,
    user: String,
    referrer: String,
    score: String,
    risk: &'static str,
    action: &'static str,
    signals: String,
    opened: String,
    decided: String,
}

#[derive(Template)]
#[template(path = "admin/fraud_queue.html")]
struct QueuePage {
    section: &'static str,
    csrf: String,
    operator: String,
    pending: bool,
    rows: Vec<CaseLine>,
}

struct SignalLine {
    name: String,
    triggered: bool,
    value: String,
    threshold: String,
    weight: String,
    sentence: String,
}

struct RefereeLine {
    user: String,
    email: String,
    signed_up: String,
    converted: String,
    fair: bool,
    action: &'static str,
    ip_hashes: String,
    is_subject: bool,
    in_pattern: bool,
}

#[derive(Template)]
#[template(path = "admin/fraud_case.html")]
struct CasePage {
    section: &'static str,
    csrf: String,
    operator: String,
    id: Uuid,
    user: String,
    referrer: String,
    referrer_id: Uuid,
    status: String,
    score: String,
    risk: &'static str,
    action: &'static str,
    policy: String,
    assessed: String,
    signals: Vec<SignalLine>,
    look_alikes: Vec<(String, String)>,
    clusters: Vec<(String, i64)>,
    referees: Vec<RefereeLine>,
    plot: Vec<Dot>,
    plot_from: String,
    plot_to: String,
    decided: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
}

fn when(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn referrer_name(state: &AppState, id: Uuid) -> String {
    match state.store.account(id).await {
        Ok(Some(a)) => a.business_name.or(a.couple_names).unwrap_or(a.email),
        _ => id.to_string(),
    }
}

pub async fn queue(State(state): State<AppState>, jar: CookieJar, Query(q): Query<QueueQuery>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let pending = q.status.as_deref() != Some("decided");
    let rows = match state.store.fraud_reviews(pending, None, 200).await {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut names = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (row, assessment) in &rows {
        let case = fraud::case_summary(row, assessment);
        if let std::collections::hash_map::Entry::Vacant(name) = names.entry(case.referrer_id) {
            name.insert(referrer_name(&state, case.referrer_id).await);
        }
        let signals: Vec<String> = case.assessment.signals.iter().filter(|s| s.triggered).map(|s| s.signal.as_str().replace('_', " ")).collect();
        lines.push(CaseLine {
            id: case.id,
            user: case.platform_user_id.clone(),
            referrer: names[&case.referrer_id].clone(),
            score: format!("{:.2}", case.assessment.score),
            risk: case.assessment.risk.as_str(),
            action: case.assessment.action.as_str(),
            signals: if signals.is_empty() { "—".into() } else { signals.join(", ") },
            opened: when(case.opened_at),
            decided: case.decided_at.map(when).map_or_else(String::new, |d| format!("{} {d}", case.status)),
        });
    }
    page(StatusCode::OK, QueuePage { section: "fraud", csrf: csrf_token(&state, &token), operator: caller.account.email, pending, rows: lines })
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>) -> Response {
    show_with(&state, &jar, id, None, StatusCode::OK).await
}

/// One sign-up on the timing plot.
struct Dot {
    x: String,
    radius: u8,
    fill: &'static str,
    title: String,
}

/// Sign-up times as dots on a line (an SVG in the page: the console runs no script). The
/// referee is the large dot; the pattern's members are rose, everyone else grey.
fn timing_plot(case: &ReviewCase) -> (Vec<Dot>, String, String) {
    let Some(evidence) = &case.evidence else { return (Vec::new(), String::new(), String::new()) };
    let (Some(first), Some(last)) = (evidence.referees.first(), evidence.referees.last()) else { return (Vec::new(), String::new(), String::new()) };
    let span = (last.signed_up_at - first.signed_up_at).num_seconds().max(1) as f64;
    let related: std::collections::BTreeSet<&str> = case.assessment.signals.iter().filter(|s| s.triggered).flat_map(|s| s.related.iter().map(String::as_str)).collect();
    let dots = evidence
        .referees
        .iter()
        .map(|r| {
            let (radius, fill) = if r.platform_user_id == case.platform_user_id {
                (7, "#8f3052")
            } else if related.contains(r.platform_user_id.as_str()) {
                (5, "#b4466a")
            } else {
                (4, "#9c8f98")
            };
            let x = 20.0 + (r.signed_up_at - first.signed_up_at).num_seconds() as f64 / span * 680.0;
            Dot { x: format!("{x:.1}"), radius, fill, title: format!("{} {}", r.platform_user_id, when(r.signed_up_at)) }
        })
        .collect();
    (dots, when(first.signed_up_at), when(last.signed_up_at))
}

async fn show_with(state: &AppState, jar: &CookieJar, id: Uuid, error: Option<String>, status: StatusCode) -> Response {
    let (caller, token) = match operator(state, jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let case = match fraud::case_view(&state.store, id).await {
        Ok(c) => c,
        Err(ApiError::NotFound(_)) => return (StatusCode::NOT_FOUND, "No such review case.").into_response(),
        Err(e) => return e.into_response(),
    };
    let (plot, plot_from, plot_to) = timing_plot(&case);
    let a = &case.assessment;
    let related: std::collections::BTreeSet<&str> = a.signals.iter().filter(|s| s.triggered).flat_map(|s| s.related.iter().map(String::as_str)).collect();
    let similar: std::collections::BTreeSet<&str> = a
        .signals
        .iter()
        .filter(|s| s.signal == bouquet_core::fraud::Signal::Similarity)
        .flat_map(|s| s.related.iter().map(String::as_str))
        .collect();
    let evidence = case.evidence.clone();
    let referee_email = evidence.as_ref().and_then(|e| e.referee_email.clone()).unwrap_or_else(|| "—".into());
    let referees: Vec<RefereeLine> = evidence
        .as_ref()
        .map(|e| {
            e.referees
                .iter()
                .map(|r| RefereeLine {
                    user: r.platform_user_id.clone(),
                    email: r.email.clone().unwrap_or_else(|| "—".into()),
                    signed_up: when(r.signed_up_at),
                    converted: r.converted_at.map(when).unwrap_or_default(),
                    fair: r.fair_traffic,
                    action: r.action.as_str(),
                    ip_hashes: r.ip_hashes.join(" "),
                    is_subject: r.platform_user_id == case.platform_user_id,
                    in_pattern: related.contains(r.platform_user_id.as_str()),
                })
                .collect()
        })
        .unwrap_or_default();
    let look_alikes = referees.iter().filter(|r| similar.contains(r.user.as_str())).map(|r| (referee_email.clone(), r.email.clone())).collect();
    let number = |v: Option<f64>| v.map_or("—".into(), |v| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") });
    page(
        status,
        CasePage {
            section: "fraud",
            csrf: csrf_token(state, &token),
            operator: caller.account.email,
            id: case.id,
            user: case.platform_user_id.clone(),
            referrer: referrer_name(state, case.referrer_id).await,
            referrer_id: case.referrer_id,
            status: case.status.clone(),
            score: format!("{:.2}", a.score),
            risk: a.risk.as_str(),
            // Once decided, the case's outcome is the action in force.
            action: match case.status.as_str() {
                "approved" => "approve",
                "rejected" => "reject",
                _ => a.action.as_str(),
            },
            policy: a.policy_version.clone(),
            assessed: format!("{} ({})", when(a.assessed_at), a.cause),
            signals: a
                .signals
                .iter()
                .map(|s| SignalLine {
                    name: s.signal.as_str().replace('_', " "),
                    triggered: s.triggered,
                    value: number(s.value),
                    threshold: number(Some(s.threshold)),
                    weight: if s.signal.is_hard_rule() { "hard rule".into() } else { format!("{:.2}", s.weight) },
                    sentence: s.sentence.clone(),
                })
                .collect(),
            look_alikes,
            clusters: evidence.as_ref().map(|e| e.ip_clusters.iter().map(|c| (c.ip_hash.clone(), c.referees)).collect()).unwrap_or_default(),
            referees,
            plot,
            plot_from,
            plot_to,
            decided: case.decided_at.map(|at| {
                let who = if case.decided_by.is_some() { "by an operator" } else { "by the policy" };
                format!("{} {who} on {}{}", case.status, when(at), case.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default())
            }),
            error,
        },
    )
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: String,
    decision: String,
    note: Option<String>,
}

pub async fn decide(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::Form(form): axum::Form<DecisionForm>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    let decision = ReviewDecision { decision: form.decision, note: form.note };
    match fraud::decide(&state.store, caller.account.id, id, &decision, Utc::now()).await {
        Ok(_) => Redirect::to(&format!("/admin/fraud/{id}")).into_response(),
        Err(e @ (ApiError::Invalid { .. } | ApiError::Conflict(_))) => show_with(&state, &jar, id, Some(e.to_string()), StatusCode::CONFLICT).await,
        Err(e) => e.into_response(),
    }
}

