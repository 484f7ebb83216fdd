//! Fraud rules: the seed's signals, their score and the action a policy takes on it.
//!
//! Pure: the server gathers a referee, the referrer's other referees around them and the
//! referrer's own marks; [`assess`] says which signals fire, with the measured value, the
//! threshold and a sentence for the operator, and what to do. Because every signal looks
//! at the referee's *neighbourhood* (before and after them), assessing an earlier member
//! again once later ones arrived finds the pattern they are part of: a ring's first
//! members are not waved through. See `docs/fraud.md`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Mailbox providers whose addresses ignore dots in the local part.
const DOTS_IGNORED: &[&str] = &["gmail.com", "googlemail.com"];
/// Mailbox providers that deliver `name+tag@` to `name@`.
const PLUS_TAGS_IGNORED: &[&str] = &[
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com", "live.co.uk", "icloud.com",
    "me.com", "mac.com", "fastmail.com", "proton.me", "protonmail.com",
];
/// Providers anyone can have an address at: sharing one says nothing about who you are.
const PUBLIC_PROVIDERS: &[&str] = &[
    "gmail.com", "googlemail.com", "outlook.com", "outlook.co.uk", "outlook.fr", "outlook.de", "outlook.es", "outlook.it",
    "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it", "live.com", "live.co.uk", "live.fr",
    "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "ymail.com", "rocketmail.com",
    "icloud.com", "me.com", "mac.com", "privaterelay.appleid.com", "aol.com", "aol.co.uk", "gmx.com", "gmx.de", "gmx.net",
    "gmx.co.uk", "web.de", "t-online.de", "mail.com", "proton.me", "protonmail.com", "pm.me", "fastmail.com", "zoho.com",
    "yandex.com", "btinternet.com", "btopenworld.com", "sky.com", "virginmedia.com", "ntlworld.com", "blueyonder.co.uk",
    "talktalk.net", "tiscali.co.uk", "plus.net", "orange.fr", "free.fr", "sfr.fr", "laposte.net", "wanadoo.fr", "libero.it",
    "comcast.net", "verizon.net", "att.net", "eircom.net", "bigpond.com", "hey.com", "tutanota.com", "mail.ru",
];

/// An email as fraud rules compare it: lower-cased, and for providers that ignore them,
/// without dots and `+tags` (`Anna.Smith+1@googlemail.com` is `annasmith@gmail.com`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailKey {
    pub local: String,
    pub domain: String,
}

impl EmailKey {
    pub fn parse(email: &str) -> Option<Self> {
        let email = email.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@')?;
        if local.is_empty() || !domain.contains('.') {
            return None;
        }
        let mut domain = domain.to_string();
        let mut local = local.to_string();
        if PLUS_TAGS_IGNORED.contains(&domain.as_str()) {
            local = local.split('+').next().unwrap_or_default().to_string();
        }
        if DOTS_IGNORED.contains(&domain.as_str()) {
            local.retain(|c| c != '.');
            domain = "gmail.com".into();
        }
        (!local.is_empty()).then_some(Self { local, domain })
    }

    pub fn address(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// Whether anyone can have an address at this domain.
    pub fn is_public_provider(&self) -> bool {
        PUBLIC_PROVIDERS.contains(&self.domain.as_str())
    }

    /// The local part as look-alikes are compared: [`skeleton`].
    pub fn skeleton(&self) -> String {
        skeleton(&self.local)
    }
}

/// The letters of a name or an email's local part, lower-cased: what similarity compares.
/// Separators go (`anna.test3`, `anna_test3` and `annatest3` are one spelling to a person)
/// and so do digits: a throwaway series differs in its numbers (`anna.test3`,
/// `anna.test4`), while two people sharing a surname differ in their letters — and
/// birth years or house numbers in honest addresses would otherwise pull them together.
pub fn skeleton(text: &str) -> String {
    text.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect()
}

/// How alike two spellings are, 0 to 1: one minus the Levenshtein edit distance over the
/// longer length (`strsim::normalized_levenshtein`). Every edit counts against the whole
/// identity, so a shared first name or surname with a different other half stays far
/// apart, while a look-alike (`annatest3`/`annatest4`) is one edit away. Spellings shorter
/// than `min_length` are not compared (initials say nothing): `None`.
pub fn similarity(a: &str, b: &str, min_length: usize) -> Option<f64> {
    if a.chars().count() < min_length || b.chars().count() < min_length {
        return None;
    }
    Some(strsim::normalized_levenshtein(a, b))
}

/// What the server knows of one referred user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referee {
    pub user_id: String,
    pub email: Option<EmailKey>,
    /// The name the platform gave, as [`skeleton`].
    pub name: Option<String>,
    pub signed_up_at: DateTime<Utc>,
    /// The first touch on a referral of this referrer (for a typed code, the sign-up).
    pub first_touch_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    /// Came through a code tied to one of the referrer's fairs, on the fair's days: the
    /// traffic the fair was for, exempt from velocity and IP clustering.
    pub fair_traffic: bool,
    /// Keyed hashes of where they came from: `ip:…` (touches and events) and `cookie:…`.
    pub marks: BTreeSet<String>,
}

/// The referrer, as the rules compare referees with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referrer {
    pub account_id: String,
    /// A supplier's address is a business's: a referee at the same (non-public) domain is
    /// the business itself. A couple's domain says nothing (their workplace, a family's).
    pub is_supplier: bool,
    pub email: Option<EmailKey>,
    pub name: Option<String>,
    /// Their own IP hashes (sign-ins, API calls) and cookies, marked as for referees.
    pub marks: BTreeSet<String>,
    /// Referred sign-ups over the policy's history period before the day being judged.
    pub signups_in_history: i64,
}

