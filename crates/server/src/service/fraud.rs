//! Fraud detection as the business runs it: every referred `signup` and `convert` is
//! assessed inside the event's transaction, what the policy withholds is held (or, for a
//! hard rule, voided) through the ledger, earlier members of a pattern the event reveals
//! are assessed again, and operators decide the cases in the review queue. The rules are
//! `bouquet_core::fraud`; see `docs/fraud.md`.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use bouquet_core::api::{CaseEvidence, FraudAssessmentView, FraudNeighbour, FraudVerdict, IpClusterSize, ReviewCase, ReviewDecision};
use bouquet_core::fraud::{self, Assessment, EmailKey, FraudAction, FraudPolicy, Referee, Referrer, Risk, SignalFinding};
use bouquet_core::reward_status::{RewardEvent, RewardStatus};
use bouquet_core::rewards::RewardRole;
use bouquet_core::tiers::tiers_reached;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::service::announce;
use crate::service::rewards::{grant_tier, move_reward};
use crate::store::{AssessmentRow, FraudSubjectRow, ReviewRow, RewardTx, Store, TouchFact};

/// The disposable email domains shipped with the server.
const SHIPPED_DOMAINS: &str = include_str!("../../data/disposable-domains.txt");
/// How often a configured domains file is checked for a newer version.
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How long an account's own network stays theirs after it was last seen.
const OWN_MARKS_DAYS: i64 = 30;
/// At most this many earlier referees are assessed again by one event.
const MAX_REASSESSED: usize = 100;

/// The disposable-domain list: the shipped one, or a file the operator keeps up to date
/// (read again when it changes, without a restart or a release).
pub struct DisposableDomains {
    file: Option<PathBuf>,
    state: RwLock<(Arc<HashSet<String>>, Option<SystemTime>, Instant)>,
}

fn parse_domains(text: &str) -> HashSet<String> {
    text.lines().map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

impl DisposableDomains {
    /// The shipped list, or `file` when given (which must be readable at start).
    pub fn load(file: Option<PathBuf>) -> Result<Self, String> {
        let (domains, modified) = match &file {
            None => (parse_domains(SHIPPED_DOMAINS), None),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read disposable_domains_file {}: {e}", path.display()))?;
                (parse_domains(&text), std::fs::metadata(path).and_then(|m| m.modified()).ok())
            }
        };
        Ok(Self { file, state: RwLock::new((Arc::new(domains), modified, Instant::now())) })
    }

    fn current(&self) -> Arc<HashSet<String>> {
        let (domains, modified, checked) = self.state.read().map(|s| s.clone()).unwrap_or_else(|e| e.into_inner().clone());
        let Some(path) = &self.file else { return domains };
        if checked.elapsed() < RELOAD_EVERY {
            return domains;
        }
        let now_modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let fresh = match now_modified {
            Some(m) if Some(m) != modified => match std::fs::read_to_string(path) {
                Ok(text) => {
                    tracing::info!(path = %path.display(), "disposable email domains reloaded");
                    Arc::new(parse_domains(&text))
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "disposable email domains not reloaded; keeping the list in use");
                    domains
                }
            },
            _ => domains,
        };
        if let Ok(mut state) = self.state.write() {
            *state = (fresh.clone(), now_modified.or(modified), Instant::now());
        }
        fresh
    }

    /// Whether `domain` or a domain it is under is on the list.
    pub fn contains(&self, domain: &str) -> bool {
        let domains = self.current();
        let mut rest = domain.trim().to_ascii_lowercase();
        loop {
            if domains.contains(&rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent.to_string(),
                _ => return false,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The policy and the lists it uses.
pub struct FraudRules {
    pub policy: FraudPolicy,
    pub disposable: DisposableDomains,
}

/// What the event told us about the user, beyond their touches.
pub struct EventEvidence<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    /// The keyed hash of the IP the platform saw (never the IP itself).
    pub ip_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Signup,
    Convert,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Convert => "convert",
        }
    }
}

