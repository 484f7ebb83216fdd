//! The couples' own pages (issue 15), server-rendered for phones: sign in, then their code
//! to pass on (link, QR code, one-tap sharing), their rewards with status and reason, and
//! their tier with the way to the next. The essentials work without JavaScript; a small
//! script of the server's own (`/couple/share.js`, no inline script) adds the phone's share
//! sheet and a copy button. The session is a device token in an `HttpOnly`,
//! `SameSite=Lax` cookie scoped to `/couple`; signing out is a form with a CSRF token.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use bouquet_core::api::CreateSession;
use bouquet_core::notifications::{NotificationKind, NotificationPreference};
use bouquet_core::referral::percent_encode;
use bouquet_core::recommend::RecommendToFriends;
use bouquet_core::{AccountKind, VendorType};
use serde::Deserialize;

use super::AppState;
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::service::{accounts, couples, notices, recommendations};
use crate::store::{Caller, SupplierChoice};

const SESSION_COOKIE: &str = "bq_couple";

/// No framing, scripts only from this server, images from here or inline (the QR code),
/// forms only to this server, never cached.
fn page(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; script-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            Html(body),
        )
            .into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

fn csrf_token(state: &AppState, session: &str) -> String {
    super::admin::csrf_token_for(state, "couple", session)
}

/// The signed-in couple and their session token, or the sign-in page.
async fn couple(state: &AppState, jar: &CookieJar) -> Result<(Caller, String), Response> {
    let to_login = || Redirect::to("/couple/login").into_response();
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Err(to_login()) };
    match accounts::authenticate(&state.store, Some(&token)).await {
        Ok(caller) if caller.account.kind == AccountKind::Couple => Ok((caller, token)),
        Ok(_) | Err(ApiError::Unauthorized(_)) => Err(to_login()),
        Err(e) => Err(e.into_response()),
    }
}

#[derive(Template)]
#[template(path = "couple/login.html")]
struct LoginPage<'a> {
    tr: Tr,
    error: Option<&'a str>,
    email: &'a str,
    /// That a sign-in link was asked for, in words.
    sent: Option<String>,
    /// Whether links can be emailed (a mail relay is configured).
    links: bool,
}

impl<'a> LoginPage<'a> {
    fn new(state: &AppState, tr: Tr, error: Option<&'a str>, email: &'a str, sent: Option<&str>) -> Self {
        let minutes = couples::SIGN_IN_LINK_MINUTES;
        let sent = sent.map(|address| tr.t_with("couple-link-sent", &[("address", address.to_string().into()), ("minutes", minutes.into())]));
        Self { tr, error, email, sent, links: state.settings.email.relay.is_some() }
    }
}

/// A form posted from another site (a login CSRF would sign the couple in to someone
/// else's account and have them share that code): refused.
fn cross_site(headers: &HeaderMap) -> Option<Response> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    (site == Some("cross-site")).then(|| (StatusCode::FORBIDDEN, "This form can only be sent from Bouquet's own pages.").into_response())
}

/// The Language choices: Bouquet's languages, the account's own marked; a language the
/// account chose that Bouquet lacks (set through the API) is offered as it is, so saving
/// the form does not quietly replace it.
fn language_choices(chosen: Option<&str>) -> Vec<(String, String, bool)> {
    let mut choices: Vec<(String, String, bool)> =
        Tr::languages().into_iter().map(|(tag, name)| (tag.to_string(), name, chosen.is_some_and(|c| c == tag || c.starts_with(&format!("{tag}-"))))).collect();
    if let Some(other) = chosen.filter(|_| !choices.iter().any(|c| c.2)) {
        choices.push((other.to_string(), other.to_string(), true));
    }
    choices
}

/// The language of a page before sign-in: the browser's.
fn language(headers: &HeaderMap) -> Tr {
    Tr::for_request(None, headers)
}

/// The signed-in couple's language: the one they chose, else their browser's.
fn their_language(caller: &Caller, headers: &HeaderMap) -> Tr {
    Tr::for_request(caller.account.locale.as_deref(), headers)
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(StatusCode::OK, LoginPage::new(&state, language(&headers), None, "", None))
}

