//! Couple → supplier recommendations: which suppliers of a trade to suggest to a couple,
//! scored as the seed weighs them — platform engagement 40%, match quality 30%, social
//! proof 20%, viral potential 10% — with each part normalised to its weight, so a score
//! is between 0 and 1 and says how much of the ideal a supplier reaches. Formulas and a
//! worked example: `docs/metrics.md`, "Recommendations".

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

/// How many suppliers a couple is shown.
pub const MAX_RECOMMENDATIONS: usize = 5;
/// A supplier not seen (no sign-in, sync or API call) for this many days is inactive and
/// never recommended: a couple should not be sent to someone who will not answer.
pub const INACTIVE_AFTER_DAYS: i64 = 90;
/// Seen within this many days counts as fully active.
pub const FULLY_ACTIVE_DAYS: i64 = 7;

/// Each part's share of the whole (they sum to 1).
pub mod weights {
    pub const ACTIVITY: f64 = 0.20;
    pub const RESPONSE_RATE: f64 = 0.10;
    pub const PROFILE_COMPLETION: f64 = 0.10;
    pub const STYLE: f64 = 0.075;
    pub const BUDGET: f64 = 0.075;
    pub const LOCATION: f64 = 0.075;
    pub const AVAILABILITY: f64 = 0.075;
    pub const RATING: f64 = 0.10;
    pub const REVIEW_COUNT: f64 = 0.05;
    pub const COUPLES_SERVED: f64 = 0.05;
    pub const PAST_REFERRALS: f64 = 0.02;
    pub const NETWORK: f64 = 0.08;
}

/// Where each count reaches its full part.
pub const FULL_REVIEW_COUNT: i64 = 50;
pub const FULL_COUPLES_SERVED: i64 = 100;
pub const FULL_PAST_REFERRALS: i64 = 10;
pub const FULL_NETWORK: i64 = 50;

/// A supplier as the scoring sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierFacts {
    pub account_id: Uuid,
    pub business_name: Option<String>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    /// Style words the supplier chose ("rustic", "documentary").
    pub styles: Vec<String>,
    /// The price range they work in, minor units of the platform's currency.
    pub budget_min_minor: Option<i64>,
    pub budget_max_minor: Option<i64>,
    /// Dates they are already booked.
    pub booked_dates: Vec<NaiveDate>,
    /// When they were last seen (sign-in, sync, API call); `None`: never.
    pub last_active_at: Option<DateTime<Utc>>,
    /// 0–1, reported by the platform.
    pub response_rate: Option<f64>,
    /// 0–5, reported by the platform.
    pub avg_rating: Option<f64>,
    pub review_count: i64,
    pub couples_served: i64,
    /// Their referrals that converted.
    pub successful_referrals: i64,
    /// Couples who signed up through them.
    pub couple_connections: i64,
}

impl SupplierFacts {
    /// Share of the profile filled in: business name, location, styles and a price range
    /// (the trade is always there: it is how they are found).
    pub fn profile_completion(&self) -> f64 {
        let filled = [
            self.business_name.as_deref().is_some_and(|s| !s.trim().is_empty()),
            self.location.as_deref().is_some_and(|s| !s.trim().is_empty()),
            !self.styles.is_empty(),
            self.budget_min_minor.is_some() || self.budget_max_minor.is_some(),
        ];
        filled.iter().filter(|f| **f).count() as f64 / filled.len() as f64
    }
}

/// Most style words and booked dates a profile holds.
pub const MAX_STYLES: usize = 20;
pub const MAX_BOOKED_DATES: usize = 366;

/// What a supplier says about their work in the app, for couples' recommendations (the
/// synced `profile` record). Trade and business name come from the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SupplierProfile {
    pub location: Option<String>,
    /// Style words ("rustic", "documentary"), as the supplier wrote them.
    pub styles: Vec<String>,
    /// The price range they work in, minor units of the platform's currency.
    pub budget_min_minor: Option<i64>,
    pub budget_max_minor: Option<i64>,
    /// Dates they are already booked, oldest first.
    pub booked_dates: Vec<NaiveDate>,
}