/// A fair's days, ±`grace_days`, in the fair's local date: without a time zone the local
/// date is taken anywhere on Earth (UTC+14 to UTC−12), so no fair's traffic is missed.
pub fn within_fair_days(at: DateTime<Utc>, fair_date: NaiveDate, grace_days: i64) -> bool {
    let first = (fair_date - Duration::days(grace_days)).and_time(NaiveTime::MIN).and_utc() - Duration::hours(14);
    let last = (fair_date + Duration::days(grace_days + 1)).and_time(NaiveTime::MIN).and_utc() + Duration::hours(12);
    at >= first && at < last
}

/// The signals, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    SelfReferral,
    DisposableEmail,
    Velocity,
    Similarity,
    IpCluster,
    Timing,
    ConversionSpeed,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfReferral => "self_referral",
            Self::DisposableEmail => "disposable_email",
            Self::Velocity => "velocity",
            Self::Similarity => "similarity",
            Self::IpCluster => "ip_cluster",
            Self::Timing => "timing",
            Self::ConversionSpeed => "conversion_speed",
        }
    }

    /// Hard rules act on their own, whatever the score.
    pub fn is_hard_rule(self) -> bool {
        matches!(self, Self::SelfReferral | Self::DisposableEmail)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High].into_iter().find(|r| r.as_str() == s)
    }
}

/// What happens to a referee's rewards. Ordered by severity: automatic assessments only
/// ever raise it; an operator's decision settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FraudAction {
    Approve,
    /// Rewards held while an operator looks.
    Review,
    /// Rewards held: high risk.
    Hold,
    /// Rewards voided.
    Reject,
}

impl FraudAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Review => "review",
            Self::Hold => "hold",
            Self::Reject => "reject",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approve, Self::Review, Self::Hold, Self::Reject].into_iter().find(|a| a.as_str() == s)
    }
    /// Whether the referee's rewards are kept from them.
    pub fn withholds(self) -> bool {
        self != Self::Approve
    }
}

/// A rule's weight and whether it is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VelocityRule {
    pub weight: f64,
    /// More referred sign-ups than this in `window_hours`…
    pub max_signups: i64,
    pub window_hours: i64,
    /// …or than `history_multiplier` × the referrer's daily average over `history_days`
    /// before, whichever is larger: a referrer whose word of mouth grew is judged by it.
    pub history_days: i64,
    pub history_multiplier: f64,
}

