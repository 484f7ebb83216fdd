//! Rate limits on the public and credential endpoints (issue 16, docs/security.md), per
//! client address (the socket's peer, or the forwarded address only when the operator
//! trusts the proxy: [`super::landing::ClientIp`]), with `governor`'s GCRA. Past its limit
//! a client gets `429 Too Many Requests` with `Retry-After`. Limits live in each server
//! process: several processes behind a balancer each allow the limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use super::AppState;
use super::landing::ClientIp;
use crate::error::ApiError;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

/// The limits per endpoint group (`[rate_limits.<group>]` in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// `/r/{code}` (page and lead form) and `/r`. A wedding fair is many phones behind one
    /// venue IP: 40 couples in half an hour each open the page, perhaps reload it and send
    /// the form — about 3 requests a couple, 120 in all, and at worst a crowd of 30 scanning
    /// the same poster in a minute (~90). 300 a minute with a burst of 150 covers several
    /// fairs' worth at once on one address, while a script walking codes is slowed to 5 a
    /// second (codes carry a check character and 10 random symbols: guessing is hopeless
    /// at any rate, so this limit is about load, not secrecy).
    pub landing: Limit,
    /// Sign-in and account creation, for people and the API (`/api/v1/sessions`,
    /// `/api/v1/accounts`, the couple and admin sign-in forms, sign-in links). A person
    /// signs in a few times a day; 20 a minute with a burst of 10 leaves room for a shared
    /// office address and stops a password-guessing script at one try every 3 seconds.
    pub sign_in: Limit,
    /// `/api/v1/events`, the platform's own calls: sized for a national platform's peak
    /// (1,000 a second, a burst of 2,000), not for people.
    pub events: Limit,
    /// The unsubscribe link's page and its one-click `POST` (RFC 8058). The `POST` comes
    /// from mail providers' servers on their users' behalf — after a large send, many
    /// recipients through a few addresses — so this is sized for a provider, not a person:
    /// a refused unsubscribe is a complaint.
    pub unsubscribe: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            landing: Limit { per_minute: 300, burst: 150 },
            sign_in: Limit { per_minute: 20, burst: 10 },
            events: Limit { per_minute: 60_000, burst: 2_000 },
            unsubscribe: Limit { per_minute: 1_200, burst: 600 },
        }
    }
}

impl RateLimits {
    /// Limits no test or benchmark reaches (the most a minute holds: ~70 million a second;
    /// a million a minute ran out under criterion's full runs of the cheapest page).
    pub fn generous() -> Self {
        let plenty = Limit { per_minute: u32::MAX, burst: 1_000_000 };
        Self { landing: plenty, sign_in: plenty, events: plenty, unsubscribe: plenty }
    }

    /// Applies `group=per_minute/burst` changes, comma-separated.
    pub fn change(&mut self, changes: &str) -> Result<(), String> {
        for change in changes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let bad = || format!("rate limit '{change}': write group=per_minute/burst, e.g. sign_in=20/10");
            let (group, numbers) = change.split_once('=').ok_or_else(bad)?;
            let (per_minute, burst) = numbers.split_once('/').ok_or_else(bad)?;
            let limit = Limit { per_minute: per_minute.trim().parse().map_err(|_| bad())?, burst: burst.trim().parse().map_err(|_| bad())? };
            match group.trim() {
                "landing" => self.landing = limit,
                "sign_in" => self.sign_in = limit,
                "events" => self.events = limit,
                "unsubscribe" => self.unsubscribe = limit,
                other => return Err(format!("no rate limit group '{other}': landing, sign_in, events or unsubscribe")),
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, limit) in [("landing", self.landing), ("sign_in", self.sign_in), ("events", self.events), ("unsubscribe", self.unsubscribe)] {
            if limit.per_minute == 0 || limit.burst == 0 {
                return Err(format!("rate_limits.{name}: per_minute and burst must be at least 1"));
            }
        }
        Ok(())
    }
}