fn subject_referee(s: &FraudSubjectRow) -> Referee {
    Referee {
        user_id: s.platform_user_id.clone(),
        email: s.email_key.as_deref().and_then(EmailKey::parse),
        name: s.name_key.clone(),
        signed_up_at: s.signed_up_at,
        first_touch_at: s.first_touch_at,
        converted_at: s.converted_at,
        fair_traffic: s.fair_traffic,
        marks: s.marks.iter().cloned().collect(),
    }
}

fn action_of(s: &str) -> FraudAction {
    FraudAction::parse(s).unwrap_or(FraudAction::Approve)
}

/// Assesses a referred user at `signup` or `convert` (`referrer`: the conversion's primary
/// referral and referrer; otherwise their latest touch's). `None` for an organic user.
/// On `convert` it runs before the rewards are issued, so a withheld conversion's rewards
/// are issued held and never count toward tiers.
#[allow(clippy::too_many_arguments)]
pub async fn assess_event(
    tx: &mut dyn RewardTx,
    rules: &FraudRules,
    user_id: &str,
    evidence: EventEvidence<'_>,
    cause: Cause,
    at: DateTime<Utc>,
    referrer: Option<(Uuid, Uuid)>,
    now: DateTime<Utc>,
) -> Result<Option<FraudVerdict>, ApiError> {
    let policy = &rules.policy;
    if !policy.enabled {
        return Ok(None);
    }
    let touches = tx.touch_facts(user_id).await?;
    let Some((referral_id, referrer_id)) = referrer.or_else(|| touches.last().map(|t| (t.referral_id, t.referrer_id))) else {
        return Ok(None);
    };
    // One referrer's referees are assessed one after another, across processes too.
    tx.lock_referrer(referrer_id).await?;
    let existing = tx.fraud_subject(user_id).await?;
    let mine: Vec<&TouchFact> = touches.iter().filter(|t| t.referrer_id == referrer_id).collect();
    let mut marks: BTreeSet<String> = existing.as_ref().map(|e| e.marks.iter().cloned().collect()).unwrap_or_default();
    for t in &touches {
        marks.extend(t.ip_hash.as_ref().map(|h| format!("ip:{h}")));
        marks.extend(t.visitor_key.as_ref().map(|k| format!("cookie:{k}")));
    }
    marks.extend(evidence.ip_hash.as_ref().map(|h| format!("ip:{h}")));
    let new_marks: Vec<String> = marks.iter().filter(|m| existing.as_ref().is_none_or(|e| !e.marks.contains(*m))).cloned().collect();
    tx.add_fraud_marks(user_id, &new_marks).await?;

    let mut subject = FraudSubjectRow {
        platform_user_id: user_id.to_string(),
        referrer_id,
        referral_id: Some(referral_id),
        email_key: evidence.email.and_then(EmailKey::parse).map(|k| k.address()).or_else(|| existing.as_ref().and_then(|e| e.email_key.clone())),
        name_key: evidence.name.map(fraud::skeleton).filter(|n| !n.is_empty()).or_else(|| existing.as_ref().and_then(|e| e.name_key.clone())),
        signed_up_at: existing.as_ref().map_or(at, |e| e.signed_up_at.min(at)),
        // A typed code's touch is dated by the event that carried it; when that was a
        // `convert`, the user had signed up before: the sign-up is when they had the code.
        first_touch_at: mine
            .iter()
            .map(|t| match (t.typed_code, existing.as_ref()) {
                (true, Some(e)) => t.occurred_at.min(e.signed_up_at),
                _ => t.occurred_at,
            })
            .min(),
        converted_at: if cause == Cause::Convert { Some(at) } else { existing.as_ref().and_then(|e| e.converted_at) },
        fair_traffic: mine.iter().any(|t| t.fair_date.is_some_and(|d| fraud::within_fair_days(t.occurred_at, d, policy.fair_grace_days))),
        score_bp: 0,
        fired: Vec::new(),
        risk: Risk::Low.as_str().into(),
        action: existing.as_ref().map_or_else(|| FraudAction::Approve.as_str().into(), |e| e.action.clone()),
        decided: existing.as_ref().is_some_and(|e| e.decided),
        assessed_at: now,
        marks: marks.into_iter().collect(),
    };

    // The referrer's own networks as of the last month: a café or a venue they used once
    // long ago is not "their network" any more.
    let (email, kind, name, own_marks) =
        tx.referrer_identity(referrer_id, subject.signed_up_at - Duration::days(OWN_MARKS_DAYS)).await?.unwrap_or_default();
    let history_end = subject.signed_up_at - Duration::hours(policy.velocity.window_hours);
    let signups_in_history = tx.referred_signups(referrer_id, history_end - Duration::days(policy.velocity.history_days), history_end).await?;
    let referrer = Referrer {
        account_id: referrer_id.to_string(),
        is_supplier: kind == bouquet_core::AccountKind::Supplier.as_str(),
        email: EmailKey::parse(&email),
        name: name.as_deref().map(fraud::skeleton),
        marks: own_marks.into_iter().collect(),
        signups_in_history,
    };
    let reach = policy.reach();
    let mut neighbours = tx.fraud_neighbours(referrer_id, subject.signed_up_at - reach, subject.signed_up_at.max(now) + reach).await?;
    neighbours.retain(|n| n.platform_user_id != user_id);
    let referees: Vec<Referee> = neighbours.iter().map(subject_referee).chain([subject_referee(&subject)]).collect();

    let me = referees.last().expect("the subject is in the list");
    let disposable = me.email.as_ref().is_some_and(|e| rules.disposable.contains(&e.domain));
    let assessment = fraud::assess(me, &referees, &referrer, disposable, policy);
    let verdict = record(tx, &mut subject, &assessment, cause.as_str(), now).await?;
    tx.save_fraud_subject(&subject).await?;

    // The pattern this event revealed reaches back: its earlier members are assessed again.
    for member_id in assessment.related().into_iter().take(MAX_REASSESSED) {
        let Some(i) = neighbours.iter().position(|n| n.platform_user_id == member_id) else { continue };
        let current = action_of(&neighbours[i].action);
        if neighbours[i].decided || neighbours[i].referrer_id != referrer_id {
            continue;
        }
        // Assessed again only if the pattern could raise their action: a busy venue's
        // velocity window does not mean re-scoring everyone in it.
        let bound = policy.bound_with(neighbours[i].score_bp, &neighbours[i].fired, &assessment.patterns_with(&member_id));
        if policy.action(policy.risk(bound), false) <= current {
            continue;
        }
        let member = subject_referee(&neighbours[i]);
        let member_disposable = member.email.as_ref().is_some_and(|e| rules.disposable.contains(&e.domain));
        let again = fraud::assess(&member, &referees, &referrer, member_disposable, policy);
        if again.action <= current {
            continue;
        }
        let mut row = neighbours[i].clone();
        record(tx, &mut row, &again, "reassessment", now).await?;
        row.marks.clear();
        tx.save_fraud_subject(&row).await?;
    }
    Ok(Some(verdict))
}