/// Sign-in with a cookie for the session, then to the page.
fn signed_in(state: &AppState, jar: CookieJar, token: String) -> Response {
    // Lax, not Strict: the page is opened from links in emails and messages.
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .path("/couple")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(cookie::time::Duration::days(30))
        .build();
    (jar.add(cookie), Redirect::to("/couple")).into_response()
}

#[derive(Deserialize)]
pub struct LinkForm {
    email: String,
}

/// "Email me a sign-in link": the same answer whether or not the address has an account.
pub async fn ask_for_link(State(state): State<AppState>, headers: HeaderMap, axum::Form(form): axum::Form<LinkForm>) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let tr = language(&headers);
    if state.settings.email.relay.is_none() {
        let message = tr.t("couple-links-unavailable");
        return page(StatusCode::SERVICE_UNAVAILABLE, LoginPage::new(&state, tr, Some(&message), &form.email, None));
    }
    let asked_in = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    match couples::email_sign_in_link(&state.store, &state.settings, &form.email, asked_in, chrono::Utc::now()).await {
        Ok(()) => page(StatusCode::OK, LoginPage::new(&state, tr, None, &form.email, Some(&form.email))),
        Err(ApiError::Invalid { .. }) => {
            let message = tr.t("couple-not-an-email");
            page(StatusCode::UNPROCESSABLE_ENTITY, LoginPage::new(&state, tr, Some(&message), &form.email, None))
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "couple/link.html")]
struct LinkPage {
    tr: Tr,
}

/// The emailed link opens a page that asks before signing in: mail scanners open links,
/// and only the button (a `POST`) uses it.
pub async fn confirm_link(headers: HeaderMap) -> Response {
    page(StatusCode::OK, LinkPage { tr: language(&headers) })
}