/// One limiter per group, keyed by client address.
pub struct Limiters {
    landing: DefaultKeyedRateLimiter<IpAddr>,
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    events: DefaultKeyedRateLimiter<IpAddr>,
    unsubscribe: DefaultKeyedRateLimiter<IpAddr>,
}

fn limiter(limit: Limit) -> DefaultKeyedRateLimiter<IpAddr> {
    let per_minute = NonZeroU32::new(limit.per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Arc<Self> {
        Arc::new(Self {
            landing: limiter(limits.landing),
            sign_in: limiter(limits.sign_in),
            events: limiter(limits.events),
            unsubscribe: limiter(limits.unsubscribe),
        })
    }
}

/// Addresses that have not been seen for a while are forgotten, so a flood of addresses
/// cannot grow the limiter's memory for ever: at most every [`FORGET_EVERY_SECONDS`], when
/// more than this many are held.
const FORGET_ABOVE: usize = 100_000;
const FORGET_EVERY_SECONDS: u64 = 10;

/// Whom a limit counts: an IPv4 address, or an IPv6 address's /64 — one subscriber's
/// network, where a client may take a new address for every request.
fn client_key(ip: Option<IpAddr>) -> IpAddr {
    // No peer address (a test calling the router directly): one shared key.
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

async fn check(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: ClientIp, request: Request, next: Next) -> Response {
    let key = client_key(ip.0);
    if limiter.len() > FORGET_ABOVE {
        static LAST_FORGOT: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = LAST_FORGOT.load(Ordering::Relaxed);
        if now >= last + FORGET_EVERY_SECONDS && LAST_FORGOT.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            limiter.retain_recent();
        }
    }
    match limiter.check_key(&key) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Under `nest("/api/v1")` the request's own URI has lost its prefix.
            let path = request.extensions().get::<OriginalUri>().map_or_else(|| request.uri().path().to_string(), |o| o.0.path().to_string());
            too_many(&path, wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        }
    }
}

/// `429` with `Retry-After`: `{code, message}` for the API, a short page for people.
fn too_many(path: &str, seconds: u64) -> Response {
    let seconds = seconds.max(1);
    let retry = [(header::RETRY_AFTER, seconds.to_string())];
    if path.starts_with("/api/") {
        let error = ApiError::TooManyRequests(format!("too many requests from this address: try again in {seconds} s"));
        return (retry, error).into_response();
    }
    let page = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>One moment</title><h1>One moment, please</h1><p>We're getting a lot of requests from your network. Please try again in {seconds} seconds.</p></html>"
    );
    (StatusCode::TOO_MANY_REQUESTS, retry, [(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

pub async fn landing(State(state): State<AppState>, ip: ClientIp, request: Request, next: Next) -> Response {
    check(&state.limits.landing, ip, request, next).await
}

pub async fn sign_in(State(state): State<AppState>, ip: ClientIp, request: Request, next: Next) -> Response {
    check(&state.limits.sign_in, ip, request, next).await
}

pub async fn events(State(state): State<AppState>, ip: ClientIp, request: Request, next: Next) -> Response {
    check(&state.limits.events, ip, request, next).await
}

pub async fn unsubscribe(State(state): State<AppState>, ip: ClientIp, request: Request, next: Next) -> Response {
    check(&state.limits.unsubscribe, ip, request, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        assert_ne!(client_key(Some(a)), client_key(Some(elsewhere)));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!((client_key(Some(v4)), client_key(Some(mapped))), (v4, v4));
    }

    #[test]
    fn limits_change_by_group_and_refuse_nonsense() {
        let mut limits = RateLimits::default();
        limits.change("sign_in=5/2, landing = 600/300").unwrap();
        assert_eq!((limits.sign_in, limits.landing), (Limit { per_minute: 5, burst: 2 }, Limit { per_minute: 600, burst: 300 }));
        assert_eq!(limits.events, RateLimits::default().events);
        for bad in ["sign_in=5", "sign_in=a/b", "lunch=5/2", "sign_in"] {
            assert!(RateLimits::default().change(bad).is_err(), "{bad}");
        }
        limits.change("events=0/5").unwrap();
        assert!(limits.validate().is_err());
    }
}
