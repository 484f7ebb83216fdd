//! The console's growth analytics: the platform's figures by period with a chart, the
//! funnel and its bottleneck, the loop per direction, money and fraud against the seed's
//! targets, campaigns against theirs, filterable by period and split, and a CSV export
//! of the series. Charts are SVG drawn here: the console runs no script.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use bouquet_core::analytics::{AnalyticsReport, GrowthFigures, PeriodFigures};
use bouquet_core::metrics::{FunnelStep, Kpi, Period};
use bouquet_core::money::format_minor_grouped;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::admin::{csrf_token, operator, page};
use crate::error::ApiError;
use crate::service::analytics::{self, RangeRequest};

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    split: Option<String>,
}

impl Filters {
    /// Empty form fields mean "the default".
    fn range(&self) -> RangeRequest {
        let given = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        RangeRequest { period: given(&self.period), from: given(&self.from), to: given(&self.to), split: given(&self.split) }
    }

    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [("period", &self.period), ("from", &self.from), ("to", &self.to), ("split", &self.split)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{name}={}", utf8_percent_encode(v)));
            }
        }
        parts.join("&")
    }
}

fn utf8_percent_encode(v: &str) -> String {
    v.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.decimals$}"))
}

fn days(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".into(), |s| format!("{:.1} d", s / 86_400.0))
}

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_minor_grouped(minor))
}

fn bucket_label(start: DateTime<Utc>, period: Period) -> String {
    match period {
        Period::Month => start.format("%Y-%m").to_string(),
        Period::Day | Period::Week => start.format("%Y-%m-%d").to_string(),
    }
}

struct KpiCard {
    label: &'static str,
    figure: String,
    target: String,
    verdict: &'static str,
}

struct Bar {
    label: String,
    x: String,
    width: String,
    made_y: String,
    made_height: String,
    centre: String,
    conversions_y: String,
    title: String,
}

struct SeriesLine {
    label: String,
    f: Line,
}

struct Line {
    referrals: i64,
    referrers: i64,
    visits: i64,
    sign_ups: i64,
    conversions: i64,
    rate: String,
    median: String,
    value: String,
}

fn line(f: &GrowthFigures, currency: &str) -> Line {
    Line {
        referrals: f.referrals_made,
        referrers: f.unique_referrers,
        visits: f.unique_visits,
        sign_ups: f.sign_ups,
        conversions: f.conversions,
        rate: pct(f.conversion_rate),
        median: days(f.median_time_to_convert_seconds),
        value: money(f.conversion_value_minor, currency),
    }
}

struct FunnelLine {
    step: &'static str,
    count: i64,
    width: String,
    rate: String,
    benchmark: String,
    bottleneck: bool,
}

struct DirectionLine {
    direction: String,
    referrers: i64,
    invitations: i64,
    conversions: i64,
    per_referrer: String,
    conversion: String,
    k: String,
    status: String,
}

struct CampaignLine {
    name: String,
    status: String,
    spend: String,
    referrals: String,
    conversions: String,
    rate: String,
}

#[derive(Template)]
#[template(path = "admin/analytics.html")]
struct AnalyticsPage {
    section: &'static str,
    csrf: String,
    operator: String,
    period: String,
    from: String,
    to: String,
    split: String,
    csv_query: String,
    error: Option<String>,
    exclusions: String,
    range: String,
    kpis: Vec<KpiCard>,
    bars: Vec<Bar>,
    chart_max: i64,
    conversions_path: String,
    series: Vec<SeriesLine>,
    total: Option<Line>,
    groups: Vec<SeriesLine>,
    split_name: String,
    funnel: Vec<FunnelLine>,
    recommendation: Option<String>,
    directions: Vec<DirectionLine>,
    full_loop: String,
    cycle: String,
    doubling: String,
    money: Vec<(&'static str, String)>,
    campaigns: Vec<CampaignLine>,
}

const CHART_WIDTH: f64 = 680.0;
const CHART_HEIGHT: f64 = 160.0;

/// Bars of referrals made per bucket with a line of their conversions, on one scale.
fn chart(series: &[PeriodFigures], period: Period) -> (Vec<Bar>, i64, String) {
    let max = series.iter().map(|p| p.figures.referrals_made.max(p.figures.conversions)).max().unwrap_or(0).max(1);
    let slot = CHART_WIDTH / series.len().max(1) as f64;
    let y = |v: i64| CHART_HEIGHT - v as f64 / max as f64 * CHART_HEIGHT + 10.0;
    let mut path = String::new();
    let bars = series
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = 30.0 + i as f64 * slot;
            let centre = x + slot / 2.0;
            path.push_str(&format!("{}{centre:.1},{:.1} ", if i == 0 { "M" } else { "L" }, y(p.figures.conversions)));
            Bar {
                label: bucket_label(p.start, period),
                x: format!("{:.1}", x + slot * 0.15),
                width: format!("{:.1}", (slot * 0.7).max(1.0)),
                made_y: format!("{:.1}", y(p.figures.referrals_made)),
                made_height: format!("{:.1}", CHART_HEIGHT + 10.0 - y(p.figures.referrals_made)),
                centre: format!("{centre:.1}"),
                conversions_y: format!("{:.1}", y(p.figures.conversions)),
                title: format!("{}: {} referrals made, {} converted", bucket_label(p.start, period), p.figures.referrals_made, p.figures.conversions),
            }
        })
        .collect();
    (bars, max, path.trim_end().to_owned())
}

