//! The public pages couples see: `/r/CODE` (the referral landing page and its lead
//! form), `/r?code=` (type a code by hand), `/welcome`, and friendly 404/410 pages.
//! Server-rendered, no JavaScript, small enough to load fast on a fair's mobile signal.

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use bouquet_core::{CodeError, ReferralCode};
use bouquet_core::referral::{QR_MARKER, Utm};
use chrono::Utc;
use uuid::Uuid;

use super::AppState;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::service::landing::{self, LeadForm, Unavailable, Visitor};
use crate::service::visitors::{hash_ip, trim_user_agent};
use crate::store::StoredReferral;

pub const VISITOR_COOKIE: &str = "bq_vid";
pub const TOUCH_COOKIE: &str = "bq_touch";

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage<'a> {
    tr: Tr,
    code: &'a str,
    referrer_name: &'a str,
    /// The lede, naming the referrer's trade.
    lede: String,
    message: Option<&'a str>,
    incentive: Option<String>,
    campaign_headline: Option<String>,
    campaign_message: Option<String>,
    touch: String,
    error: Option<String>,
    form_names: &'a str,
    form_email: &'a str,
    form_date: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    tr: Tr,
    heading: String,
    body: String,
    show_lookup: bool,
    typed: &'a str,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    tr: Tr,
}

fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

fn message(status: StatusCode, tr: Tr, heading: String, body: String, show_lookup: bool, typed: &str) -> Response {
    html(status, MessagePage { tr, heading, body, show_lookup, typed })
}

/// The visitor's language: pages here are opened by anyone, signed in or not.
fn language(headers: &HeaderMap) -> Tr {
    Tr::for_request(None, headers)
}

/// What is wrong with a typed code, in words.
fn code_problem(tr: &Tr, e: &CodeError) -> String {
    match e {
        CodeError::Shape => tr.t("code-problem-shape"),
        CodeError::UnknownPrefix(word) => tr.t_with("code-problem-word", &[("word", word.clone().into())]),
        CodeError::BadCharacter(c) => tr.t_with("code-problem-character", &[("character", c.to_string().into())]),
        CodeError::CheckFailed => tr.t("code-problem-check"),
    }
}

fn unavailable(u: Unavailable, tr: Tr, typed: &str) -> Response {
    match u {
        Unavailable::Typo(e) => {
            let body = tr.t_with("code-check-body", &[("problem", code_problem(&tr, &e).into())]);
            message(StatusCode::NOT_FOUND, tr.clone(), tr.t("code-check-heading"), body, true, typed)
        }
        Unavailable::Unknown(code) => {
            let body = tr.t_with("code-unknown-body", &[("code", code.to_string().into())]);
            message(StatusCode::NOT_FOUND, tr.clone(), tr.t("code-unknown-heading"), body, true, typed)
        }
        Unavailable::Expired(r) => {
            let body = tr.t_with("code-expired-body", &[("referrer", r.referrer_name.clone().into())]);
            message(StatusCode::GONE, tr.clone(), tr.t("code-expired-heading"), body, false, typed)
        }
    }
}

/// The visitor's IP address: the socket's peer, or — when the server is configured to
/// trust its proxy — the last `X-Forwarded-For` address, the one that proxy appended
/// (what the client itself sent comes before it and is not believed).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.settings.trust_forwarded_for {
            let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
            if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|s| s.trim().parse().ok()) {
                return Ok(Self(Some(ip)));
            }
        }
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn visitor(state: &AppState, jar: &CookieJar, ip: ClientIp, headers: &HeaderMap) -> Visitor {
    let visitor_id = jar
        .get(VISITOR_COOKIE)
        .map(|c| c.value().to_string())
        // Ours are 32 hex digits; another is kept if it could be a cookie's value at all
        // (RFC 6265: visible ASCII, no spaces): it becomes a fraud mark, and marks are
        // read back space-separated (`store::fraud`).
        .filter(|v| v.len() <= 64 && !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| Uuid::new_v4().simple().to_string());
    Visitor {
        visitor_id,
        ip_hash: ip.0.map(|ip| hash_ip(&state.ip_secret, ip)),
        user_agent: trim_user_agent(header_text(headers, header::USER_AGENT)),
        referer: header_text(headers, header::REFERER).map(|r| r.chars().take(500).collect()),
    }
}

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(time_duration(state.settings.cookie_lifetime))
        .build()
}

fn time_duration(d: chrono::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.num_seconds())
}

