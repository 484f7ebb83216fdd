//! The operators' console at `/admin`: server-rendered pages, no JavaScript, nothing
//! from outside the server. An operator signs in with an admin account; the session is a
//! device token in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/admin`, and every
//! form that changes something carries a CSRF token derived from that session (an HMAC
//! with the server's secret), checked before anything is done. Pages: accounts (balance,
//! tier), one account (balances, ledger, rewards, the adjustment form).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use bouquet_core::api::{CreateSession, LedgerAdjustment};
use bouquet_core::ledger::LedgerBucket;
use bouquet_core::money::{CREDITS, format_minor_grouped};
use bouquet_core::tiers::tier_for;
use bouquet_core::{AccountKind, Money};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use uuid::Uuid;

use super::AppState;
use crate::error::ApiError;
use crate::service::{accounts, rewards};
use crate::store::Caller;

const SESSION_COOKIE: &str = "bq_admin";

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    email: &'a str,
}

struct AccountRow {
    id: Uuid,
    name: String,
    email: String,
    kind: &'static str,
    tier: String,
    successful: i64,
    pending: String,
    available: String,
    claimed: String,
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage {
    section: &'static str,
    csrf: String,
    operator: String,
    query: String,
    rows: Vec<AccountRow>,
    /// Whether invitation email has a relay, and its queue (docs/email.md).
    email_relay: bool,
    email: crate::store::EmailBacklog,
}

struct EntryRow {
    at: String,
    book: &'static str,
    amount: String,
    negative: bool,
    cause: &'static str,
    memo: String,
    by: String,
}

struct RewardRow {
    at: String,
    role: &'static str,
    amount: String,
    status: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    section: &'static str,
    csrf: String,
    operator: String,
    id: Uuid,
    name: String,
    email: String,
    kind: &'static str,
    joined: String,
    pending: String,
    available: String,
    claimed: String,
    held: String,
    tier: String,
    successful: i64,
    can_adjust: bool,
    done: Option<String>,
    error: Option<String>,
    form_key: Uuid,
    form_amount: String,
    form_reason: String,
    entries: Vec<EntryRow>,
    rewards: Vec<RewardRow>,
    notifications: Vec<NotificationRow>,
    /// The kinds the account does not want by email, by their Settings label.
    emails_off: Vec<&'static str>,
}

/// What the account was told, and how its email went.
struct NotificationRow {
    at: String,
    title: String,
    body: String,
    email: String,
}

/// Security headers for every console page: no framing, no scripts, nothing from
/// elsewhere, forms only to this server, never cached.
pub(super) fn page(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
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

/// The CSRF token of a session: only someone who can read the console's pages (and so
/// has the cookie) can know it.
pub(super) fn csrf_token(state: &AppState, session: &str) -> String {
    csrf_token_for(state, "admin", session)
}

/// The CSRF token of a session of one set of pages (`purpose`: "admin", "couple"): a token
/// for one never passes on the other.
pub(super) fn csrf_token_for(state: &AppState, purpose: &str, session: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.ip_secret.as_bytes()).expect("any key length");
    mac.update(purpose.as_bytes());
    mac.update(b" csrf\0");
    mac.update(session.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub(super) fn csrf_ok(state: &AppState, session: &str, sent: &str) -> bool {
    csrf_ok_for(state, "admin", session, sent)
}

pub(super) fn csrf_ok_for(state: &AppState, purpose: &str, session: &str, sent: &str) -> bool {
    let expected = csrf_token_for(state, purpose, session);
    // Constant-time comparison.
    expected.len() == sent.len() && expected.bytes().zip(sent.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The signed-in operator and their session token, or where to go instead.
pub(super) async fn operator(state: &AppState, jar: &CookieJar) -> Result<(Caller, String), Response> {
    let to_login = || Redirect::to("/admin/login").into_response();
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Err(to_login()) };
    match accounts::authenticate(&state.store, Some(&token)).await {
        Ok(caller) if caller.account.kind == AccountKind::Admin => Ok((caller, token)),
        Ok(_) => Err((StatusCode::FORBIDDEN, "This needs an operator (admin) account.").into_response()),
        Err(ApiError::Unauthorized(_)) => Err(to_login()),
        Err(e) => Err(e.into_response()),
    }
}

pub(super) fn credits(minor: i64) -> String {
    format!("{} CRD", format_minor_grouped(minor))
}

fn display_name(a: &bouquet_core::api::AccountView) -> String {
    a.business_name.clone().or_else(|| a.couple_names.clone()).unwrap_or_else(|| a.email.clone())
}

pub async fn login_form() -> Response {
    page(StatusCode::OK, LoginPage { error: None, email: "" })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn log_in(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: super::landing::ClientIp,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let refused = |message: &str| page(StatusCode::UNAUTHORIZED, LoginPage { error: Some(message), email: &form.email });
    let session = match accounts::log_in(
        &state.store,
        CreateSession { email: form.email.clone(), password: form.password.clone(), device_name: Some("admin console".into()) },
        &accounts::AttemptFrom { secret: &state.ip_secret, client: ip.0 },
    )
    .await
    {
        Ok(s) => s,
        Err(ApiError::Unauthorized(_)) => return refused("Wrong email or password."),
        Err(ApiError::Locked { until }) => {
            let message = format!("Too many wrong passwords: this account is locked until {} UTC. Try again then.", until.format("%H:%M"));
            return page(StatusCode::TOO_MANY_REQUESTS, LoginPage { error: Some(&message), email: &form.email });
        }
        Err(e) => return e.into_response(),
    };
    if session.account.kind != AccountKind::Admin {
        return refused("That account is not an operator account.");
    }
    let cookie = Cookie::build((SESSION_COOKIE, session.token))
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(cookie::time::Duration::hours(12))
        .build();
    (jar.add(cookie), Redirect::to("/admin")).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn log_out(State(state): State<AppState>, jar: CookieJar, axum::Form(form): axum::Form<CsrfForm>) -> Response {
    let (_, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    (jar.remove(Cookie::build(SESSION_COOKIE).path("/admin").build()), Redirect::to("/admin/login")).into_response()
}

#[derive(Deserialize)]
pub struct AccountsQuery {
    #[serde(default)]
    q: String,
}

pub async fn accounts_page(State(state): State<AppState>, jar: CookieJar, Query(query): Query<AccountsQuery>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let search = Some(query.q.trim()).filter(|q| !q.is_empty());
    let overview = match state.store.accounts_overview(search, 200).await {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = overview
        .into_iter()
        .map(|o| {
            let in_book = |b: LedgerBucket| o.balances.iter().filter(|(k, m)| *k == b && m.currency == CREDITS).map(|(_, m)| m.amount_minor).sum();
            AccountRow {
                id: o.account.id,
                name: display_name(&o.account),
                email: o.account.email.clone(),
                kind: o.account.kind.as_str(),
                tier: tier_for(o.account.kind, o.successful_referrals).map_or("—".into(), |t| format!("{} {}", t.badge(), t.title())),
                successful: o.successful_referrals,
                pending: credits(in_book(LedgerBucket::Pending)),
                available: credits(in_book(LedgerBucket::Available)),
                claimed: credits(in_book(LedgerBucket::Claimed)),
            }
        })
        .collect();
    let email = match state.store.email_backlog().await {
        Ok(backlog) => backlog,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let email_relay = state.settings.email.relay.is_some();
    page(
        StatusCode::OK,
        AccountsPage { section: "accounts", csrf: csrf_token(&state, &token), operator: caller.account.email, query: query.q, rows, email_relay, email },
    )
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    done: Option<String>,
}

struct Outcome {
    done: Option<String>,
    error: Option<String>,
    amount: String,
    reason: String,
}

async fn account_page_with(state: &AppState, caller: Caller, token: &str, id: Uuid, outcome: Outcome, status: StatusCode) -> Response {
    let account = match state.store.account(id).await {
        Ok(Some(a)) => a,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such account.").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let loaded = async {
        let balance = rewards::balance(&state.store, id).await?;
        let (entries, _) = rewards::ledger_entries(&state.store, id, None, 100).await?;
        let rows = state.store.rewards_of(id, None, 100).await?;
        let standing = state.store.standing(id).await?;
        let told = state.store.notification_log(id, 20).await?;
        let choices = state.store.notification_preferences(id).await?;
        Ok::<_, ApiError>((balance, entries, rows, standing, told, choices))
    };
    let (balance, entries, reward_rows, standing, told, choices) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return e.into_response(),
    };
    let successful = standing.map_or(0, |s| s.successful_referrals);
    let mut operators = std::collections::HashMap::new();
    let mut entry_rows = Vec::with_capacity(entries.len());
    for e in entries {
        let by = match e.created_by {
            None => String::new(),
            Some(admin) => match operators.get(&admin) {
                Some(email) => String::clone(email),
                None => {
                    let email = state.store.account(admin).await.ok().flatten().map_or_else(|| admin.to_string(), |a| a.email);
                    operators.insert(admin, email.clone());
                    email
                }
            },
        };
        entry_rows.push(EntryRow {
            at: e.created_at.format("%Y-%m-%d %H:%M").to_string(),
            book: e.account.as_str(),
            amount: credits(e.amount.amount_minor),
            negative: e.amount.amount_minor < 0,
            cause: e.cause.as_str(),
            memo: e.memo.unwrap_or_default(),
            by,
        });
    }
    page(
        status,
        AccountPage {
            section: "accounts",
            csrf: csrf_token(state, token),
            operator: caller.account.email,
            id,
            name: display_name(&account),
            email: account.email.clone(),
            kind: account.kind.as_str(),
            joined: account.created_at.format("%Y-%m-%d").to_string(),
            pending: credits(balance.pending.amount_minor),
            available: credits(balance.available.amount_minor),
            claimed: credits(balance.claimed.amount_minor),
            held: credits(balance.held.amount_minor),
            tier: tier_for(account.kind, successful).map_or("—".into(), |t| format!("{} {}", t.badge(), t.title())),
            successful,
            can_adjust: account.kind != AccountKind::Admin,
            done: outcome.done,
            error: outcome.error,
            form_key: Uuid::new_v4(),
            form_amount: outcome.amount,
            form_reason: outcome.reason,
            entries: entry_rows,
            rewards: reward_rows
                .iter()
                .map(|r| RewardRow {
                    at: r.earned_at.format("%Y-%m-%d").to_string(),
                    role: r.role.as_str(),
                    amount: format!("{} {}", format_minor_grouped(r.amount.amount_minor), r.amount.currency),
                    status: r.status.as_str().replace('_', " "),
                    reason: r.reason.clone(),
                })
                .collect(),
            notifications: told
                .into_iter()
                .map(|n| NotificationRow {
                    at: n.notification.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    title: n.notification.title,
                    body: n.notification.body,
                    email: match (n.email_status.as_str(), n.email_error) {
                        ("off", _) => "not emailed (turned off)".into(),
                        ("suppressed", _) => "not emailed (unsubscribed)".into(),
                        (status, Some(error)) => format!("{status}: {error}"),
                        (status, None) => status.to_string(),
                    },
                })
                .collect(),
            emails_off: choices.iter().filter(|c| !c.email).map(|c| c.kind.label()).collect(),
        },
    )
}

pub async fn account_page(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, Query(query): Query<AccountQuery>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    let done = query.done.map(|d| format!("Adjustment of {d} posted."));
    account_page_with(&state, caller, &token, id, Outcome { done, error: None, amount: String::new(), reason: String::new() }, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct AdjustmentForm {
    csrf: String,
    idempotency_key: String,
    amount: String,
    reason: String,
}

/// "12.50", "-5", "+0.5" → hundredths; `None` for anything else (more than two decimals,
/// not a number, out of range).
pub fn parse_credits(text: &str) -> Option<i64> {
    let t = text.trim().replace(',', "");
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minor = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(format!("{fraction:0<2}").parse::<i64>().ok()?)?;
    Some(if negative { -minor } else { minor })
}

pub async fn adjust(State(state): State<AppState>, jar: CookieJar, Path(id): Path<Uuid>, axum::Form(form): axum::Form<AdjustmentForm>) -> Response {
    let (caller, token) = match operator(&state, &jar).await {
        Ok(found) => found,
        Err(elsewhere) => return elsewhere,
    };
    if !csrf_ok(&state, &token, &form.csrf) {
        return (StatusCode::FORBIDDEN, "The form expired; reload the page and try again.").into_response();
    }
    let failed = |message: String| Outcome { done: None, error: Some(message), amount: form.amount.clone(), reason: form.reason.clone() };
    let Some(amount_minor) = parse_credits(&form.amount) else {
        let outcome = failed("Credits must be a number with at most two decimals, like 12.50 or -5.".into());
        return account_page_with(&state, caller, &token, id, outcome, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let request = LedgerAdjustment {
        account_id: id,
        amount: Money::credits(amount_minor),
        reason: form.reason.clone(),
        idempotency_key: Some(form.idempotency_key.clone()),
    };
    match rewards::adjust(&state.store, caller.account.id, request, Utc::now()).await {
        // Post/redirect/get: a reload does not post again (and the key would refuse it).
        Ok(_) => Redirect::to(&format!("/admin/accounts/{id}?done={}", credits(amount_minor).replace(' ', "%20"))).into_response(),
        Err(e @ (ApiError::Invalid { .. } | ApiError::NotFound(_) | ApiError::Conflict(_))) => {
            account_page_with(&state, caller, &token, id, failed(e.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_credits;

    #[test]
    fn credits_typed_by_an_operator() {
        assert_eq!(parse_credits("12.50"), Some(1250));
        assert_eq!(parse_credits("12.5"), Some(1250));
        assert_eq!(parse_credits("-5"), Some(-500));
        assert_eq!(parse_credits("+0.05"), Some(5));
        assert_eq!(parse_credits("1,000.00"), Some(100_000));
        for bad in ["", "-", "1.234", "abc", "1e3", ".5", "99999999999999999999"] {
            assert_eq!(parse_credits(bad), None, "{bad}");
        }
    }
}