fn kpi_label(kpi: Kpi) -> &'static str {
    match kpi {
        Kpi::ViralCoefficient => "Full loop K",
        Kpi::ReferralConversionRate => "Referral conversion",
        Kpi::FullLoopDays => "Full loop cycle",
        Kpi::FraudRate => "Fraud rate",
        Kpi::RewardRoi => "Reward ROI",
        Kpi::ReferralRevenueShare => "Referral revenue share",
    }
}

fn kpi_value(kpi: Kpi, v: Option<f64>) -> String {
    match kpi {
        Kpi::ReferralConversionRate | Kpi::FraudRate | Kpi::ReferralRevenueShare => pct(v),
        Kpi::FullLoopDays => v.map_or_else(|| "—".into(), |d| format!("{d:.1} days")),
        Kpi::RewardRoi => v.map_or_else(|| "—".into(), |r| format!("{r:.2} : 1")),
        Kpi::ViralCoefficient => number(v, 2),
    }
}

fn kpi_target(kpi: Kpi) -> String {
    let t = kpi.target();
    match kpi {
        Kpi::ViralCoefficient | Kpi::ReferralConversionRate => format!("above {}", kpi_value(kpi, Some(t))),
        Kpi::FullLoopDays | Kpi::FraudRate => format!("below {}", kpi_value(kpi, Some(t))),
        Kpi::RewardRoi | Kpi::ReferralRevenueShare => format!("at least {}", kpi_value(kpi, Some(t))),
    }
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Query(filters): Query<Filters>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let mut view = AnalyticsPage {
        section: "analytics",
        csrf: csrf_token(&state, &token),
        operator: caller.account.email,
        period: filters.period.clone().unwrap_or_else(|| "week".into()),
        from: filters.from.clone().unwrap_or_default(),
        to: filters.to.clone().unwrap_or_default(),
        split: filters.split.clone().unwrap_or_default(),
        csv_query: filters.query(),
        error: None,
        exclusions: String::new(),
        range: String::new(),
        kpis: Vec::new(),
        bars: Vec::new(),
        chart_max: 0,
        conversions_path: String::new(),
        series: Vec::new(),
        total: None,
        groups: Vec::new(),
        split_name: String::new(),
        funnel: Vec::new(),
        recommendation: None,
        directions: Vec::new(),
        full_loop: String::new(),
        cycle: String::new(),
        doubling: String::new(),
        money: Vec::new(),
        campaigns: Vec::new(),
    };
    let report = match platform_report(&state, &filters).await {
        Ok(r) => r,
        Err(ApiError::BadRequest { message, .. }) => {
            view.error = Some(message);
            return page(StatusCode::BAD_REQUEST, view);
        }
        Err(e) => return e.into_response(),
    };
    let currency = report.money.currency.clone();
    view.exclusions = report.exclusions.clone();
    view.range = format!("{} to {} (UTC, by {})", report.from.format("%Y-%m-%d %H:%M"), report.to.format("%Y-%m-%d %H:%M"), report.period.as_str());
    view.kpis = report
        .kpis
        .iter()
        .map(|c| KpiCard {
            label: kpi_label(c.kpi),
            figure: kpi_value(c.kpi, c.figure),
            target: kpi_target(c.kpi),
            verdict: match c.met {
                Some(true) => "met",
                Some(false) => "missed",
                None => "not measured yet",
            },
        })
        .collect();
    (view.bars, view.chart_max, view.conversions_path) = chart(&report.series, report.period);
    view.series = report.series.iter().map(|p| SeriesLine { label: bucket_label(p.start, report.period), f: line(&p.figures, &currency) }).collect();
    view.total = Some(line(&report.total, &currency));
    view.split_name = report.split_by.map(|s| s.as_str().replace('_', " ")).unwrap_or_default();
    view.groups = report.groups.iter().map(|g| SeriesLine { label: g.key.clone(), f: line(&g.total, &currency) }).collect();
    let widest = report.funnel.steps.iter().map(|s| s.count).max().unwrap_or(0).max(1);
    view.funnel = report
        .funnel
        .steps
        .iter()
        .map(|s| FunnelLine {
            step: step_name(s.step),
            count: s.count,
            width: format!("{:.1}", s.count as f64 / widest as f64 * 100.0),
            rate: pct(s.rate),
            benchmark: pct(s.benchmark),
            bottleneck: report.funnel.bottleneck == Some(s.step),
        })
        .collect();
    view.recommendation = report.funnel.recommendation.clone();
    view.directions = report
        .viral_loop
        .directions
        .iter()
        .map(|d| DirectionLine {
            direction: d.direction.as_str().replace("_to_", " → ").replace('_', " "),
            referrers: d.active_referrers,
            invitations: d.invitations,
            conversions: d.conversions,
            per_referrer: number(d.invitations_per_referrer, 2),
            conversion: pct(d.conversion_per_invitation),
            k: number(d.k, 2),
            status: d.growth_status.map_or_else(|| "—".into(), |s| s.as_str().replace('_', " ")),
        })
        .collect();
    let lp = &report.viral_loop;
    view.full_loop = format!(
        "{}{}",
        number(lp.full_loop_k, 2),
        lp.growth_status.map(|s| format!(" ({})", s.as_str().replace('_', " "))).unwrap_or_default()
    );
    view.cycle = lp.cycle_time_days.map_or_else(|| "—".into(), |d| format!("{d:.1} days"));
    view.doubling = lp.doubling_time_days.map_or_else(|| "—".into(), |d| format!("{d:.1} days"));
    let m = &report.money;
    view.money = vec![
        ("Referral revenue", money(m.referral_revenue_minor, &currency)),
        ("Rewards paid", money(m.rewards_paid_minor, &currency)),
        ("Rewards pending", money(m.rewards_pending_minor, &currency)),
        ("Reward ROI", kpi_value(Kpi::RewardRoi, m.reward_roi)),
        ("Fraud rate", format!("{} ({} of {} assessed)", pct(m.fraud_rate), m.fraud_held_or_rejected, m.fraud_assessed)),
    ];
    view.campaigns = match state.store.campaigns(200).await {
        Ok(rows) => rows
            .into_iter()
            .map(|c| {
                let against = |done: i64, target: Option<i64>| match target {
                    Some(t) => format!("{done} of {t} ({})", pct(bouquet_core::metrics::rate(done, t))),
                    None => done.to_string(),
                };
                CampaignLine {
                    name: c.name,
                    status: c.status.as_str().to_owned(),
                    spend: format!("{} / {}", format_minor_grouped(c.spent_minor), format_minor_grouped(c.budget_minor)),
                    referrals: against(c.referrals, c.target_referrals),
                    conversions: against(c.conversions, c.target_conversions),
                    rate: pct(bouquet_core::metrics::rate(c.conversions, c.referrals)),
                }
            })
            .collect(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    page(StatusCode::OK, view)
}

fn step_name(step: FunnelStep) -> &'static str {
    match step {
        FunnelStep::Invited => "Invited or shared",
        FunnelStep::Visited => "Visited",
        FunnelStep::SignedUp => "Signed up",
        FunnelStep::Activated => "Activated",
        FunnelStep::Converted => "Converted",
        FunnelStep::Retained => "Retained (30 days)",
    }
}

async fn platform_report(state: &AppState, filters: &Filters) -> Result<AnalyticsReport, ApiError> {
    let now = Utc::now();
    let range = filters.range().resolve(now)?;
    analytics::report(&state.store, None, &range, &state.settings.funnel_benchmarks, &state.settings.reporting_currency, now).await
}

/// The series as CSV: one row per bucket for everything, then per split group.
pub async fn csv(State(state): State<AppState>, jar: CookieJar, Query(filters): Query<Filters>) -> Response {
    if let Err(elsewhere) = operator(&state, &jar).await {
        return elsewhere;
    }
    let report = match platform_report(&state, &filters).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match write_csv(&report) {
        Ok(body) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"bouquet-analytics-{}.csv\"", report.period.as_str())),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            body,
        )
            .into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

fn write_csv(report: &AnalyticsReport) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "group",
        "period_start",
        "referrals_made",
        "unique_referrers",
        "unique_visits",
        "sign_ups",
        "conversions",
        "conversion_rate",
        "avg_time_to_convert_seconds",
        "median_time_to_convert_seconds",
        "conversion_value_minor",
        "avg_conversion_value_minor",
        "currency",
    ])?;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let groups = std::iter::once(("all", &report.series)).chain(report.groups.iter().map(|g| (g.key.as_str(), &g.series)));
    for (group, series) in groups {
        for p in series {
            let f = &p.figures;
            out.write_record([
                group.to_owned(),
                p.start.to_rfc3339(),
                f.referrals_made.to_string(),
                f.unique_referrers.to_string(),
                f.unique_visits.to_string(),
                f.sign_ups.to_string(),
                f.conversions.to_string(),
                opt(f.conversion_rate),
                opt(f.avg_time_to_convert_seconds),
                opt(f.median_time_to_convert_seconds),
                f.conversion_value_minor.to_string(),
                f.avg_conversion_value_minor.map(|v| v.to_string()).unwrap_or_default(),
                report.money.currency.clone(),
            ])?;
        }
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