/// What an active campaign the referral was made under adds to its page: the headline,
/// its message, and its offer to the couple (when the referral offers none of its own).
#[derive(Default)]
struct Banner {
    headline: Option<String>,
    message: Option<String>,
    offer: Option<String>,
}

fn money_off(tr: &Tr, m: &bouquet_core::Money) -> String {
    tr.t_with("landing-money-off", &[("currency", m.currency.clone().into()), ("amount", tr.number_minor(m.amount_minor).into())])
}

async fn banner(state: &AppState, tr: &Tr, referral: &StoredReferral) -> Banner {
    let Some(id) = referral.view.campaign_id else { return Banner::default() };
    match state.store.campaign(id).await {
        Ok(Some(c)) if crate::service::campaigns::shown_status(&c) == bouquet_core::campaigns::CampaignStatus::Active => {
            let mut banner = Banner {
                headline: Some(c.landing_headline.clone().unwrap_or_else(|| c.name.clone())),
                message: c.landing_message.clone(),
                offer: c.referee_incentive_text.clone().or_else(|| c.referee_incentive.as_ref().map(|m| money_off(tr, m))),
            };
            // A campaign testing its page shows the referrer's variant.
            if let Ok(Some(test)) = state.store.running_experiment(c.id).await {
                if let Some((_, v)) = crate::service::experiments::variant_of(&test, referral.view.referrer_id) {
                    match test.subject.as_str() {
                        "landing_text" => {
                            banner.headline = v.landing_headline.clone().or(banner.headline);
                            banner.message = v.landing_message.clone().or(banner.message);
                        }
                        "referee_incentive" => {
                            banner.offer = v.referee_incentive_text.clone().or_else(|| v.referee_incentive.as_ref().map(|m| money_off(tr, m))).or(banner.offer);
                        }
                        _ => {}
                    }
                }
            }
            banner
        }
        // The page still works without its campaign's words.
        _ => Banner::default(),
    }
}

fn landing_page<'a>(tr: Tr, referral: &'a StoredReferral, banner: Banner, touch: Option<Uuid>, error: Option<&str>, form: &'a LeadForm) -> LandingPage<'a> {
    let v = &referral.view;
    let incentive = match (&v.incentive_offered, &v.incentive_amount) {
        (Some(words), _) => Some(words.clone()),
        (None, Some(m)) => Some(money_off(&tr, m)),
        (None, None) => banner.offer,
    };
    LandingPage {
        code: v.code.as_str(),
        referrer_name: &referral.referrer_name,
        lede: tr.t_with("landing-lede", &[("trade", v.vendor_type.map_or("none", |t| t.as_str()).into())]),
        error: error.map(|id| tr.t(id)),
        tr,
        message: v.message.as_deref(),
        incentive,
        campaign_headline: banner.headline,
        campaign_message: banner.message,
        touch: touch.map(|t| t.to_string()).unwrap_or_default(),
        form_names: &form.couple_names,
        form_email: &form.email,
        form_date: &form.wedding_date,
    }
}