/// Why a profile cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("\"{0}\" is not a date; write dates as YYYY-MM-DD")]
    BadDate(String),
    #[error("the lowest price is above the highest; swap them")]
    ReversedRange,
    #[error("a price cannot be negative")]
    NegativePrice,
    #[error("at most {max} {what}")]
    TooMany { what: &'static str, max: usize },
    #[error("a style word is at most 40 characters: \"{0}\"")]
    LongStyle(String),
}

/// The items of a list written one per line or separated by commas: trimmed, empty ones
/// dropped, and a repeat (in any case) kept once.
pub fn split_list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in text.split([',', '\n', '\r']).map(str::trim).filter(|i| !i.is_empty()) {
        if !items.iter().any(|seen| seen.to_lowercase() == item.to_lowercase()) {
            items.push(item.to_string());
        }
    }
    items
}

impl SupplierProfile {
    /// A profile from what the supplier typed: lists one per line or comma-separated.
    /// Refused whole when a date is not a date, the range is reversed or a list is too long.
    pub fn from_input(
        location: Option<&str>,
        styles: &str,
        budget_min_minor: Option<i64>,
        budget_max_minor: Option<i64>,
        booked_dates: &str,
    ) -> Result<Self, ProfileError> {
        let mut dates = split_list(booked_dates)
            .into_iter()
            .map(|d| d.parse::<NaiveDate>().map_err(|_| ProfileError::BadDate(d)))
            .collect::<Result<Vec<_>, _>>()?;
        dates.sort();
        dates.dedup();
        let profile = Self {
            location: location.map(str::trim).filter(|l| !l.is_empty()).map(str::to_string),
            styles: split_list(styles),
            budget_min_minor,
            budget_max_minor,
            booked_dates: dates,
        };
        profile.check()?;
        Ok(profile)
    }

    pub fn check(&self) -> Result<(), ProfileError> {
        if self.budget_min_minor.is_some_and(|v| v < 0) || self.budget_max_minor.is_some_and(|v| v < 0) {
            return Err(ProfileError::NegativePrice);
        }
        if let (Some(lo), Some(hi)) = (self.budget_min_minor, self.budget_max_minor)
            && lo > hi
        {
            return Err(ProfileError::ReversedRange);
        }
        if self.styles.len() > MAX_STYLES {
            return Err(ProfileError::TooMany { what: "style words", max: MAX_STYLES });
        }
        if let Some(long) = self.styles.iter().find(|s| s.chars().count() > 40) {
            return Err(ProfileError::LongStyle(long.clone()));
        }
        if self.booked_dates.len() > MAX_BOOKED_DATES {
            return Err(ProfileError::TooMany { what: "booked dates", max: MAX_BOOKED_DATES });
        }
        Ok(())
    }

    /// What the server checks of a synced change's fields: each value as the editor would
    /// accept it, except that the range's two ends are not compared — two devices' edits
    /// may merge into a reversed range, and a device sending its whole record again must
    /// not be refused for it (it is read as no range).
    pub fn check_synced_fields(styles: Option<&str>, budget_min_minor: Option<i64>, budget_max_minor: Option<i64>, booked_dates: Option<&str>) -> Result<(), ProfileError> {
        Self::from_input(None, styles.unwrap_or_default(), budget_min_minor, None, booked_dates.unwrap_or_default())?;
        if budget_max_minor.is_some_and(|v| v < 0) {
            return Err(ProfileError::NegativePrice);
        }
        Ok(())
    }

    /// The lists as the record stores them: comma-separated.
    pub fn styles_text(&self) -> String {
        self.styles.join(", ")
    }

    pub fn booked_dates_text(&self) -> String {
        self.booked_dates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }

    /// A profile as the server reads a synced record. Each device's edit was checked, but
    /// two devices' edits merge field by field, so the whole may still disagree with
    /// itself: a reversed range then counts as no range, and what is not a date is skipped.
    pub fn from_record_lenient(
        location: Option<&str>,
        styles: Option<&str>,
        budget_min_minor: Option<i64>,
        budget_max_minor: Option<i64>,
        booked_dates: Option<&str>,
    ) -> Self {
        let reversed = matches!((budget_min_minor, budget_max_minor), (Some(lo), Some(hi)) if lo > hi);
        let (lo, hi) = if reversed { (None, None) } else { (budget_min_minor, budget_max_minor) };
        let mut dates: Vec<NaiveDate> = split_list(booked_dates.unwrap_or_default()).iter().filter_map(|d| d.parse().ok()).collect();
        dates.sort();
        dates.dedup();
        Self {
            location: location.map(str::trim).filter(|l| !l.is_empty()).map(str::to_string),
            styles: split_list(styles.unwrap_or_default()),
            budget_min_minor: lo.filter(|v| *v >= 0),
            budget_max_minor: hi.filter(|v| *v >= 0),
            booked_dates: dates,
        }
    }
}

/// What the couple asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoupleSearch {
    pub vendor_type: String,
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub style: Option<String>,
    pub budget_min_minor: Option<i64>,
    pub budget_max_minor: Option<i64>,
}

/// One part of a score: its weighted points and the most it could give.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ScorePart {
    pub points: f64,
    pub max: f64,
}

/// A score by the seed's four groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ScoreBreakdown {
    /// Out of 0.40: activity, response rate, profile completion.
    pub engagement: ScorePart,
    /// Out of 0.30: style, budget overlap, location, free on the date.
    pub match_quality: ScorePart,
    /// Out of 0.20: rating, reviews, couples served.
    pub social_proof: ScorePart,
    /// Out of 0.10: past successful referrals, network size.
    pub viral_potential: ScorePart,
    /// The sum, 0–1.
    pub total: f64,
}

/// A recommended supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Recommendation {
    pub supplier_id: Uuid,
    pub business_name: Option<String>,
    pub vendor_type: Option<String>,
    pub location: Option<String>,
    pub score: ScoreBreakdown,
    /// Why, in words.
    pub reason: String,
}

/// The parts, before grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Parts {
    activity: f64,
    response_rate: f64,
    completion: f64,
    style: f64,
    budget: f64,
    location: f64,
    availability: f64,
    rating: f64,
    reviews: f64,
    served: f64,
    referrals: f64,
    network: f64,
}

fn share(count: i64, full: i64) -> f64 {
    (count.max(0) as f64 / full as f64).min(1.0)
}

fn unit(v: Option<f64>) -> f64 {
    v.filter(|v| v.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0)
}