/// Keeps an assessment and acts on it: the subject's action only rises (an operator's
/// decision stands); a newly withheld referee's rewards are held, a rejected one's voided,
/// and their case opened or closed.
async fn record(tx: &mut dyn RewardTx, subject: &mut FraudSubjectRow, a: &Assessment, cause: &str, now: DateTime<Utc>) -> Result<FraudVerdict, ApiError> {
    let before = action_of(&subject.action);
    let action = if subject.decided { before } else { before.max(a.action) };
    let row = AssessmentRow {
        id: Uuid::now_v7(),
        platform_user_id: subject.platform_user_id.clone(),
        referrer_id: subject.referrer_id,
        cause: cause.into(),
        score_bp: a.score_bp,
        risk: a.risk.as_str().into(),
        action: action.as_str().into(),
        signals: serde_json::to_string(&a.signals).map_err(|e| ApiError::Internal(e.to_string()))?,
        policy_version: a.policy_version.clone(),
        assessed_at: now,
    };
    tx.insert_assessment(&row).await?;
    subject.score_bp = a.score_bp;
    subject.fired = a.fired();
    subject.risk = a.risk.as_str().into();
    subject.action = action.as_str().into();
    subject.assessed_at = now;
    if action == before {
        if action.withholds() && action != FraudAction::Reject && !subject.decided {
            // Still under review: the case shows the newest evidence.
            tx.upsert_review(&review_row(subject, row.id, "pending", None, now)).await?;
        }
        return Ok(FraudVerdict { risk: a.risk, action });
    }
    if action != FraudAction::Approve {
        announce::fraud_flagged(tx, &row, now).await?;
    }
    match action {
        FraudAction::Approve => {}
        FraudAction::Review | FraudAction::Hold => {
            withhold(tx, &subject.platform_user_id, now).await?;
            tx.upsert_review(&review_row(subject, row.id, "pending", None, now)).await?;
        }
        FraudAction::Reject => {
            void(tx, &subject.platform_user_id, now).await?;
            let rule = a.signals.iter().find(|s| s.triggered && s.signal.is_hard_rule()).map(|s| s.sentence.clone());
            let note = format!("rejected by policy {}: {}", a.policy_version, rule.unwrap_or_else(|| "high risk".into()));
            tx.upsert_review(&review_row(subject, row.id, "rejected", Some(note), now)).await?;
        }
    }
    Ok(FraudVerdict { risk: a.risk, action })
}