/// `GET /r/{code}`: records the visit (a QR scan when the link carries `via=qr`) and
/// shows who invited the visitor, their message and offer, and the lead form.
#[utoipa::path(get, path = "/r/{code}", tag = "landing",
    params(("code" = String, Path, description = "Referral code, any case"),
           ("via" = Option<String>, Query, description = "`qr` when opened from a QR code"),
           ("utm_source" = Option<String>, Query), ("utm_medium" = Option<String>, Query), ("utm_campaign" = Option<String>, Query)),
    responses((status = 200, description = "the landing page (HTML); sets the bq_touch cookie", content_type = "text/html"),
              (status = 404, description = "unknown or mistyped code (HTML)", content_type = "text/html"),
              (status = 410, description = "expired code (HTML)", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
    ip: ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let tr = language(&headers);
    let referral = match landing::resolve(&state.store, Some(&state.recent_codes), &raw_code, now).await? {
        Ok(r) => r,
        Err(u) => return Ok(unavailable(u, tr, &raw_code)),
    };
    if raw_code != referral.view.code.as_str() {
        // One canonical URL per code (and the visit is counted there, once).
        let location = match &query {
            Some(q) => format!("/r/{}?{q}", referral.view.code),
            None => format!("/r/{}", referral.view.code),
        };
        return Ok(Redirect::permanent(&location).into_response());
    }
    if state.bots.is_bot(header_text(&headers, header::USER_AGENT)) {
        state.metrics.visit("bot");
        let banner = banner(&state, &tr, &referral).await;
        return Ok(html(StatusCode::OK, landing_page(tr, &referral, banner, None, None, &LeadForm::default())));
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.chars().take(200).collect::<String>());
    let qr = param(QR_MARKER.0).as_deref() == Some(QR_MARKER.1);
    let utm = Utm { source: param("utm_source"), medium: param("utm_medium"), campaign: param("utm_campaign") };
    let visitor = visitor(&state, &jar, ip, &headers);
    let visitor_id = visitor.visitor_id.clone();
    let (touch_id, unique) = match landing::record_visit(&state.store, &referral, visitor, qr, utm, now).await {
        Ok(recorded) => recorded,
        Err(e) => {
            state.recent_codes.forget(referral.view.code.as_str());
            return Err(e);
        }
    };
    state.metrics.visit(if unique { "unique" } else { "repeat" });
    let jar = jar.add(cookie(&state, VISITOR_COOKIE, visitor_id)).add(cookie(&state, TOUCH_COOKIE, touch_id.to_string()));
    let banner = banner(&state, &tr, &referral).await;
    Ok((jar, html(StatusCode::OK, landing_page(tr, &referral, banner, Some(touch_id), None, &LeadForm::default()))).into_response())
}

/// `POST /r/{code}`: the lead form. Records the lead and redirects to the configured
/// destination with `bq_touch` appended; on a bad field, shows the form again with the
/// typed values and a sentence saying what to fix.
#[utoipa::path(post, path = "/r/{code}", tag = "landing",
    params(("code" = String, Path, description = "Referral code")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "couple_names, email, wedding_date (YYYY-MM-DD, optional), touch"),
    responses((status = 303, description = "lead recorded; redirect to the sign-up destination with bq_touch"),
              (status = 422, description = "a field needs fixing (HTML form again)", content_type = "text/html"),
              (status = 404, description = "unknown code", content_type = "text/html"),
              (status = 410, description = "expired code", content_type = "text/html")))]
pub async fn submit_lead(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    jar: CookieJar,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let tr = language(&headers);
    let referral = match landing::resolve(&state.store, None, &raw_code, now).await? {
        Ok(r) => r,
        Err(u) => return Ok(unavailable(u, tr, &raw_code)),
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let form = LeadForm {
        couple_names: field("couple_names"),
        email: field("email"),
        wedding_date: field("wedding_date"),
        touch: field("touch"),
    };
    let cookie_touch = jar.get(TOUCH_COOKIE).and_then(|c| c.value().parse().ok());
    let visitor = visitor(&state, &jar, ip, &headers);
    match landing::record_lead(&state.store, &referral, &form, cookie_touch, visitor, now).await? {
        Ok(touch_id) => {
            state.metrics.lead();
            let jar = jar.add(cookie(&state, TOUCH_COOKIE, touch_id.to_string()));
            let to = landing::destination(&state.settings.signup_url, touch_id, &referral.view.code);
            Ok((jar, Redirect::to(&to)).into_response())
        }
        Err(problem) => {
            let touch = form.touch.parse().ok();
            let banner = banner(&state, &tr, &referral).await;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, landing_page(tr, &referral, banner, touch, Some(problem), &form)))
        }
    }
}

/// `GET /r?code=…`: a code typed by hand.
#[utoipa::path(get, path = "/r", tag = "landing",
    params(("code" = Option<String>, Query, description = "A code as typed")),
    responses((status = 303, description = "to the code's landing page"),
              (status = 200, description = "the type-a-code form", content_type = "text/html"),
              (status = 404, description = "not a code", content_type = "text/html")))]
pub async fn lookup(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let tr = language(&headers);
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let typed = params.iter().find(|(k, _)| k == "code").map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    if typed.is_empty() {
        return message(StatusCode::OK, tr.clone(), tr.t("code-open-heading"), tr.t("code-open-body"), true, "");
    }
    match ReferralCode::parse(&typed) {
        Ok(code) => Redirect::to(&format!("/r/{code}")).into_response(),
        Err(e) => unavailable(Unavailable::Typo(e), tr, &typed),
    }
}

/// The default lead destination when no platform sign-up URL is configured.
#[utoipa::path(get, path = "/welcome", tag = "landing",
    responses((status = 200, description = "thank-you page", content_type = "text/html")))]
pub async fn welcome(headers: HeaderMap) -> Response {
    html(StatusCode::OK, WelcomePage { tr: language(&headers) })
}

/// Anything else outside `/api`: a friendly page, not a bare 404.
pub async fn not_found(headers: HeaderMap) -> Response {
    let tr = language(&headers);
    message(StatusCode::NOT_FOUND, tr.clone(), tr.t("not-found-heading"), tr.t("not-found-body"), true, "")
}