/// 1 when seen within a week, falling in a straight line to 0 at 90 days.
pub fn activity(last_active_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> f64 {
    let Some(at) = last_active_at else { return 0.0 };
    let days = (now - at).num_seconds().max(0) as f64 / 86_400.0;
    if days <= FULLY_ACTIVE_DAYS as f64 {
        1.0
    } else {
        ((INACTIVE_AFTER_DAYS as f64 - days) / (INACTIVE_AFTER_DAYS - FULLY_ACTIVE_DAYS) as f64).clamp(0.0, 1.0)
    }
}

/// How much of the couple's budget range the supplier's range covers: overlap ÷ the
/// couple's range. A budget with one end (only a most, or only a least) or a single figure
/// is a limit, met (1) or not (0) by a supplier whose range reaches within it. No budget
/// asked: any supplier fits (1); a supplier with no range said: unknown (0). A supplier's
/// open end reaches without limit.
pub fn budget_overlap(couple: (Option<i64>, Option<i64>), supplier: (Option<i64>, Option<i64>)) -> f64 {
    let (c_lo, c_hi, one_sided) = match couple {
        (None, None) => return 1.0,
        (Some(lo), Some(hi)) => (lo.min(hi), lo.max(hi), false),
        (lo, hi) => (lo.unwrap_or(i64::MIN), hi.unwrap_or(i64::MAX), true),
    };
    if supplier == (None, None) {
        return 0.0;
    }
    let s_lo = supplier.0.unwrap_or(i64::MIN);
    let s_hi = supplier.1.unwrap_or(i64::MAX);
    let (lo, hi) = (c_lo.max(s_lo), c_hi.min(s_hi));
    if lo > hi {
        return 0.0;
    }
    if one_sided || c_hi == c_lo {
        return 1.0;
    }
    (hi - lo) as f64 / (c_hi - c_lo) as f64
}

fn words_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

fn parts(s: &SupplierFacts, search: &CoupleSearch, now: DateTime<Utc>) -> Parts {
    Parts {
        activity: activity(s.last_active_at, now),
        response_rate: unit(s.response_rate),
        completion: s.profile_completion(),
        // No preference: every supplier matches.
        style: match search.style.as_deref().filter(|s| !s.trim().is_empty()) {
            None => 1.0,
            Some(wanted) => f64::from(u8::from(s.styles.iter().any(|st| words_match(st, wanted)))),
        },
        budget: budget_overlap((search.budget_min_minor, search.budget_max_minor), (s.budget_min_minor, s.budget_max_minor)),
        location: match search.location.as_deref().filter(|l| !l.trim().is_empty()) {
            None => 1.0,
            Some(wanted) => f64::from(u8::from(s.location.as_deref().is_some_and(|l| words_match(l, wanted)))),
        },
        availability: match search.wedding_date {
            None => 1.0,
            Some(date) => f64::from(u8::from(!s.booked_dates.contains(&date))),
        },
        rating: unit(s.avg_rating.map(|r| r / 5.0)),
        reviews: share(s.review_count, FULL_REVIEW_COUNT),
        served: share(s.couples_served, FULL_COUPLES_SERVED),
        referrals: share(s.successful_referrals, FULL_PAST_REFERRALS),
        network: share(s.couple_connections, FULL_NETWORK),
    }
}

fn part(points: f64, max: f64) -> ScorePart {
    // Rounded to millionths so equal inputs compare equal however they were summed.
    ScorePart { points: (points * 1e6).round() / 1e6, max }
}

/// A supplier's score against a couple's search.
pub fn score(s: &SupplierFacts, search: &CoupleSearch, now: DateTime<Utc>) -> ScoreBreakdown {
    use weights::*;
    let p = parts(s, search, now);
    let engagement = part(p.activity * ACTIVITY + p.response_rate * RESPONSE_RATE + p.completion * PROFILE_COMPLETION, 0.40);
    let match_quality = part(p.style * STYLE + p.budget * BUDGET + p.location * LOCATION + p.availability * AVAILABILITY, 0.30);
    let social_proof = part(p.rating * RATING + p.reviews * REVIEW_COUNT + p.served * COUPLES_SERVED, 0.20);
    let viral_potential = part(p.referrals * PAST_REFERRALS + p.network * NETWORK, 0.10);
    let total = ((engagement.points + match_quality.points + social_proof.points + viral_potential.points) * 1e6).round() / 1e6;
    ScoreBreakdown { engagement, match_quality, social_proof, viral_potential, total }
}

/// Why a supplier is suggested: what they match and what speaks for them, in words.
pub fn reason(s: &SupplierFacts, search: &CoupleSearch, now: DateTime<Utc>) -> String {
    let p = parts(s, search, now);
    let mut said = Vec::new();
    if let Some(date) = search.wedding_date {
        said.push(if p.availability > 0.0 {
            format!("free on {}", date.format("%-d %B %Y"))
        } else {
            format!("already booked on {}", date.format("%-d %B %Y"))
        });
    }
    if let Some(style) = search.style.as_deref().filter(|_| p.style > 0.0) {
        said.push(format!("works in a {} style", style.trim().to_lowercase()));
    }
    if search.budget_min_minor.is_some() || search.budget_max_minor.is_some() {
        if p.budget >= 1.0 {
            said.push("within your budget".into());
        } else if p.budget > 0.0 {
            said.push("partly within your budget".into());
        }
    }
    if let (Some(_), Some(place)) = (search.location.as_deref(), s.location.as_deref().filter(|_| p.location > 0.0)) {
        said.push(format!("works in {place}"));
    }
    if let Some(rating) = s.avg_rating.filter(|_| s.review_count > 0) {
        said.push(format!("rated {rating:.1} from {} review{}", s.review_count, if s.review_count == 1 { "" } else { "s" }));
    }
    if s.couples_served > 0 {
        said.push(format!("{} couples served", s.couples_served));
    }
    if s.successful_referrals > 0 {
        said.push(format!("{} successful referral{} on Bouquet", s.successful_referrals, if s.successful_referrals == 1 { "" } else { "s" }));
    }
    if p.activity >= 1.0 {
        said.push("active this week".into());
    }
    if said.is_empty() {
        return "a supplier of this trade on Bouquet".into();
    }
    let mut text = said.join(", ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

/// Up to [`MAX_RECOMMENDATIONS`] of `suppliers` for the couple: only the trade asked for,
/// never an inactive supplier; highest score first, ties by more successful referrals,
/// then name, then id, so the same facts always give the same list.
pub fn recommend(suppliers: &[SupplierFacts], search: &CoupleSearch, now: DateTime<Utc>) -> Vec<Recommendation> {
    let wanted = search.vendor_type.trim().to_lowercase();
    let mut scored: Vec<(ScoreBreakdown, &SupplierFacts)> = suppliers
        .iter()
        .filter(|s| s.vendor_type.as_deref().is_some_and(|v| v.to_lowercase() == wanted))
        .filter(|s| s.last_active_at.is_some_and(|at| (now - at).num_days() < INACTIVE_AFTER_DAYS))
        .map(|s| (score(s, search, now), s))
        .collect();
    scored.sort_by(|(a, sa), (b, sb)| {
        b.total
            .total_cmp(&a.total)
            .then(sb.successful_referrals.cmp(&sa.successful_referrals))
            .then(sa.business_name.cmp(&sb.business_name))
            .then(sa.account_id.cmp(&sb.account_id))
    });
    scored
        .into_iter()
        .take(MAX_RECOMMENDATIONS)
        .map(|(score, s)| Recommendation {
            supplier_id: s.account_id,
            business_name: s.business_name.clone(),
            vendor_type: s.vendor_type.clone(),
            location: s.location.clone(),
            score,
            reason: reason(s, search, now),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The API's shapes
// ---------------------------------------------------------------------------------------

/// `GET /api/v1/recommendations`: the suppliers suggested for the search, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RecommendationList {
    pub vendor_type: String,
    /// The date and place the suggestions were judged for (the couple's own when the
    /// search gave none).
    pub wedding_date: Option<NaiveDate>,
    pub location: Option<String>,
    pub items: Vec<Recommendation>,
}

/// What a couple does with a recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationAction {
    /// Invite the supplier to Bouquet: an email referral of the supplier.
    InviteSupplier,
    /// Share the supplier with a friend: a link to pass on.
    ShareWithFriend,
}

impl RecommendationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InviteSupplier => "invite_supplier",
            Self::ShareWithFriend => "share_with_friend",
        }
    }
}

/// `POST /api/v1/recommendations/act`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActOnRecommendation {
    pub supplier_id: Uuid,
    pub action: RecommendationAction,
    /// A line from the couple, shown with the referral.
    pub message: Option<String>,
}