pub async fn use_link(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar, Path(token): Path<String>) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    match couples::sign_in_with_link(&state.store, &state.ip_secret, &token, chrono::Utc::now()).await {
        Ok(Some(session)) => signed_in(&state, jar, session.token),
        Ok(None) => {
            let tr = language(&headers);
            let message = tr.t("couple-link-used");
            page(StatusCode::GONE, LoginPage::new(&state, tr, Some(&message), "", None))
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn log_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    ip: super::landing::ClientIp,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let tr = language(&headers);
    let refused = |id: &str| {
        let message = tr.t(id);
        page(StatusCode::UNAUTHORIZED, LoginPage::new(&state, tr.clone(), Some(&message), &form.email, None))
    };
    let request = CreateSession { email: form.email.clone(), password: form.password.clone(), device_name: Some("couple's phone".into()) };
    let from = accounts::AttemptFrom { secret: &state.ip_secret, client: ip.0 };
    let session = match accounts::log_in(&state.store, request, &from).await {
        Ok(s) => s,
        Err(ApiError::Unauthorized(_)) => return refused("couple-wrong-password"),
        Err(ApiError::Locked { until }) => {
            let message = tr.t_with("couple-locked", &[("time", until.format("%H:%M").to_string().into())]);
            return page(StatusCode::TOO_MANY_REQUESTS, LoginPage::new(&state, tr.clone(), Some(&message), &form.email, None));
        }
        Err(e) => return e.into_response(),
    };
    if session.account.kind != AccountKind::Couple {
        // The password was right, but this page is not theirs: the session just opened
        // for it is closed again rather than left as an unused device.
        if let Err(e) = state.store.revoke_device(session.device_id, chrono::Utc::now()).await {
            return ApiError::from(e).into_response();
        }
        return refused("couple-not-a-couple");
    }
    signed_in(&state, jar, session.token)
}

struct RewardLine {
    amount: String,
    status: String,
    reason: String,
}

struct NewsLine {
    title: String,
    body: String,
    at: String,
}

struct EmailChoice {
    kind: &'static str,
    label: String,
    email: bool,
}

struct Progress {
    label: String,
    value: i64,
    max: i64,
}

#[derive(Template)]
#[template(path = "couple/page.html")]
struct CouplePage {
    tr: Tr,
    names: String,
    qr_alt: String,
    code: String,
    link: String,
    qr: String,
    share_title: String,
    share_text: String,
    whatsapp_url: String,
    email_url: String,
    tier_line: String,
    progress: Option<Progress>,
    pending: String,
    available: String,
    rewards: Vec<RewardLine>,
    news: Vec<NewsLine>,
    choices: Vec<EmailChoice>,
    saved: bool,
    /// The language the couple chose ("" to follow the browser), and those to choose from.
    chosen_locale: String,
    /// (tag, the language's own name, chosen).
    languages: Vec<(String, String, bool)>,
    csrf: String,
    recommend: RecommendBox,
}

/// A supplier the couple can pick, as a radio button.
struct SupplierOption {
    id: String,
    label: String,
    checked: bool,
}

/// One of the couple's recommendations, as listed on their page.
struct RecommendationLine {
    supplier: String,
    progress: String,
    at: String,
    link: String,
}

/// The "Recommend a supplier" section: the search, the suppliers to pick from (booked,
/// found, suggested), the form as the couple left it, and what was sent.
struct RecommendBox {
    name: String,
    /// The trade searched ("" for any), kept with the form so a found supplier stays listed.
    trade: String,
    trades: Vec<(String, String, bool)>,
    searched: bool,
    booked: Vec<SupplierOption>,
    found: Vec<SupplierOption>,
    suggested: Vec<SupplierOption>,
    message: String,
    friends: Vec<String>,
    sent: Option<String>,
    error: Option<String>,
    made: Vec<RecommendationLine>,
}

/// What a request asks of the page beyond showing it.
#[derive(Default)]
struct PageAsk {
    saved: bool,
    name: Option<String>,
    trade: Option<VendorType>,
    /// The supplier picked, the line and the friends, kept when the form is shown again.
    picked: Option<String>,
    message: String,
    friends: Vec<String>,
    sent: Option<(usize, bool)>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    saved: bool,
    /// A supplier search: part of a business name, a trade, or both.
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    trade: Option<String>,
    /// After a recommendation: how many friends it went to, and whether by email.
    #[serde(default)]
    sent: Option<usize>,
    #[serde(default)]
    emailed: Option<bool>,
}

fn trade_of(raw: Option<&str>) -> Option<VendorType> {
    raw.map(str::trim).filter(|t| !t.is_empty()).and_then(VendorType::parse)
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar, axum::extract::Query(query): axum::extract::Query<ShowQuery>) -> Response {
    let (caller, token) = match couple(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let tr = their_language(&caller, &headers);
    let ask = PageAsk {
        saved: query.saved,
        name: query.q,
        trade: trade_of(query.trade.as_deref()),
        sent: query.sent.map(|n| (n, query.emailed.unwrap_or(true))),
        ..Default::default()
    };
    render_page(&state, tr, &caller, &token, StatusCode::OK, ask).await
}

fn option_of(choice: &SupplierChoice, tr: &Tr, picked: Option<&str>) -> SupplierOption {
    let id = choice.id.to_string();
    let name = choice.business_name.clone().unwrap_or_else(|| tr.t("recommend-supplier"));
    let mut label = match choice.vendor_type.as_deref() {
        Some(trade) => format!("{name} · {}", tr.t(&format!("trade-{trade}"))),
        None => name,
    };
    if let Some(place) = &choice.location {
        label.push_str(&format!(" · {place}"));
    }
    SupplierOption { checked: picked == Some(id.as_str()), id, label }
}

async fn render_page(state: &AppState, tr: Tr, caller: &Caller, token: &str, status: StatusCode, ask: PageAsk) -> Response {
    let data = match couples::page(&state.store, caller, state.settings.referral_lifetime, &state.settings.public_url).await {
        Ok(data) => data,
        Err(e) => return e.into_response(),
    };
    let found = match couples::find_suppliers(&state.store, ask.name.as_deref(), ask.trade).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let suggested = match couples::also_booked(&state.store, caller, ask.trade, &data.booked).await {
        // A supplier is offered once: one found by the search is not suggested again.
        Ok(suggested) => suggested.into_iter().filter(|s| !found.iter().any(|f| f.id == s.id)).collect::<Vec<_>>(),
        Err(e) => return e.into_response(),
    };
    let picked = ask.picked.as_deref();
    let options = |list: &[SupplierChoice]| list.iter().map(|c| option_of(c, &tr, picked)).collect::<Vec<_>>();
    let mut friends = ask.friends.clone();
    friends.resize(3.max(friends.len()), String::new());
    let recommend = RecommendBox {
        name: ask.name.clone().unwrap_or_default(),
        trade: ask.trade.map(|t| t.as_str().to_string()).unwrap_or_default(),
        trades: VendorType::ALL.iter().map(|t| (t.as_str().to_string(), tr.t(&format!("trade-{}", t.as_str())), ask.trade == Some(*t))).collect(),
        searched: ask.name.as_deref().is_some_and(|n| !n.trim().is_empty()) || ask.trade.is_some(),
        booked: options(&data.booked),
        found: options(&found),
        suggested: options(&suggested),
        message: ask.message.clone(),
        friends,
        sent: ask.sent.map(|(n, emailed)| {
            let went = tr.t_with("recommend-sent", &[("count", n.into())]);
            if emailed { went } else { format!("{went} {}", tr.t("recommend-links-only")) }
        }),
        error: ask.error.clone(),
        made: data
            .recommended
            .iter()
            .map(|r| RecommendationLine {
                supplier: r.supplier_name.clone(),
                progress: tr.t(&format!("progress-{}", r.progress.as_str())),
                at: tr.date(r.created_at),
                link: format!("{}/r/{}", state.settings.public_url, r.code),
            })
            .collect(),
    };
    let link = data.referral.link.clone();
    let share_text = tr.t_with("couple-share-text", &[("code", data.referral.code.to_string().into()), ("link", link.clone().into())]);
    let tier = &data.tier;
    let tier_line = match &tier.tier {
        Some(t) => format!("{} {} — {}", t.badge, notices::tier_name(&tr, t.tier), notices::perk(&tr, t.tier)),
        None => tr.t("couple-no-tier"),
    };
    let progress = tier.next_tier.as_ref().map(|next| {
        let left = tier.referrals_to_next.unwrap_or(0);
        let label = tr.t_with("couple-to-next", &[("count", left.into()), ("tier", notices::tier_name(&tr, next.tier).into())]);
        Progress { label, value: tier.successful_referrals, max: next.threshold }
    });
    page(
        status,
        CouplePage {
            qr_alt: tr.t_with("couple-qr-alt", &[("link", link.clone().into())]),
            names: data.names,
            code: data.referral.code.to_string(),
            qr: data.qr_data_uri,
            share_title: "Bouquet".into(),
            whatsapp_url: format!("https://wa.me/?text={}", percent_encode(&share_text)),
            email_url: format!("mailto:?subject={}&body={}", percent_encode(&tr.t("couple-share-subject")), percent_encode(&share_text)),
            share_text,
            link,
            tier_line,
            progress,
            pending: tr.credits(data.balance.pending.amount_minor),
            available: tr.credits(data.balance.available.amount_minor),
            rewards: data
                .rewards
                .iter()
                .map(|r| RewardLine {
                    // A tier's perk is not paid in credits: it is named, not shown as 0.
                    amount: if r.role == bouquet_core::RewardRole::Tier { tr.t("couple-tier-perk") } else { tr.credits(r.amount.amount_minor) },
                    status: tr.t(&format!("status-{}", r.status.as_str())),
                    // A tier's reason is words alone, said in the couple's language; a
                    // referral's is its calculation, kept as the ledger wrote it.
                    reason: r.tier.map_or_else(|| r.reason.clone(), |t| notices::tier_reason(&tr, t)),
                })
                .collect(),
            news: data
                .news
                .into_iter()
                .map(|n| notices::shown(&tr, n))
                .map(|n| NewsLine { title: n.title, body: n.body, at: tr.date(n.created_at) })
                .collect(),
            choices: data.choices.iter().map(|c| EmailChoice { kind: c.kind.as_str(), label: tr.t(&format!("notify-{}", c.kind.as_str())), email: c.email }).collect(),
            saved: ask.saved,
            chosen_locale: caller.account.locale.clone().unwrap_or_default(),
            languages: language_choices(caller.account.locale.as_deref()),
            csrf: csrf_token(state, token),
            recommend,
            tr,
        },
    )
}

/// The recommendation form: the supplier picked, the couple's line, friends' emails.
#[derive(Deserialize)]
pub struct RecommendForm {
    csrf: String,
    #[serde(default)]
    supplier: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    friend1: String,
    #[serde(default)]
    friend2: String,
    #[serde(default)]
    friend3: String,
    /// The search the form was shown with, shown again with it.
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    trade: Option<String>,
}

/// Sends a recommendation to the friends in the form; a mistake shows the page again with
/// what was typed and what is wrong.
pub async fn recommend(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar, axum::Form(form): axum::Form<RecommendForm>) -> Response {
    let (caller, token) = match posting_couple(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let tr = their_language(&caller, &headers);
    let friends = vec![form.friend1, form.friend2, form.friend3];
    let again = |error: String| PageAsk {
        name: form.q.clone(),
        trade: trade_of(form.trade.as_deref()),
        picked: form.supplier.clone(),
        message: form.message.clone(),
        friends: friends.clone(),
        error: Some(error),
        ..Default::default()
    };
    let Some(supplier_id) = form.supplier.as_deref().and_then(|s| uuid::Uuid::parse_str(s).ok()) else {
        return render_page(&state, tr.clone(), &caller, &token, StatusCode::UNPROCESSABLE_ENTITY, again(tr.t("recommend-pick-one"))).await;
    };
    let request = RecommendToFriends { supplier_id, message: Some(form.message.clone()), friends: friends.clone() };
    match recommendations::recommend_to_friends(&state.store, &state.settings, &state.unsubscribe_key, &caller, request, &tr).await {
        Ok(sent) => Redirect::to(&format!("/couple?sent={}&emailed={}#recommend", sent.referrals.len(), sent.emailed)).into_response(),
        Err(e @ ApiError::Invalid { .. }) => render_page(&state, tr, &caller, &token, StatusCode::UNPROCESSABLE_ENTITY, again(e.to_string())).await,
        Err(ApiError::NotFound(_)) => {
            let gone = tr.t("recommend-supplier-gone");
            render_page(&state, tr, &caller, &token, StatusCode::UNPROCESSABLE_ENTITY, again(gone)).await
        }
        Err(e) => e.into_response(),
    }
}

fn csrf_matches(state: &AppState, token: &str, sent: &str) -> bool {
    super::admin::csrf_ok_for(state, "couple", token, sent)
}

/// The signed-in couple behind a form, and their session token, when the form carries
/// their CSRF token; else the sign-in page or a refusal.
async fn posting_couple(state: &AppState, jar: &CookieJar, csrf: &str) -> Result<(Caller, String), Response> {
    let (caller, token) = couple(state, jar).await?;
    if !csrf_matches(state, &token, csrf) {
        return Err((StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response());
    }
    Ok((caller, token))
}

/// Saves which kinds of notification come by email: a checkbox per kind (an unchecked
/// box is not sent, so every kind not in the form is off).
pub async fn save_emails(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let (caller, _) = match posting_couple(&state, &jar, form.get("csrf").map_or("", String::as_str)).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let now = chrono::Utc::now();
    let choices: Vec<NotificationPreference> = NotificationKind::ALL
        .into_iter()
        .map(|kind| NotificationPreference { kind, email: form.contains_key(kind.as_str()), changed_at: Some(now) })
        .collect();
    match state.store.set_notification_preferences(caller.account.id, &choices, now).await {
        Ok(()) => Redirect::to("/couple?saved=true#emails").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    csrf: String,
    #[serde(default)]
    locale: String,
}

/// The language of the couple's pages and emails; empty follows the browser.
pub async fn save_language(State(state): State<AppState>, jar: CookieJar, axum::Form(form): axum::Form<LanguageForm>) -> Response {
    let (caller, _) = match posting_couple(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match accounts::set_locale(&state.store, &caller.account, Some(form.locale)).await {
        Ok(_) => Redirect::to("/couple#language").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn log_out(State(state): State<AppState>, jar: CookieJar, axum::Form(form): axum::Form<CsrfForm>) -> Response {
    let (caller, _) = match posting_couple(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    // Signed out means the token is dead, not only forgotten by this browser.
    if let Err(e) = state.store.revoke_device(caller.device_id, chrono::Utc::now()).await {
        return ApiError::from(e).into_response();
    }
    (jar.remove(Cookie::build(SESSION_COOKIE).path("/couple").build()), Redirect::to("/couple/login")).into_response()
}

/// The page's share script (progressive enhancement), served from here for the CSP.
pub async fn share_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../templates/couple/share.js"),
    )
        .into_response()
}