impl Default for VelocityRule {
    fn default() -> Self {
        Self { weight: 0.30, max_signups: 10, window_hours: 24, history_days: 30, history_multiplier: 3.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimilarityRule {
    pub weight: f64,
    pub threshold: f64,
    pub window_days: i64,
    pub min_length: usize,
}

impl Default for SimilarityRule {
    fn default() -> Self {
        Self { weight: 0.25, threshold: 0.8, window_days: 7, min_length: 5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpClusterRule {
    pub weight: f64,
    pub min_referees: usize,
    pub window_hours: i64,
}

impl Default for IpClusterRule {
    fn default() -> Self {
        Self { weight: 0.20, min_referees: 5, window_hours: 24 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingRule {
    pub weight: f64,
    /// The run of consecutive sign-ups measured (its gaps are one fewer).
    pub run: usize,
    /// Coefficient of variation of the gaps (standard deviation ÷ mean) at or below which
    /// the run is machine-regular. People arrive like a Poisson process: CV near 1.
    pub max_cv: f64,
}

impl Default for TimingRule {
    fn default() -> Self {
        Self { weight: 0.15, run: 6, max_cv: 0.1 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeedRule {
    pub weight: f64,
    pub within_seconds: i64,
}

impl Default for SpeedRule {
    fn default() -> Self {
        Self { weight: 0.10, within_seconds: 300 }
    }
}

/// The scoring policy: weights and thresholds (the seed's by default), risk bands and
/// the action for each. Configurable in the server's config file (`[fraud]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FraudPolicy {
    /// Off, nothing is scored (a deployment that screens elsewhere; the benchmark's baseline).
    pub enabled: bool,
    pub velocity: VelocityRule,
    pub similarity: SimilarityRule,
    pub ip_cluster: IpClusterRule,
    pub timing: TimingRule,
    pub conversion_speed: SpeedRule,
    /// Days either side of a fair's date whose traffic on its codes is expected.
    pub fair_grace_days: i64,
    /// Medium from this score; high above `high_above`.
    pub medium_from: f64,
    pub high_above: f64,
    pub low_action: FraudAction,
    pub medium_action: FraudAction,
    pub high_action: FraudAction,
    pub hard_rule_action: FraudAction,
}

impl Default for FraudPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            velocity: VelocityRule::default(),
            similarity: SimilarityRule::default(),
            ip_cluster: IpClusterRule::default(),
            timing: TimingRule::default(),
            conversion_speed: SpeedRule::default(),
            fair_grace_days: 1,
            medium_from: 0.4,
            high_above: 0.7,
            low_action: FraudAction::Approve,
            medium_action: FraudAction::Review,
            high_action: FraudAction::Hold,
            hard_rule_action: FraudAction::Reject,
        }
    }
}

/// Weights as basis points, so a score lands exactly on a band's edge (0.1 + 0.3 is 0.4).
fn bp(weight: f64) -> i64 {
    (weight * 10_000.0).round() as i64
}

impl FraudPolicy {
    /// Names this policy in every assessment made under it: a digest of its settings.
    pub fn version(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        format!("p-{}", digest[..6].iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn validate(&self) -> Result<(), String> {
        let weights = [self.velocity.weight, self.similarity.weight, self.ip_cluster.weight, self.timing.weight, self.conversion_speed.weight];
        if weights.iter().any(|w| !(0.0..=1.0).contains(w)) {
            return Err("fraud weights must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.similarity.threshold) {
            return Err("fraud.similarity.threshold must be between 0 and 1".into());
        }
        if self.medium_from > self.high_above {
            return Err("fraud.medium_from must not be above fraud.high_above".into());
        }
        if self.timing.run < 3 || self.ip_cluster.min_referees < 2 || self.velocity.max_signups < 1 {
            return Err("fraud.timing.run must be at least 3, ip_cluster.min_referees at least 2, velocity.max_signups at least 1".into());
        }
        if self.velocity.window_hours < 1 || self.ip_cluster.window_hours < 1 || self.similarity.window_days < 1 || self.velocity.history_days < 1 {
            return Err("fraud windows must be positive".into());
        }
        Ok(())
    }

    pub fn risk(&self, score_bp: i64) -> Risk {
        if score_bp > bp(self.high_above) {
            Risk::High
        } else if score_bp >= bp(self.medium_from) {
            Risk::Medium
        } else {
            Risk::Low
        }
    }

    pub fn action(&self, risk: Risk, hard_rule: bool) -> FraudAction {
        if hard_rule {
            return self.hard_rule_action;
        }
        match risk {
            Risk::Low => self.low_action,
            Risk::Medium => self.medium_action,
            Risk::High => self.high_action,
        }
    }

    /// The most a referee's score could become if `pattern` signals fire for them too:
    /// their current score plus the weights of those they have not fired yet. Signals of
    /// the referee alone (conversion speed, hard rules) do not change with others'
    /// arrival, so this bounds an assessment made again.
    pub fn bound_with(&self, score_bp: i64, fired: &[String], pattern: &[&SignalFinding]) -> i64 {
        score_bp + pattern.iter().filter(|s| !fired.iter().any(|f| f == s.signal.as_str())).map(|s| bp(s.weight)).sum::<i64>()
    }

    /// How far around a referee the neighbourhood reaches (the widest window, both ways).
    pub fn reach(&self) -> Duration {
        let hours = [self.velocity.window_hours, self.ip_cluster.window_hours, self.similarity.window_days * 24].into_iter().max().unwrap_or(24);
        Duration::hours(hours)
    }
}

/// One signal's finding, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignalFinding {
    pub signal: Signal,
    pub triggered: bool,
    /// What was measured (a count, a similarity, a coefficient of variation, seconds);
    /// absent when it could not be (no email, too few sign-ups).
    pub value: Option<f64>,
    pub threshold: f64,
    pub weight: f64,
    /// For the operator, in words.
    pub sentence: String,
    /// The other referees in the pattern (platform user ids), for the review's evidence
    /// and to re-assess them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub score_bp: i64,
    pub risk: Risk,
    pub action: FraudAction,
    pub signals: Vec<SignalFinding>,
    pub policy_version: String,
}

impl Assessment {
    /// The score as reported, 0 to 1.
    pub fn score(&self) -> f64 {
        self.score_bp as f64 / 10_000.0
    }

    /// The signals that fired, by name.
    pub fn fired(&self) -> Vec<String> {
        self.signals.iter().filter(|s| s.triggered).map(|s| s.signal.as_str().to_string()).collect()
    }

    /// The fired pattern signals that tie this referee to `user`.
    pub fn patterns_with(&self, user: &str) -> Vec<&SignalFinding> {
        self.signals.iter().filter(|s| s.triggered && s.related.iter().any(|r| r == user)).collect()
    }

    /// Everyone a triggered pattern signal ties this referee to.
    pub fn related(&self) -> BTreeSet<String> {
        self.signals.iter().filter(|s| s.triggered).flat_map(|s| s.related.iter().cloned()).collect()
    }
}

/// Assesses `subject` among `neighbours` (the referrer's other referees around them; the
/// subject may be among them and is skipped), by `policy`.
pub fn assess(subject: &Referee, neighbours: &[Referee], referrer: &Referrer, email_disposable: bool, policy: &FraudPolicy) -> Assessment {
    let others: Vec<&Referee> = neighbours.iter().filter(|n| n.user_id != subject.user_id).collect();
    let signals = vec![
        self_referral(subject, referrer),
        disposable(subject, email_disposable),
        velocity(subject, &others, referrer, policy),
        look_alikes(subject, &others, referrer, policy),
        ip_cluster(subject, &others, referrer, policy),
        timing(subject, &others, policy),
        conversion_speed(subject, policy),
    ];
    let score_bp = signals.iter().filter(|s| s.triggered && !s.signal.is_hard_rule()).map(|s| bp(s.weight)).sum();
    let hard = signals.iter().any(|s| s.triggered && s.signal.is_hard_rule());
    let risk = if hard { Risk::High } else { policy.risk(score_bp) };
    Assessment { score_bp, risk, action: policy.action(risk, hard), signals, policy_version: policy.version() }
}

fn finding(signal: Signal, triggered: bool, value: Option<f64>, threshold: f64, weight: f64, sentence: String) -> SignalFinding {
    SignalFinding { signal, triggered, value, threshold, weight, sentence, related: Vec::new() }
}

fn self_referral(subject: &Referee, referrer: &Referrer) -> SignalFinding {
    let found = match (&subject.email, &referrer.email) {
        _ if subject.user_id == referrer.account_id => Some("the referee is the referrer's own account".to_string()),
        (Some(e), Some(r)) if e == r => Some(format!("the referee's address is the referrer's own ({})", r.address())),
        (Some(e), Some(r)) if referrer.is_supplier && e.domain == r.domain && !r.is_public_provider() => {
            Some(format!("the referee's address is at the referrer's own business domain ({})", r.domain))
        }
        _ => None,
    };
    let triggered = found.is_some();
    let sentence = found.unwrap_or_else(|| "the referee is not the referrer (address and business domain differ)".into());
    finding(Signal::SelfReferral, triggered, None, 1.0, 0.0, sentence)
}

fn disposable(subject: &Referee, email_disposable: bool) -> SignalFinding {
    let sentence = match (&subject.email, email_disposable) {
        (Some(e), true) => format!("{} is a disposable email domain", e.domain),
        (Some(e), false) => format!("{} is not a known disposable email domain", e.domain),
        (None, _) => "no email address to check".into(),
    };
    finding(Signal::DisposableEmail, email_disposable, None, 1.0, 0.0, sentence)
}

/// The most sign-ups in any `window` that contains `at`, among `times` (which include
/// `at`), and which they are (indices into the sorted `times`). The busiest window starts
/// at one of the sign-ups, so one pass with two pointers finds it: linear after the sort.
fn busiest_window(times: &mut [DateTime<Utc>], at: DateTime<Utc>, window: Duration) -> (usize, Vec<usize>) {
    times.sort();
    let (mut best, mut best_start, mut end) = (0, 0, 0);
    for (start, &from) in times.iter().enumerate() {
        if from > at {
            break;
        }
        end = end.max(start);
        while end < times.len() && times[end] <= from + window {
            end += 1;
        }
        // The window [from, from + window] must contain `at` itself.
        if from + window >= at && end - start > best {
            (best, best_start) = (end - start, start);
        }
    }
    (best, (best_start..best_start + best).collect())
}

fn velocity(subject: &Referee, others: &[&Referee], referrer: &Referrer, policy: &FraudPolicy) -> SignalFinding {
    let rule = &policy.velocity;
    let expected_daily = referrer.signups_in_history as f64 / rule.history_days as f64;
    let by_history = rule.history_multiplier * expected_daily * rule.window_hours as f64 / 24.0;
    let limit = (rule.max_signups as f64).max(by_history);
    if subject.fair_traffic {
        return finding(Signal::Velocity, false, None, limit, rule.weight, "fair traffic on the fair's days: expected, not counted".into());
    }
    let counted: Vec<&&Referee> = others.iter().filter(|o| !o.fair_traffic).collect();
    let mut times: Vec<DateTime<Utc>> = counted.iter().map(|o| o.signed_up_at).chain([subject.signed_up_at]).collect();
    let sorted_ids = {
        let mut pairs: Vec<(DateTime<Utc>, &str)> =
            counted.iter().map(|o| (o.signed_up_at, o.user_id.as_str())).chain([(subject.signed_up_at, subject.user_id.as_str())]).collect();
        pairs.sort();
        pairs.into_iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>()
    };
    let (count, members) = busiest_window(&mut times, subject.signed_up_at, Duration::hours(rule.window_hours));
    let triggered = count as f64 > limit;
    let basis = if limit > rule.max_signups as f64 {
        format!("{limit:.1} ({}× their usual {expected_daily:.1} a day)", rule.history_multiplier)
    } else {
        rule.max_signups.to_string()
    };
    let sentence = format!(
        "{} for this referrer within {} hours (fair traffic not counted); more than {basis} is unusual",
        plural(count, "referred sign-up", "referred sign-ups"),
        rule.window_hours
    );
    let mut f = finding(Signal::Velocity, triggered, Some(count as f64), limit, rule.weight, sentence);
    if triggered {
        f.related = members.into_iter().map(|i| sorted_ids[i].clone()).filter(|id| *id != subject.user_id).collect();
    }
    f
}

fn look_alikes(subject: &Referee, others: &[&Referee], referrer: &Referrer, policy: &FraudPolicy) -> SignalFinding {
    let rule = &policy.similarity;
    let window = Duration::days(rule.window_days);
    let mut best: Option<(f64, String)> = None;
    let mut related = Vec::new();
    let mut consider = |score: Option<f64>, what: String, who: Option<&str>| {
        let Some(score) = score else { return };
        if let (true, Some(who)) = (score >= rule.threshold, who) {
            related.push(who.to_string());
        }
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, what));
        }
    };
    let mine = subject.email.as_ref().map(EmailKey::skeleton);
    for o in others.iter().filter(|o| (o.signed_up_at - subject.signed_up_at).abs() <= window) {
        if let (Some(a), Some(b)) = (&subject.email, &o.email) {
            let score = similarity(mine.as_deref().unwrap_or_default(), &b.skeleton(), rule.min_length);
            consider(score, format!("{} and {}", a.address(), b.address()), Some(&o.user_id));
        }
        if let (Some(a), Some(b)) = (&subject.name, &o.name) {
            consider(similarity(a, b, rule.min_length), format!("the names \"{a}\" and \"{b}\""), Some(&o.user_id));
        }
    }
    if let (Some(a), Some(b)) = (&subject.email, &referrer.email) {
        consider(similarity(&a.skeleton(), &b.skeleton(), rule.min_length), format!("{} and the referrer's {}", a.address(), b.address()), None);
    }
    if let (Some(a), Some(b)) = (&subject.name, &referrer.name) {
        consider(similarity(a, b, rule.min_length), format!("the name \"{a}\" and the referrer's \"{b}\""), None);
    }
    related.sort();
    related.dedup();
    let (value, sentence) = match best {
        Some((score, what)) => {
            let verdict = if score >= rule.threshold { "look like one identity" } else { "are different people" };
            (Some(score), format!("most alike: {what}, {score:.2} similar (normalised Levenshtein); at {:.2} or more they {verdict}", rule.threshold).replace(&format!("at {:.2} or more they are different people", rule.threshold), &format!("below {:.2}: different people", rule.threshold)))
        }
        None => (None, format!("no other referee of this referrer within {} days to compare with", rule.window_days)),
    };
    let triggered = value.is_some_and(|v| v >= rule.threshold);
    let mut f = finding(Signal::Similarity, triggered, value, rule.threshold, rule.weight, sentence);
    f.related = related;
    f
}

fn ip_cluster(subject: &Referee, others: &[&Referee], referrer: &Referrer, policy: &FraudPolicy) -> SignalFinding {
    let rule = &policy.ip_cluster;
    let threshold = rule.min_referees as f64;
    if subject.fair_traffic {
        return finding(Signal::IpCluster, false, None, threshold, rule.weight, "fair traffic on the fair's days: a shared venue network is expected".into());
    }
    if let Some(mark) = subject.marks.iter().find(|m| referrer.marks.contains(*m)) {
        let what = if mark.starts_with("cookie:") { "browser" } else { "network address (IP hash)" };
        return finding(Signal::IpCluster, true, Some(1.0), threshold, rule.weight, format!("the referee came from the referrer's own {what}"));
    }
    let window = Duration::hours(rule.window_hours);
    let mut best: (usize, Vec<String>) = (1, Vec::new());
    for mark in subject.marks.iter().filter(|m| m.starts_with("ip:")) {
        let sharing: Vec<&&Referee> = others.iter().filter(|o| !o.fair_traffic && o.marks.contains(mark)).collect();
        let mut pairs: Vec<(DateTime<Utc>, String)> =
            sharing.iter().map(|o| (o.signed_up_at, o.user_id.clone())).chain([(subject.signed_up_at, subject.user_id.clone())]).collect();
        pairs.sort();
        let mut times: Vec<DateTime<Utc>> = pairs.iter().map(|p| p.0).collect();
        let (count, members) = busiest_window(&mut times, subject.signed_up_at, window);
        if count > best.0 {
            best = (count, members.into_iter().map(|i| pairs[i].1.clone()).filter(|id| *id != subject.user_id).collect());
        }
    }
    let triggered = best.0 >= rule.min_referees;
    let sentence = format!(
        "{} of this referrer from one network address (IP hash) within {} hours (fair traffic not counted); {} or more is a cluster",
        plural(best.0, "referee", "referees"),
        rule.window_hours,
        rule.min_referees
    );
    let mut f = finding(Signal::IpCluster, triggered, Some(best.0 as f64), threshold, rule.weight, sentence);
    if triggered {
        f.related = best.1;
    }
    f
}

/// Coefficient of variation of the gaps between consecutive times (sorted): standard
/// deviation over mean; 0 when they are all equal (including all at one instant).
pub fn gaps_cv(times: &[DateTime<Utc>]) -> Option<f64> {
    if times.len() < 3 {
        return None;
    }
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    if mean <= 0.0 {
        return Some(0.0);
    }
    let variance = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    Some(variance.sqrt() / mean)
}

fn timing(subject: &Referee, others: &[&Referee], policy: &FraudPolicy) -> SignalFinding {
    let rule = &policy.timing;
    let mut all: Vec<(DateTime<Utc>, &str)> =
        others.iter().map(|o| (o.signed_up_at, o.user_id.as_str())).chain([(subject.signed_up_at, subject.user_id.as_str())]).collect();
    all.sort();
    let at = all.iter().position(|(_, id)| *id == subject.user_id).unwrap_or(0);
    // Every run of `run` consecutive sign-ups that includes the subject; the most regular counts.
    let mut best: Option<(f64, usize)> = None;
    if all.len() >= rule.run {
        let first = at.saturating_sub(rule.run - 1);
        let last = at.min(all.len() - rule.run);
        for start in first..=last {
            let times: Vec<DateTime<Utc>> = all[start..start + rule.run].iter().map(|p| p.0).collect();
            if let Some(cv) = gaps_cv(&times).filter(|cv| best.is_none_or(|(b, _)| *cv < b)) {
                best = Some((cv, start));
            }
        }
    }
    let Some((cv, start)) = best else {
        return finding(
            Signal::Timing,
            false,
            None,
            rule.max_cv,
            rule.weight,
            format!("fewer than {} sign-ups for this referrer around this one: no cadence to measure", rule.run),
        );
    };
    let run = &all[start..start + rule.run];
    let mean_gap = (run[rule.run - 1].0 - run[0].0).num_seconds() as f64 / (rule.run - 1) as f64;
    let triggered = cv <= rule.max_cv;
    let sentence = format!(
        "{} consecutive sign-ups {:.0} s apart on average, coefficient of variation {cv:.2} (people vary near 1; {:.2} or less is machine-regular)",
        rule.run, mean_gap, rule.max_cv
    );
    let mut f = finding(Signal::Timing, triggered, Some(cv), rule.max_cv, rule.weight, sentence);
    if triggered {
        f.related = run.iter().map(|(_, id)| id.to_string()).filter(|id| *id != subject.user_id).collect();
    }
    f
}

fn conversion_speed(subject: &Referee, policy: &FraudPolicy) -> SignalFinding {
    let rule = &policy.conversion_speed;
    let threshold = rule.within_seconds as f64;
    match (subject.first_touch_at, subject.converted_at) {
        (Some(touch), Some(converted)) => {
            let elapsed = converted - touch;
            let seconds = elapsed.num_seconds();
            // Milliseconds decide: 300.9 s is not within 300.
            let triggered = elapsed.num_milliseconds() <= rule.within_seconds * 1000;
            let sentence = format!(
                "converted {} after the first touch; within {} is faster than people decide",
                human_duration(seconds),
                human_duration(rule.within_seconds)
            );
            finding(Signal::ConversionSpeed, triggered, Some(seconds as f64), threshold, rule.weight, sentence)
        }
        _ => finding(Signal::ConversionSpeed, false, None, threshold, rule.weight, "not converted yet".into()),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z").unwrap().with_timezone(&Utc) + Duration::minutes(minutes)
    }

    fn referee(id: &str, email: &str, at: DateTime<Utc>) -> Referee {
        Referee {
            user_id: id.into(),
            email: EmailKey::parse(email),
            name: None,
            signed_up_at: at,
            first_touch_at: Some(at - Duration::hours(2)),
            converted_at: None,
            fair_traffic: false,
            marks: BTreeSet::new(),
        }
    }

    fn referrer() -> Referrer {
        Referrer {
            account_id: "acct".into(),
            is_supplier: true,
            email: EmailKey::parse("hello@bloomflorist.co.uk"),
            name: Some("bloomflorist".into()),
            marks: BTreeSet::from(["ip:supplier".to_string()]),
            signups_in_history: 0,
        }
    }

    fn signal(a: &Assessment, s: Signal) -> &SignalFinding {
        a.signals.iter().find(|f| f.signal == s).unwrap()
    }

    /// `n` honest referees spread over a day with irregular gaps, at distinct addresses.
    fn spread(n: usize, start: i64, step: i64) -> Vec<Referee> {
        (0..n).map(|i| referee(&format!("u{i}"), &format!("guest{i}-{}@mail.example", i * 7919 % 1000), t(start + step * i as i64 + (i as i64 * i as i64 * 7) % 41))).collect()
    }

    #[test]
    fn emails_are_compared_as_the_mailbox_sees_them() {
        assert_eq!(EmailKey::parse("Anna.Smith+1@gmail.com").unwrap().address(), "annasmith@gmail.com");
        assert_eq!(EmailKey::parse("a.n.n.a.smith@googlemail.com").unwrap().address(), "annasmith@gmail.com");
        assert_eq!(EmailKey::parse("anna+wedding@outlook.com").unwrap().address(), "anna@outlook.com");
        // Dots matter elsewhere; plus signs too where the provider keeps them.
        assert_eq!(EmailKey::parse("anna.smith@example.co.uk").unwrap().address(), "anna.smith@example.co.uk");
        assert_eq!(EmailKey::parse("anna+1@example.co.uk").unwrap().address(), "anna+1@example.co.uk");
        assert_eq!(EmailKey::parse("not an email"), None);
    }

    #[test]
    fn velocity_counts_more_than_ten_in_a_day() {
        let policy = FraudPolicy::default();
        let r = referrer();
        // 11 sign-ups in 24 h: the 11th is one too many.
        let eleven = spread(11, 0, 120);
        let a = assess(&eleven[10], &eleven, &r, false, &policy);
        assert!(signal(&a, Signal::Velocity).triggered, "{:?}", signal(&a, Signal::Velocity));
        assert_eq!(signal(&a, Signal::Velocity).value, Some(11.0));
        assert_eq!(signal(&a, Signal::Velocity).related.len(), 10);
        // The first of them, assessed again now, is in the same window.
        assert!(signal(&assess(&eleven[0], &eleven, &r, false, &policy), Signal::Velocity).triggered);
        let ten = spread(10, 0, 120);
        let a = assess(&ten[9], &ten, &r, false, &policy);
        assert!(!signal(&a, Signal::Velocity).triggered);
        assert_eq!(signal(&a, Signal::Velocity).value, Some(10.0));
        // Spread over more than a day: never more than 10 in one window.
        let slow = spread(11, 0, 150);
        assert!(!signal(&assess(&slow[10], &slow, &r, false, &policy), Signal::Velocity).triggered);
    }

    #[test]
    fn velocity_is_judged_against_the_referrers_own_history_and_fairs() {
        let policy = FraudPolicy::default();
        let busy = Referrer { signups_in_history: 150, ..referrer() }; // 5 a day: 15 is their unusual
        let fifteen = spread(15, 0, 60);
        let a = assess(&fifteen[14], &fifteen, &busy, false, &policy);
        assert!(!signal(&a, Signal::Velocity).triggered);
        assert_eq!(signal(&a, Signal::Velocity).threshold, 15.0);
        // 3.5 a day: more than 10.5 is unusual, so 11 is.
        let steady = Referrer { signups_in_history: 105, ..referrer() };
        let eleven = spread(11, 0, 60);
        assert!(signal(&assess(&eleven[10], &eleven, &steady, false, &policy), Signal::Velocity).triggered);
        // A fair's couples are expected, and not counted for the others either.
        let mut fair = spread(30, 0, 1);
        for f in &mut fair {
            f.fair_traffic = true;
        }
        let a = assess(&fair[29], &fair, &referrer(), false, &policy);
        assert!(!signal(&a, Signal::Velocity).triggered);
        let mut mixed = fair.clone();
        mixed.push(referee("walk-in", "someone.else@mail.example", t(40)));
        let a = assess(&mixed[30], &mixed, &referrer(), false, &policy);
        assert_eq!(signal(&a, Signal::Velocity).value, Some(1.0));
    }

    #[test]
    fn look_alikes_are_caught_but_shared_names_are_not() {
        let policy = FraudPolicy::default();
        let r = referrer();
        let ring = vec![referee("a", "anna.test3@gmail.com", t(0)), referee("b", "anna.test4@gmail.com", t(90))];
        let a = assess(&ring[1], &ring, &r, false, &policy);
        let s = signal(&a, Signal::Similarity);
        assert!(s.triggered, "{s:?}");
        assert_eq!(s.related, vec!["a".to_string()]);
        // Shared first name, shared surname, sisters.
        for (x, y) in [
            ("anna.smith@gmail.com", "anna.jones@yahoo.co.uk"),
            ("emma.wilson@gmail.com", "james.wilson@outlook.com"),
            ("kate.jones@gmail.com", "lucy.jones@gmail.com"),
            ("sophie.bennett@icloud.com", "oliver.bennett@icloud.com"),
            // Same surname, birth years a year apart: the letters tell them apart.
            ("ivy.johnson1994@gmail.com", "mia.johnson1995@gmail.com"),
        ] {
            let pair = vec![referee("x", x, t(0)), referee("y", y, t(30))];
            let s = assess(&pair[1], &pair, &r, false, &policy);
            assert!(!signal(&s, Signal::Similarity).triggered, "{x} {y}: {:?}", signal(&s, Signal::Similarity));
        }
        // More than 7 days apart: not compared.
        let far = vec![referee("a", "anna.test3@gmail.com", t(0)), referee("b", "anna.test4@gmail.com", t(8 * 24 * 60))];
        assert!(!signal(&assess(&far[1], &far, &r, false, &policy), Signal::Similarity).triggered);
    }

    #[test]
    fn similarity_threshold_is_inclusive_at_point_eight() {
        // 10 characters, 2 edits: 0.8 exactly; 19 characters, 4 edits: 0.789.
        assert_eq!(similarity("abcdefghij", "abcdefghxy", 5), Some(0.8));
        let near = similarity("abcdefghijklmnopqrs", "abcdefghijklmnowxyz", 5).unwrap();
        assert!((near - 0.7895).abs() < 0.001, "{near}");
        let policy = FraudPolicy::default();
        let at = |a: &str, b: &str| {
            let pair = vec![referee("x", &format!("{a}@mail.example"), t(0)), referee("y", &format!("{b}@mail.example"), t(5))];
            signal(&assess(&pair[1], &pair, &referrer(), false, &policy), Signal::Similarity).triggered
        };
        assert!(at("abcdefghij", "abcdefghxy"));
        assert!(!at("abcdefghijklmnopqrs", "abcdefghijklmnowxyz"));
        // Initials are too short to mean anything.
        assert_eq!(similarity("jsmi", "asmi", 5), None);
    }

    #[test]
    fn ip_clusters_of_five_and_the_referrers_own_network() {
        let policy = FraudPolicy::default();
        let r = referrer();
        let on = |n: usize| {
            let mut v = spread(n, 0, 30);
            for x in &mut v {
                x.marks.insert("ip:flat".into());
            }
            v
        };
        let five = on(5);
        let a = assess(&five[4], &five, &r, false, &policy);
        assert!(signal(&a, Signal::IpCluster).triggered);
        assert_eq!(signal(&a, Signal::IpCluster).related.len(), 4);
        let four = on(4);
        assert!(!signal(&assess(&four[3], &four, &r, false, &policy), Signal::IpCluster).triggered);
        // The referrer's own address.
        let mut own = referee("me", "someone@mail.example", t(0));
        own.marks.insert("ip:supplier".into());
        assert!(signal(&assess(&own, &[], &r, false, &policy), Signal::IpCluster).triggered);
        // …unless it is the fair's venue network on the fair's days.
        own.fair_traffic = true;
        assert!(!signal(&assess(&own, &[], &r, false, &policy), Signal::IpCluster).triggered);
        let mut fair = on(40);
        for x in &mut fair {
            x.fair_traffic = true;
        }
        assert!(!signal(&assess(&fair[39], &fair, &r, false, &policy), Signal::IpCluster).triggered);
    }

    #[test]
    fn scripted_cadence_is_regular_people_are_not() {
        let policy = FraudPolicy::default();
        let r = referrer();
        let scripted: Vec<Referee> = (0..6).map(|i| referee(&format!("s{i}"), &format!("user{i}x@mail.example"), t(i))).collect();
        let a = assess(&scripted[5], &scripted, &r, false, &policy);
        assert!(signal(&a, Signal::Timing).triggered);
        assert_eq!(signal(&a, Signal::Timing).value, Some(0.0));
        // The first of the run is found when assessed again.
        assert!(signal(&assess(&scripted[0], &scripted, &r, false, &policy), Signal::Timing).triggered);
        let people = spread(6, 0, 37);
        let a = assess(&people[5], &people, &r, false, &policy);
        assert!(!signal(&a, Signal::Timing).triggered, "{:?}", signal(&a, Signal::Timing));
        // Too few to tell.
        assert_eq!(signal(&assess(&scripted[4], &scripted[..5], &r, false, &policy), Signal::Timing).value, None);
        assert!(gaps_cv(&[t(0), t(1), t(3)]).unwrap() > 0.3);
    }

    #[test]
    fn conversion_within_five_minutes_of_the_first_touch() {
        let policy = FraudPolicy::default();
        let mut x = referee("x", "x.person@mail.example", t(0));
        x.first_touch_at = Some(t(0));
        x.converted_at = Some(t(0) + Duration::seconds(299));
        assert!(signal(&assess(&x, &[], &referrer(), false, &policy), Signal::ConversionSpeed).triggered);
        x.converted_at = Some(t(0) + Duration::milliseconds(300_900));
        assert!(!signal(&assess(&x, &[], &referrer(), false, &policy), Signal::ConversionSpeed).triggered, "300.9 s is not within 300");
        x.converted_at = Some(t(0) + Duration::seconds(301));
        let a = assess(&x, &[], &referrer(), false, &policy);
        assert!(!signal(&a, Signal::ConversionSpeed).triggered);
        assert_eq!(signal(&a, Signal::ConversionSpeed).sentence, "converted 5 min 1 s after the first touch; within 5 min 0 s is faster than people decide");
    }

    #[test]
    fn hard_rules_reject_whatever_the_score() {
        let policy = FraudPolicy::default();
        let r = referrer();
        for email in ["hello@bloomflorist.co.uk", "Hello+x@BloomFlorist.co.uk", "orders@bloomflorist.co.uk"] {
            let a = assess(&referee("x", email, t(0)), &[], &r, false, &policy);
            assert_eq!(a.action, FraudAction::Reject, "{email}");
            assert!(signal(&a, Signal::SelfReferral).triggered);
        }
        // A couple at gmail referring a friend at gmail is not a domain match.
        let couple = Referrer { email: EmailKey::parse("kate.jones@gmail.com"), is_supplier: false, ..referrer() };
        let a = assess(&referee("x", "lucy.jones@gmail.com", t(0)), &[], &couple, false, &policy);
        assert_eq!(a.action, FraudAction::Approve);
        // The same gmail box with dots and a tag is the same person.
        let a = assess(&referee("x", "k.a.t.e.jones+wedding@googlemail.com", t(0)), &[], &couple, false, &policy);
        assert_eq!(a.action, FraudAction::Reject);
        // A couple's own domain (their employer's) is nobody's business address.
        let at_work = Referrer { email: EmailKey::parse("kate@acme-logistics.example"), is_supplier: false, ..referrer() };
        assert_eq!(assess(&referee("x", "sam@acme-logistics.example", t(0)), &[], &at_work, false, &policy).action, FraudAction::Approve);
        let a = assess(&referee("x", "x@mailinator.com", t(0)), &[], &r, true, &policy);
        assert_eq!((a.risk, a.action), (Risk::High, FraudAction::Reject));
        assert_eq!(a.score_bp, 0);
    }

    #[test]
    fn score_bands_and_actions() {
        let policy = FraudPolicy::default();
        assert_eq!(policy.risk(3999), Risk::Low);
        assert_eq!(policy.risk(bp(0.1) + bp(0.3)), Risk::Medium);
        assert_eq!(policy.risk(7000), Risk::Medium);
        assert_eq!(policy.risk(7001), Risk::High);
        assert_eq!(policy.action(Risk::Medium, false), FraudAction::Review);
        assert_eq!(policy.action(Risk::High, false), FraudAction::Hold);
        assert_eq!(policy.action(Risk::Low, true), FraudAction::Reject);
        // Ring: look-alikes + cadence + speed = 0.5 → review.
        let mut ring: Vec<Referee> = (0..6).map(|i| referee(&format!("r{i}"), &format!("anna.test{i}@gmail.com"), t(i))).collect();
        for r in &mut ring {
            r.first_touch_at = Some(r.signed_up_at);
            r.converted_at = Some(r.signed_up_at + Duration::seconds(30));
        }
        let a = assess(&ring[5], &ring, &referrer(), false, &policy);
        assert_eq!(a.score_bp, 5000);
        assert_eq!((a.risk, a.action), (Risk::Medium, FraudAction::Review));
        assert_eq!(a.related().len(), 5);
        assert_eq!(a.policy_version, FraudPolicy::default().version());
        let stricter = FraudPolicy { medium_from: 0.3, ..FraudPolicy::default() };
        assert_ne!(stricter.version(), a.policy_version);
    }

    #[test]
    fn fair_days_are_the_local_date_plus_grace() {
        let fair = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(within_fair_days(at("2026-03-14T11:00:00Z"), fair, 1));
        assert!(within_fair_days(at("2026-03-15T23:00:00Z"), fair, 1));
        assert!(within_fair_days(at("2026-03-13T00:30:00Z"), fair, 1));
        assert!(!within_fair_days(at("2026-03-17T13:00:00Z"), fair, 1));
        assert!(!within_fair_days(at("2026-03-12T09:00:00Z"), fair, 1));
    }

    #[test]
    fn policies_are_validated() {
        assert!(FraudPolicy::default().validate().is_ok());
        assert!(FraudPolicy { medium_from: 0.8, ..FraudPolicy::default() }.validate().is_err());
        let bad: Result<FraudPolicy, _> = serde_json::from_str(r#"{"velocity": {"wieght": 0.3}}"#);
        assert!(bad.is_err());
        let partial: FraudPolicy = serde_json::from_str(r#"{"velocity": {"max_signups": 20}}"#).unwrap();
        assert_eq!((partial.velocity.max_signups, partial.velocity.weight), (20, 0.30));
    }
}