/// The referral a recommendation became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActedOnRecommendation {
    pub action: RecommendationAction,
    pub supplier_id: Uuid,
    pub referral: crate::api::ReferralView,
}

/// Most friends one recommendation goes to at once: a word to close friends, not a
/// mailing list.
pub const MAX_FRIENDS: usize = 5;

/// `POST /api/v1/recommendations/friends`: a couple recommends a supplier (one they booked,
/// or found by name and trade) to friends. Each friend gets their own couple → supplier
/// referral, so each is tracked, attributed and rewarded on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendToFriends {
    pub supplier_id: Uuid,
    /// The couple's line, in the email and on the referral's page.
    pub message: Option<String>,
    /// The friends' email addresses (1 to `MAX_FRIENDS`). They are emailed and not kept.
    pub friends: Vec<String>,
}

/// The referrals a recommendation to friends became, one per friend, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecommendedToFriends {
    pub supplier_id: Uuid,
    pub referrals: Vec<crate::api::ReferralView>,
    /// Whether the friends were emailed (a deployment without a mail relay only makes
    /// the links, for the couple to pass on).
    pub emailed: bool,
}

/// How far a couple's recommendation of a supplier got with the friend it went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationProgress {
    /// Sent; the friend has not opened it yet.
    Sent,
    Opened,
    SignedUp,
    Booked,
}

