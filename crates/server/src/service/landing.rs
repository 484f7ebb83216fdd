//! The referral landing page's rules: which code a visitor means, whether the visit
//! counts, and what a lead needs.

use std::sync::Arc;

use bouquet_core::account::normalize_email;
use bouquet_core::referral::{Liveness, UNIQUE_VISIT_WINDOW, Utm, liveness};
use bouquet_core::{CodeError, ReferralCode};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::{NewLead, NewVisit, Store, StoredReferral};

/// Why a code does not open a landing page.
pub enum Unavailable {
    /// Not a code at all, or a typo the check character caught.
    Typo(CodeError),
    /// A well-formed code nobody created.
    Unknown(ReferralCode),
    Expired(Box<StoredReferral>),
}

/// What codes were found to be, for a second: a fair's burst of phones on one code reads
/// it once a second instead of once a visit. A change to the referral (its message, the
/// account's deletion) shows within [`RecentCodes::FRESH_FOR`]; expiry is judged at each
/// visit from the remembered date. Only the page's view uses it: the lead form and the
/// API read the database.
#[derive(Default)]
pub struct RecentCodes {
    found: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Option<StoredReferral>)>>,
    /// Bumped by each [`RecentCodes::forget_all`]: a lookup that began before one is not
    /// remembered (it may have read the account just deleted).
    generation: std::sync::atomic::AtomicU64,
}

impl RecentCodes {
    pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);
    /// Past this many codes the memory starts again (a crawl of random codes cannot grow it).
    const MOST: usize = 10_000;

    fn get(&self, code: &str) -> Option<Option<StoredReferral>> {
        let found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        found.get(code).filter(|(at, _)| at.elapsed() < Self::FRESH_FOR).map(|(_, r)| r.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn put(&self, code: &str, referral: Option<StoredReferral>, looked_up_in: u64) {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation() != looked_up_in {
            return;
        }
        if found.len() >= Self::MOST {
            found.clear();
        }
        found.insert(code.to_string(), (std::time::Instant::now(), referral));
    }

    /// After an account's deletion: its codes must stop working at once here.
    pub fn forget_all(&self) {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        found.clear();
    }

    /// After a visit could not be written (its referral gone a moment ago): ask again.
    pub fn forget(&self, code: &str) {
        self.found.lock().unwrap_or_else(|e| e.into_inner()).remove(code);
    }
}

/// The referral a typed or linked code names, live or expired; `recent` remembers the
/// answer for a second (the page's view), `None` reads the database.
pub async fn resolve(store: &Arc<dyn Store>, recent: Option<&RecentCodes>, raw: &str, now: DateTime<Utc>) -> Result<Result<StoredReferral, Unavailable>, ApiError> {
    let code = match ReferralCode::parse(raw) {
        Ok(code) => code,
        Err(e) => return Ok(Err(Unavailable::Typo(e))),
    };
    let found = match recent.and_then(|r| r.get(code.as_str())) {
        Some(found) => found,
        None => {
            let generation = recent.map(RecentCodes::generation);
            let found = store.referral_by_code(code.as_str()).await?;
            if let (Some(recent), Some(generation)) = (recent, generation) {
                recent.put(code.as_str(), found.clone(), generation);
            }
            found
        }
    };
    let Some(referral) = found else {
        return Ok(Err(Unavailable::Unknown(code)));
    };
    Ok(match liveness(referral.view.expires_at, now) {
        Liveness::Live => Ok(referral),
        Liveness::Expired => Err(Unavailable::Expired(Box::new(referral))),
    })
}

/// What we know of a visitor's request; the IP is already hashed.
pub struct Visitor {
    /// The `bq_vid` cookie, or a new id the response will set.
    pub visitor_id: String,
    pub ip_hash: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
}

/// Records a human's visit; returns the touch id and whether it counted as unique.
pub async fn record_visit(
    store: &Arc<dyn Store>,
    referral: &StoredReferral,
    visitor: Visitor,
    qr_marker: bool,
    utm: Utm,
    now: DateTime<Utc>,
) -> Result<(Uuid, bool), ApiError> {
    let touch_id = Uuid::now_v7();
    let visit = NewVisit {
        touch_id,
        referral_id: referral.view.id,
        referrer_id: referral.view.referrer_id,
        channel: referral.view.method.visit_channel(qr_marker),
        occurred_at: now,
        visitor_key: visitor.visitor_id,
        ip_hash: visitor.ip_hash,
        user_agent: visitor.user_agent,
        referer: visitor.referer,
        utm_source: utm.source,
        utm_medium: utm.medium,
        utm_campaign: utm.campaign,
    };
    let unique = store.record_visit(visit, UNIQUE_VISIT_WINDOW).await?;
    Ok((touch_id, unique))
}

/// The lead form as typed.
#[derive(Debug, Default, Clone)]
pub struct LeadForm {
    pub couple_names: String,
    pub email: String,
    pub wedding_date: String,
    pub touch: String,
}

/// Records a lead; returns the touch it belongs to, or what to fix as the id of a sentence
/// in the landing page's message file (`landing.ftl`).
/// A lead needs a touch on this referral: the page's own (hidden field or cookie), or —
/// for a visitor whose page view was not recorded — a new one made now.
pub async fn record_lead(
    store: &Arc<dyn Store>,
    referral: &StoredReferral,
    form: &LeadForm,
    cookie_touch: Option<Uuid>,
    visitor: Visitor,
    now: DateTime<Utc>,
) -> Result<Result<Uuid, &'static str>, ApiError> {
    let names = form.couple_names.trim();
    if names.is_empty() {
        return Ok(Err("landing-no-names"));
    }
    if names.chars().count() > 200 {
        return Ok(Err("landing-names-too-long"));
    }
    let Some(email) = normalize_email(&form.email) else {
        return Ok(Err("landing-bad-email"));
    };
    let wedding_date = match form.wedding_date.trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => return Ok(Err("landing-bad-date")),
        },
    };
    let mut touch_id = None;
    for candidate in [form.touch.parse::<Uuid>().ok(), cookie_touch].into_iter().flatten() {
        if let Some((referral_id, _)) = store.touch(candidate).await?
            && referral_id == referral.view.id {
                touch_id = Some(candidate);
                break;
            }
    }
    let touch_id = match touch_id {
        Some(t) => t,
        None => record_visit(store, referral, visitor, false, Utm::default(), now).await?.0,
    };
    store
        .record_lead(NewLead {
            id: Uuid::now_v7(),
            touch_id,
            referral_id: referral.view.id,
            couple_names: names.to_string(),
            email,
            wedding_date,
            created_at: now,
        })
        .await?;
    Ok(Ok(touch_id))
}

/// The configured destination with the touch id (and code) appended.
pub fn destination(signup_url: &str, touch_id: Uuid, code: &ReferralCode) -> String {
    let separator = if signup_url.contains('?') { '&' } else { '?' };
    format!("{signup_url}{separator}bq_touch={touch_id}&bq_code={code}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bouquet_core::{AccountKind, CodeNamespace};

    #[test]
    fn destination_appends_the_touch() {
        let code = ReferralCode::generate(AccountKind::Supplier, &CodeNamespace::parse("ABCD").unwrap(), 0);
        let t = Uuid::nil();
        assert_eq!(destination("https://w.example/s", t, &code), format!("https://w.example/s?bq_touch={t}&bq_code={code}"));
        assert_eq!(destination("https://w.example/s?x=1", t, &code), format!("https://w.example/s?x=1&bq_touch={t}&bq_code={code}"));
    }
}