fn review_row(subject: &FraudSubjectRow, assessment_id: Uuid, status: &str, note: Option<String>, now: DateTime<Utc>) -> ReviewRow {
    let decided = status != "pending";
    ReviewRow {
        id: Uuid::now_v7(),
        platform_user_id: subject.platform_user_id.clone(),
        referrer_id: subject.referrer_id,
        assessment_id,
        status: status.into(),
        opened_at: now,
        decided_at: decided.then_some(now),
        decided_by: None,
        note,
    }
}

/// Holds the referee's live rewards (theirs and their referrers'); a held referrer reward
/// stops counting as a successful referral until released.
pub async fn withhold(tx: &mut dyn RewardTx, user_id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    for r in tx.rewards_of_referee(user_id).await? {
        if !matches!(r.status, RewardStatus::Pending | RewardStatus::Eligible) {
            continue;
        }
        let held = move_reward(tx, &r, RewardEvent::Hold, now).await?.is_some();
        if let (true, RewardRole::Referrer, Some(account)) = (held, r.role, r.account_id) {
            tx.remove_success(account, r.value_minor).await?;
        }
    }
    Ok(())
}

/// Voids the referee's rewards: held ones are rejected (live ones are held first); a
/// campaign gets back what they had reserved of its budget.
pub async fn void(tx: &mut dyn RewardTx, user_id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    withhold(tx, user_id, now).await?;
    for r in tx.rewards_of_referee(user_id).await? {
        if r.status != RewardStatus::Held {
            continue;
        }
        let rejected = move_reward(tx, &r, RewardEvent::Reject, now).await?.is_some();
        if let (true, RewardRole::Referrer, Some(campaign)) = (rejected, r.role, r.campaign_id) {
            tx.release_budget(campaign, r.amount.amount_minor).await?;
        }
    }
    Ok(())
}