impl RecommendationProgress {
    /// The furthest step the referral's dates show.
    pub fn of(clicked: bool, signed_up: bool, converted: bool) -> Self {
        match (clicked, signed_up, converted) {
            (_, _, true) => Self::Booked,
            (_, true, false) => Self::SignedUp,
            (true, false, false) => Self::Opened,
            _ => Self::Sent,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Opened => "opened",
            Self::SignedUp => "signed_up",
            Self::Booked => "booked",
        }
    }
}

/// One couple's recommendation as the supplier (or the couple who made it) sees it. The
/// friend is never named: their address was not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RecommendationSent {
    pub code: String,
    /// The couple who recommended.
    pub couple_names: String,
    /// The supplier recommended.
    pub supplier_name: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub progress: RecommendationProgress,
}

/// `GET /api/v1/me/recommended-by`: couples' recommendations of this supplier, newest
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RecommendationsReceived {
    pub items: Vec<RecommendationSent>,
}

/// `PUT /api/v1/platform/suppliers/{id}/reputation`: what the platform knows of a
/// supplier's reputation (reviews live on the platform).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierReputation {
    /// Share of couples' enquiries answered, 0–1.
    pub response_rate: Option<f64>,
    /// Average review rating, 0–5.
    pub avg_rating: Option<f64>,
    #[serde(default)]
    pub review_count: i64,
    #[serde(default)]
    pub couples_served: i64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recommendation_shows_its_furthest_step() {
        use super::RecommendationProgress as P;
        assert_eq!(P::of(false, false, false), P::Sent);
        assert_eq!(P::of(true, false, false), P::Opened);
        assert_eq!(P::of(true, true, false), P::SignedUp);
        // A friend who typed the code never clicked, yet signed up and booked.
        assert_eq!(P::of(false, true, true), P::Booked);
    }

    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn photographer(id: u128) -> SupplierFacts {
        SupplierFacts {
            account_id: Uuid::from_u128(id),
            business_name: Some(format!("Studio {id}")),
            vendor_type: Some("photographer".into()),
            location: Some("Bath, Somerset".into()),
            styles: vec!["Documentary".into(), "rustic".into()],
            budget_min_minor: Some(150_000),
            budget_max_minor: Some(250_000),
            booked_dates: vec![NaiveDate::from_ymd_opt(2027, 6, 12).unwrap()],
            last_active_at: Some(now() - Duration::days(2)),
            response_rate: Some(0.9),
            avg_rating: Some(4.5),
            review_count: 20,
            couples_served: 150,
            successful_referrals: 4,
            couple_connections: 25,
        }
    }

    fn search() -> CoupleSearch {
        CoupleSearch {
            vendor_type: "photographer".into(),
            wedding_date: NaiveDate::from_ymd_opt(2027, 6, 19),
            location: Some("bath".into()),
            style: Some("Rustic".into()),
            budget_min_minor: Some(100_000),
            budget_max_minor: Some(200_000),
        }
    }

    #[test]
    fn a_profile_is_read_from_what_the_supplier_typed() {
        let p = SupplierProfile::from_input(Some("  Bath "), "Rustic, documentary\nrustic\n\n", Some(100_000), Some(250_000), "2027-06-19\n2027-06-12, 2027-06-19").unwrap();
        assert_eq!(p.location.as_deref(), Some("Bath"));
        assert_eq!(p.styles, ["Rustic", "documentary"]);
        assert_eq!(p.booked_dates, [NaiveDate::from_ymd_opt(2027, 6, 12).unwrap(), NaiveDate::from_ymd_opt(2027, 6, 19).unwrap()]);
        assert_eq!(p.styles_text(), "Rustic, documentary");
        assert_eq!(p.booked_dates_text(), "2027-06-12, 2027-06-19");
        assert_eq!(SupplierProfile::from_input(None, "", None, None, "2027-06-31"), Err(ProfileError::BadDate("2027-06-31".into())));
        assert_eq!(SupplierProfile::from_input(None, "", Some(5), Some(4), ""), Err(ProfileError::ReversedRange));
        assert_eq!(SupplierProfile::check_synced_fields(None, Some(5), Some(4), None), Ok(()), "merged edits may reverse it");
        assert_eq!(SupplierProfile::check_synced_fields(None, None, Some(-4), None), Err(ProfileError::NegativePrice));
        assert_eq!(SupplierProfile::check_synced_fields(None, None, None, Some("soon")), Err(ProfileError::BadDate("soon".into())));
        // The most dates a profile holds fit the synced field.
        let year: Vec<String> = (0..MAX_BOOKED_DATES as i64).map(|d| (NaiveDate::from_ymd_opt(2028, 1, 1).unwrap() + chrono::Duration::days(d)).to_string()).collect();
        let full = SupplierProfile::from_input(None, "", None, None, &year.join("\n")).unwrap();
        let field = crate::sync::Entity::Profile.field("booked_dates").unwrap();
        assert!(full.booked_dates_text().chars().count() <= field.max_len);
        assert_eq!(SupplierProfile::from_input(None, "", Some(-1), None, ""), Err(ProfileError::NegativePrice));
        let many: Vec<String> = (0..21).map(|i| format!("style{i}")).collect();
        assert!(matches!(SupplierProfile::from_input(None, &many.join(","), None, None, ""), Err(ProfileError::TooMany { .. })));
    }

    #[test]
    fn a_merged_record_that_disagrees_with_itself_is_read_leniently() {
        let p = SupplierProfile::from_record_lenient(Some(""), Some("boho"), Some(300_000), Some(200_000), Some("2027-06-12, soon"));
        assert_eq!(p.location, None);
        assert_eq!((p.budget_min_minor, p.budget_max_minor), (None, None));
        assert_eq!(p.booked_dates, [NaiveDate::from_ymd_opt(2027, 6, 12).unwrap()]);
        assert_eq!(p.styles, ["boho"]);
    }

    #[test]
    fn a_score_worked_by_hand() {
        // Engagement: active 2 days ago 1 × 0.20 + response 0.9 × 0.10 + a full profile
        // 1 × 0.10 = 0.39. Match: rustic 0.075 + budget overlap 150,000–200,000 of
        // 100,000–200,000 = 0.5 × 0.075 = 0.0375 + Bath 0.075 + free on 19 June 0.075 =
        // 0.2625. Social: 4.5 ÷ 5 × 0.10 = 0.09 + 20 ÷ 50 × 0.05 = 0.02 + 150 served
        // (capped at 100) 0.05 = 0.16. Viral: 4 ÷ 10 × 0.02 = 0.008 + 25 ÷ 50 × 0.08 =
        // 0.04 = 0.048. Total 0.8605.
        let s = score(&photographer(1), &search(), now());
        assert_eq!(s.engagement.points, 0.39);
        assert_eq!(s.match_quality.points, 0.2625);
        assert_eq!(s.social_proof.points, 0.16);
        assert_eq!(s.viral_potential.points, 0.048);
        assert_eq!(s.total, 0.8605);
        assert_eq!((s.engagement.max, s.match_quality.max, s.social_proof.max, s.viral_potential.max), (0.40, 0.30, 0.20, 0.10));
    }

    #[test]
    fn the_weights_sum_to_one_and_an_ideal_supplier_scores_it() {
        use weights::*;
        let sum = ACTIVITY + RESPONSE_RATE + PROFILE_COMPLETION + STYLE + BUDGET + LOCATION + AVAILABILITY + RATING + REVIEW_COUNT + COUPLES_SERVED + PAST_REFERRALS + NETWORK;
        assert!((sum - 1.0).abs() < 1e-12);
        let ideal = SupplierFacts {
            budget_min_minor: Some(50_000),
            response_rate: Some(1.0),
            avg_rating: Some(5.0),
            review_count: 500,
            successful_referrals: 99,
            couple_connections: 999,
            ..photographer(1)
        };
        assert_eq!(score(&ideal, &search(), now()).total, 1.0);
    }

    #[test]
    fn activity_falls_from_a_week_to_ninety_days() {
        assert_eq!(activity(Some(now() - Duration::days(7)), now()), 1.0);
        // 48.5 days: (90 − 48.5) ÷ 83 = 0.5.
        assert!((activity(Some(now() - Duration::hours(48 * 24 + 12)), now()) - 0.5).abs() < 1e-12);
        assert_eq!(activity(Some(now() - Duration::days(90)), now()), 0.0);
        assert_eq!(activity(None, now()), 0.0);
    }

    #[test]
    fn budget_overlap_cases() {
        assert_eq!(budget_overlap((None, None), (None, None)), 1.0, "no budget asked: anyone fits");
        assert_eq!(budget_overlap((Some(100), Some(200)), (None, None)), 0.0, "unknown range");
        assert_eq!(budget_overlap((Some(100), Some(200)), (Some(150), None)), 0.5, "open-ended top");
        assert_eq!(budget_overlap((Some(100), Some(200)), (Some(300), Some(400))), 0.0);
        assert_eq!(budget_overlap((Some(150), None), (Some(100), Some(200))), 1.0, "a least, reached");
        assert_eq!(budget_overlap((Some(250), None), (Some(100), Some(200))), 0.0, "a least, above their prices");
        assert_eq!(budget_overlap((None, Some(200_000)), (Some(100_000), Some(150_000))), 1.0, "a most, under it");
        assert_eq!(budget_overlap((None, Some(100)), (Some(150), Some(200))), 0.0, "a most, below their prices");
        assert_eq!(budget_overlap((Some(150), Some(150)), (Some(100), Some(200))), 1.0, "one figure, inside");
        assert_eq!(budget_overlap((Some(200), Some(100)), (Some(0), Some(1000))), 1.0, "reversed bounds read as a range");
    }

    #[test]
    fn the_list_keeps_the_trade_drops_the_inactive_and_breaks_ties_the_same_way_every_time() {
        let mut florist = photographer(9);
        florist.vendor_type = Some("florist".into());
        let mut asleep = photographer(8);
        asleep.last_active_at = Some(now() - Duration::days(90));
        let mut booked = photographer(7);
        booked.booked_dates.push(NaiveDate::from_ymd_opt(2027, 6, 19).unwrap());
        // Two equal suppliers: the one with more successful referrals first... and with
        // those equal too, by name.
        let twin_a = SupplierFacts { business_name: Some("Alder Photo".into()), ..photographer(3) };
        let twin_b = SupplierFacts { business_name: Some("Birch Photo".into()), ..photographer(2) };
        let list = [florist, asleep, booked, twin_b.clone(), twin_a.clone()];
        let picked = recommend(&list, &search(), now());
        let ids: Vec<u128> = picked.iter().map(|r| r.supplier_id.as_u128()).collect();
        assert_eq!(ids, [3, 2, 7], "florist and the 90-day sleeper left out; booked ranks last");
        assert!(picked[2].reason.starts_with("Already booked on 19 June 2027"), "{}", picked[2].reason);
        assert_eq!(recommend(&[twin_a, twin_b], &search(), now()), picked[..2]);
    }

    #[test]
    fn at_most_five_and_a_reason_in_words() {
        let many: Vec<SupplierFacts> = (1..=8).map(photographer).collect();
        let picked = recommend(&many, &search(), now());
        assert_eq!(picked.len(), MAX_RECOMMENDATIONS);
        assert_eq!(
            picked[0].reason,
            "Free on 19 June 2027, works in a rustic style, partly within your budget, works in Bath, Somerset, rated 4.5 from 20 reviews, 150 couples served, 4 successful referrals on Bouquet, active this week"
        );
    }
}