/// Releases the referee's held rewards with their original dates (eligible at once when
/// the holding period has passed); a referrer's conversion counts again, tiers included.
pub async fn release(tx: &mut dyn RewardTx, user_id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    for r in tx.rewards_of_referee(user_id).await? {
        if r.status != RewardStatus::Held {
            continue;
        }
        let due = r.eligible_at.is_some_and(|at| bouquet_core::reward_status::is_due(at, r.awaiting_paid_plan, now));
        if move_reward(tx, &r, RewardEvent::Release { due }, now).await?.is_none() || r.role != RewardRole::Referrer {
            continue;
        }
        let (Some(account), Some(referral)) = (r.account_id, r.referral_id) else { continue };
        let Some(facts) = tx.referral_facts(referral).await? else { continue };
        let (prior, after) = tx.add_to_standing(account, facts.referrer_kind, 1, r.value_minor, r.earned_at).await?;
        for tier in tiers_reached(facts.referrer_kind, prior, after) {
            grant_tier(tx, account, tier, after, now).await?;
        }
    }
    Ok(())
}

/// An operator's decision on a pending case: approval releases the referee's rewards,
/// rejection voids them; either settles their action for good.
pub async fn decide(store: &Arc<dyn Store>, operator: Uuid, case_id: Uuid, decision: &ReviewDecision, now: DateTime<Utc>) -> Result<ReviewCase, ApiError> {
    let note = decision.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::invalid("invalid_field", "note must have at most 2000 characters"));
    }
    let (status, action) = match decision.decision.as_str() {
        "approve" => ("approved", FraudAction::Approve),
        "reject" => ("rejected", FraudAction::Reject),
        other => return Err(ApiError::invalid("invalid_field", format!("decision must be approve or reject, not '{other}'"))),
    };
    // The referrer's lock first, as assessments take it: a decision and a re-assessment of
    // the same referee never interleave.
    let referrer = store.fraud_review(case_id).await?.ok_or(ApiError::NotFound("no such review case"))?.referrer_id;
    let mut tx = store.begin_rewards().await?;
    tx.lock_referrer(referrer).await?;
    let case = tx.review_for_update(case_id).await?.ok_or(ApiError::NotFound("no such review case"))?;
    if case.status != "pending" {
        return Err(ApiError::Conflict(format!("this case was already decided ({})", case.status)));
    }
    if !tx.decide_review(case_id, status, operator, note, now).await? {
        return Err(ApiError::Conflict("this case was decided by someone else just now".into()));
    }
    announce::fraud_decided(tx.as_mut(), case_id, &case.platform_user_id, case.referrer_id, status, now).await?;
    if let Some(mut subject) = tx.fraud_subject(&case.platform_user_id).await? {
        subject.action = action.as_str().into();
        subject.decided = true;
        subject.marks.clear();
        tx.save_fraud_subject(&subject).await?;
    }
    match action {
        FraudAction::Approve => release(tx.as_mut(), &case.platform_user_id, now).await?,
        _ => void(tx.as_mut(), &case.platform_user_id, now).await?,
    }
    tx.commit().await?;
    tracing::info!(case = %case_id, %operator, decision = status, "fraud review decided");
    case_view(store, case_id).await
}

fn findings(row: &AssessmentRow) -> Vec<SignalFinding> {
    serde_json::from_str(&row.signals).unwrap_or_default()
}

pub fn assessment_view(row: &AssessmentRow) -> FraudAssessmentView {
    FraudAssessmentView {
        id: row.id,
        platform_user_id: row.platform_user_id.clone(),
        referrer_id: row.referrer_id,
        cause: row.cause.clone(),
        score: row.score_bp as f64 / 10_000.0,
        risk: Risk::parse(&row.risk).unwrap_or(Risk::Low),
        action: action_of(&row.action),
        signals: findings(row),
        policy_version: row.policy_version.clone(),
        assessed_at: row.assessed_at,
    }
}

/// A case as listed: the case and the assessment it stands on.
pub fn case_summary(case: &ReviewRow, assessment: &AssessmentRow) -> ReviewCase {
    ReviewCase {
        id: case.id,
        platform_user_id: case.platform_user_id.clone(),
        referrer_id: case.referrer_id,
        status: case.status.clone(),
        opened_at: case.opened_at,
        decided_at: case.decided_at,
        decided_by: case.decided_by,
        note: case.note.clone(),
        assessment: assessment_view(assessment),
        evidence: None,
    }
}

/// A case with its evidence: the referrer's other referees a week either side of the
/// referee (emails, sign-up times for the timing plot, actions) and the IP-hash clusters.
pub async fn case_view(store: &Arc<dyn Store>, id: Uuid) -> Result<ReviewCase, ApiError> {
    let case = store.fraud_review(id).await?.ok_or(ApiError::NotFound("no such review case"))?;
    let assessment = store.fraud_assessment(case.assessment_id).await?.ok_or(ApiError::Internal("a case's assessment is missing".into()))?;
    let mut view = case_summary(&case, &assessment);
    let Some(subject) = store.fraud_subject_of(&case.platform_user_id).await? else { return Ok(view) };
    let week = Duration::days(7);
    let neighbours = store.fraud_neighbours_of(case.referrer_id, subject.signed_up_at - week, subject.signed_up_at + week).await?;
    let mut clusters: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for n in &neighbours {
        for ip in n.marks.iter().filter_map(|m| m.strip_prefix("ip:")) {
            *clusters.entry(ip.to_string()).or_default() += 1;
        }
    }
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let mut ip_clusters: Vec<IpClusterSize> = subject
        .marks
        .iter()
        .filter_map(|m| m.strip_prefix("ip:"))
        .map(|ip| IpClusterSize { ip_hash: short(ip), referees: clusters.get(ip).copied().unwrap_or(1) })
        .collect();
    ip_clusters.sort_by(|a, b| b.referees.cmp(&a.referees).then_with(|| a.ip_hash.cmp(&b.ip_hash)));
    let mut others: Vec<FraudNeighbour> = neighbours
        .iter()
        .map(|s| FraudNeighbour {
            platform_user_id: s.platform_user_id.clone(),
            email: s.email_key.clone(),
            signed_up_at: s.signed_up_at,
            converted_at: s.converted_at,
            fair_traffic: s.fair_traffic,
            action: action_of(&s.action),
            ip_hashes: s.marks.iter().filter_map(|m| m.strip_prefix("ip:")).map(short).collect(),
        })
        .collect();
    others.sort_by(|a, b| a.signed_up_at.cmp(&b.signed_up_at).then_with(|| a.platform_user_id.cmp(&b.platform_user_id)));
    view.evidence = Some(CaseEvidence { referee_email: subject.email_key.clone(), referees: others, ip_clusters });
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_knows_the_usual_throwaways_and_their_subdomains() {
        let list = DisposableDomains::load(None).unwrap();
        assert!(list.len() > 100_000);
        for domain in ["mailinator.com", "yopmail.com", "guerrillamail.com", "10minutemail.com", "eu.mailinator.com"] {
            assert!(list.contains(domain), "{domain}");
        }
        for domain in ["gmail.com", "outlook.com", "icloud.com", "bloomflorist.co.uk", "com"] {
            assert!(!list.contains(domain), "{domain}");
        }
    }

    #[test]
    fn an_operators_list_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("domains.txt");
        std::fs::write(&path, "# ours\nthrowaway.example\n").unwrap();
        let list = DisposableDomains::load(Some(path.clone())).unwrap();
        assert!(list.contains("throwaway.example") && !list.contains("mailinator.com"));
        std::fs::write(&path, "throwaway.example\nburner.example\n").unwrap();
        // Make the change visible to the next check without waiting a minute.
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        if let Ok(mut state) = list.state.write() {
            state.2 = Instant::now() - RELOAD_EVERY - std::time::Duration::from_secs(1);
        }
        assert!(list.contains("burner.example"));
        assert!(DisposableDomains::load(Some(dir.path().join("missing.txt"))).is_err());
    }
}
