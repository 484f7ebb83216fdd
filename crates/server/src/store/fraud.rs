//! Fraud detection's storage, in SQL once for both databases: referees as the rules see
//! them (`fraud_subjects`, `fraud_marks`), the referrers' own marks, every assessment,
//! and the review queue. The rules live in `bouquet_core::fraud`, their use in
//! `service::fraud`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::db::{Row, args};
use super::dialect::locking;
use super::rewards_sql::SqlRewardTx;
use super::rows::Columns;
use super::sql::SqlStore;
use super::StoreResult;

/// A referred platform user, as the rules compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudSubjectRow {
    pub platform_user_id: String,
    pub referrer_id: Uuid,
    pub referral_id: Option<Uuid>,
    pub email_key: Option<String>,
    pub name_key: Option<String>,
    pub signed_up_at: DateTime<Utc>,
    pub first_touch_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub fair_traffic: bool,
    pub score_bp: i64,
    /// The signals the current assessment fired (`velocity`, …).
    pub fired: Vec<String>,
    pub risk: String,
    /// The current action: `approve`, `review`, `hold` or `reject`.
    pub action: String,
    /// An operator decided: automatic assessments no longer change the action.
    pub decided: bool,
    pub assessed_at: DateTime<Utc>,
    /// `kind:value` marks (`ip:…`, `cookie:…`).
    pub marks: Vec<String>,
}

/// One assessment, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub platform_user_id: String,
    pub referrer_id: Uuid,
    /// `signup`, `convert` or `reassessment`.
    pub cause: String,
    pub score_bp: i64,
    pub risk: String,
    pub action: String,
    /// The signal findings, as JSON.
    pub signals: String,
    pub policy_version: String,
    pub assessed_at: DateTime<Utc>,
}

/// A case in the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    pub id: Uuid,
    pub platform_user_id: String,
    pub referrer_id: Uuid,
    pub assessment_id: Uuid,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The operator; `None` for a decision the policy took (a hard rule).
    pub decided_by: Option<Uuid>,
    pub note: Option<String>,
}

/// One of a referee's touches, with what fairs need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchFact {
    pub referral_id: Uuid,
    pub referrer_id: Uuid,
    /// A code the user typed (its touch is dated by the event that carried it).
    pub typed_code: bool,
    pub occurred_at: DateTime<Utc>,
    pub ip_hash: Option<String>,
    pub visitor_key: Option<String>,
    /// The local date of the fair the touch's code is tied to.
    pub fair_date: Option<NaiveDate>,
}

fn subject(row: &Row) -> StoreResult<FraudSubjectRow> {
    Ok(FraudSubjectRow {
        platform_user_id: row.text("platform_user_id")?,
        referrer_id: row.uuid("referrer_id")?,
        referral_id: row.opt_uuid("referral_id")?,
        email_key: row.opt_text("email_key")?,
        name_key: row.opt_text("name_key")?,
        signed_up_at: row.time("signed_up_at")?,
        first_touch_at: row.opt_time("first_touch_at")?,
        converted_at: row.opt_time("converted_at")?,
        fair_traffic: row.flag("fair_traffic")?,
        score_bp: row.int("score_bp")?,
        fired: row.text("fired")?.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        risk: row.text("risk")?,
        action: row.text("action")?,
        decided: row.flag("decided")?,
        assessed_at: row.time("assessed_at")?,
        marks: marks_column(row)?,
    })
}

/// The marks a statement aggregated into its `marks` column (`kind:value`, space-separated:
/// neither part holds a space, as IP marks are hashes and a visitor cookie with a space is
/// never taken, `http::landing::visitor`), so a subject or an account and its evidence are
/// one statement.
fn marks_column(row: &Row) -> StoreResult<Vec<String>> {
    Ok(row.opt_text("marks")?.map(|m| m.split(' ').map(str::to_string).collect()).unwrap_or_default())
}

fn assessment(row: &Row) -> StoreResult<AssessmentRow> {
    Ok(AssessmentRow {
        id: row.uuid("id")?,
        platform_user_id: row.text("platform_user_id")?,
        referrer_id: row.uuid("referrer_id")?,
        cause: row.text("cause")?,
        score_bp: row.int("score_bp")?,
        risk: row.text("risk")?,
        action: row.text("action")?,
        signals: row.text("signals")?,
        policy_version: row.text("policy_version")?,
        assessed_at: row.time("assessed_at")?,
    })
}

fn review(row: &Row) -> StoreResult<ReviewRow> {
    Ok(ReviewRow {
        id: row.uuid("id")?,
        platform_user_id: row.text("platform_user_id")?,
        referrer_id: row.uuid("referrer_id")?,
        assessment_id: row.uuid("assessment_id")?,
        status: row.text("status")?,
        opened_at: row.time("opened_at")?,
        decided_at: row.opt_time("decided_at")?,
        decided_by: row.opt_uuid("decided_by")?,
        note: row.opt_text("note")?,
    })
}

/// Selects subjects (`s`) with their marks (see [`subject`]); a `WHERE` follows.
macro_rules! subjects_with_marks {
    ($where:literal) => {
        concat!(
            "SELECT s.*, (SELECT string_agg(m.kind || ':' || m.value, ' ') FROM fraud_marks m WHERE m.platform_user_id = s.platform_user_id) AS marks
             FROM fraud_subjects s ",
            $where
        )
    };
}

/// A referrer's referees in a time range with their marks. The marks are aggregated once
/// for the whole range and joined (a hash join), not looked up per referee as
/// [`subjects_with_marks`] does: a busy venue has hundreds of referees in range, and a
/// lookup each cost PostgreSQL's conversions more than the second round trip it saved.
const NEIGHBOURS: &str = "SELECT s.*, m.marks FROM fraud_subjects s
     LEFT JOIN (SELECT fm.platform_user_id, string_agg(fm.kind || ':' || fm.value, ' ') AS marks
                FROM fraud_marks fm JOIN fraud_subjects n ON n.platform_user_id = fm.platform_user_id
                WHERE n.referrer_id = $1 AND n.signed_up_at >= $2 AND n.signed_up_at <= $3
                GROUP BY fm.platform_user_id) m ON m.platform_user_id = s.platform_user_id
     WHERE s.referrer_id = $1 AND s.signed_up_at >= $2 AND s.signed_up_at <= $3";
const SUBJECT: &str = subjects_with_marks!("WHERE s.platform_user_id = $1");
const ASSESSMENTS_OF: &str =
    "SELECT * FROM fraud_assessments WHERE platform_user_id = $1 ORDER BY assessed_at DESC, id DESC LIMIT $2";

const MARKS_PER_INSERT: usize = 4;

/// Inserts `n` (1 to [`MARKS_PER_INSERT`]) marks of one user: `$1` the user, then each
/// mark's kind and value.
fn insert_marks_sql(n: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (1..=MARKS_PER_INSERT)
            .map(|n| {
                let rows: Vec<String> = (0..n).map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3)).collect();
                format!("INSERT INTO fraud_marks (platform_user_id, kind, value) VALUES {} ON CONFLICT DO NOTHING", rows.join(", "))
            })
            .collect()
    });
    &texts[n - 1]
}

/// The fraud side of an event's (or a decision's) transaction.
#[async_trait]
pub trait FraudTx: Send {
    /// Serialises assessments and decisions about one referrer's referees until commit
    /// (several server processes on PostgreSQL; SQLite has one writer anyway): a
    /// re-assessment never works from a snapshot another transaction is changing.
    async fn lock_referrer(&mut self, referrer_id: Uuid) -> StoreResult<()>;
    /// The user's touches, oldest first, with the fair their code is tied to.
    async fn touch_facts(&mut self, user_id: &str) -> StoreResult<Vec<TouchFact>>;
    /// The subject, locked until commit (two events of one user assess one after the other).
    async fn fraud_subject(&mut self, user_id: &str) -> StoreResult<Option<FraudSubjectRow>>;
    /// Inserts or replaces the subject's facts and current assessment (not its marks).
    async fn save_fraud_subject(&mut self, subject: &FraudSubjectRow) -> StoreResult<()>;
    /// Adds `kind:value` marks to the user (known ones are kept once).
    async fn add_fraud_marks(&mut self, user_id: &str, marks: &[String]) -> StoreResult<()>;
    /// The referrer's referees who signed up between `from` and `to`, with their marks.
    async fn fraud_neighbours(&mut self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<FraudSubjectRow>>;
    /// How many referred sign-ups the referrer had between `from` and `to`.
    async fn referred_signups(&mut self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64>;
    /// The account's email, its kind, its name, and its own `kind:value` marks seen since `since`.
    async fn referrer_identity(&mut self, account_id: Uuid, since: DateTime<Utc>) -> StoreResult<Option<(String, String, Option<String>, Vec<String>)>>;
    async fn insert_assessment(&mut self, assessment: &AssessmentRow) -> StoreResult<()>;
    /// Opens (or points at a newer assessment) the user's case, or records the policy's
    /// decision on it; a case an operator decided is left alone.
    async fn upsert_review(&mut self, review: &ReviewRow) -> StoreResult<()>;
    /// The case, locked until commit.
    async fn review_for_update(&mut self, id: Uuid) -> StoreResult<Option<ReviewRow>>;
    /// Decides a pending case (`false` if it was decided already).
    async fn decide_review(&mut self, id: Uuid, status: &str, by: Uuid, note: Option<&str>, at: DateTime<Utc>) -> StoreResult<bool>;
}

/// What the console and the API read.
#[async_trait]
pub trait FraudStore: Send + Sync {
    /// Cases with the assessment each stands on, newest first: `pending` ones, or decided
    /// ones (`approved` and `rejected`).
    async fn fraud_reviews(&self, pending: bool, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<(ReviewRow, AssessmentRow)>>;
    async fn fraud_review(&self, id: Uuid) -> StoreResult<Option<ReviewRow>>;
    async fn fraud_assessment(&self, id: Uuid) -> StoreResult<Option<AssessmentRow>>;
    /// The user's assessments, newest first.
    async fn fraud_assessments_of(&self, user_id: &str, limit: i64) -> StoreResult<Vec<AssessmentRow>>;
    async fn fraud_subject_of(&self, user_id: &str) -> StoreResult<Option<FraudSubjectRow>>;
    /// The referrer's referees between `from` and `to`, with their marks (evidence).
    async fn fraud_neighbours_of(&self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<FraudSubjectRow>>;
    /// Remembers that the account's own people use this mark (an IP hash on sign-in or
    /// an API call); refreshes when it was last seen.
    async fn record_account_mark(&self, account_id: Uuid, mark: &str, at: DateTime<Utc>) -> StoreResult<()>;
}

fn split_mark(mark: &str) -> Option<(&str, &str)> {
    mark.split_once(':').filter(|(kind, value)| ["ip", "cookie"].contains(kind) && !value.is_empty())
}

#[async_trait]
impl FraudTx for SqlRewardTx {
    async fn lock_referrer(&mut self, referrer_id: Uuid) -> StoreResult<()> {
        super::dialect::lock_account(&mut self.tx, referrer_id).await
    }

    async fn touch_facts(&mut self, user_id: &str) -> StoreResult<Vec<TouchFact>> {
        let rows = self
            .tx
            .fetch_all(
                "SELECT t.referral_id, t.referrer_id, t.channel, t.occurred_at, t.ip_hash, t.visitor_key, f.local_date
                 FROM touches t JOIN referrals r ON r.id = t.referral_id
                 LEFT JOIN fairs f ON f.id = r.fair_id AND f.account_id = r.referrer_id
                 WHERE t.platform_user_id = $1 ORDER BY t.occurred_at, t.id",
                &args![user_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TouchFact {
                    referral_id: r.uuid("referral_id")?,
                    referrer_id: r.uuid("referrer_id")?,
                    typed_code: r.text("channel")? == bouquet_core::Channel::DirectCode.as_str(),
                    occurred_at: r.time("occurred_at")?,
                    ip_hash: r.opt_text("ip_hash")?,
                    visitor_key: r.opt_text("visitor_key")?,
                    fair_date: r.opt_date("local_date")?,
                })
            })
            .collect()
    }

    async fn fraud_subject(&mut self, user_id: &str) -> StoreResult<Option<FraudSubjectRow>> {
        // Locks the subject's row only (`FOR UPDATE` takes the outer query's table).
        let sql = locking!(self.tx.dialect(), subjects_with_marks!("WHERE s.platform_user_id = $1"));
        self.tx.fetch_optional(sql, &args![user_id]).await?.as_ref().map(subject).transpose()
    }

    async fn save_fraud_subject(&mut self, s: &FraudSubjectRow) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO fraud_subjects (platform_user_id, referrer_id, referral_id, email_key, name_key, signed_up_at, first_touch_at,
                    converted_at, fair_traffic, score_bp, risk, action, decided, assessed_at, fired)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (platform_user_id) DO UPDATE SET referrer_id = excluded.referrer_id, referral_id = excluded.referral_id,
                    email_key = excluded.email_key, name_key = excluded.name_key, signed_up_at = excluded.signed_up_at,
                    first_touch_at = excluded.first_touch_at, converted_at = excluded.converted_at, fair_traffic = excluded.fair_traffic,
                    score_bp = excluded.score_bp, risk = excluded.risk, action = excluded.action, decided = excluded.decided,
                    assessed_at = excluded.assessed_at, fired = excluded.fired",
                &args![
                    &s.platform_user_id,
                    s.referrer_id,
                    s.referral_id,
                    s.email_key.as_deref(),
                    s.name_key.as_deref(),
                    s.signed_up_at,
                    s.first_touch_at,
                    s.converted_at,
                    s.fair_traffic,
                    s.score_bp,
                    &s.risk,
                    &s.action,
                    s.decided,
                    s.assessed_at,
                    s.fired.join(",").as_str(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn add_fraud_marks(&mut self, user_id: &str, marks: &[String]) -> StoreResult<()> {
        let marks: Vec<(&str, &str)> = marks.iter().filter_map(|m| split_mark(m)).collect();
        // A statement per four (an event brings a handful: the user's IPs and cookies).
        for chunk in marks.chunks(MARKS_PER_INSERT) {
            let mut values = Vec::from(args![user_id]);
            for &(kind, value) in chunk {
                values.extend(args![kind, value]);
            }
            self.tx.execute(insert_marks_sql(chunk.len()), &values).await?;
        }
        Ok(())
    }

    async fn fraud_neighbours(&mut self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<FraudSubjectRow>> {
        self.tx.fetch_all(NEIGHBOURS, &args![referrer_id, from, to]).await?.iter().map(subject).collect()
    }

    async fn referred_signups(&mut self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64> {
        let row = self
            .tx
            .fetch_one(
                "SELECT COUNT(*) AS n FROM fraud_subjects WHERE referrer_id = $1 AND signed_up_at >= $2 AND signed_up_at < $3",
                &args![referrer_id, from, to],
            )
            .await?;
        row.int("n")
    }

    async fn referrer_identity(&mut self, account_id: Uuid, since: DateTime<Utc>) -> StoreResult<Option<(String, String, Option<String>, Vec<String>)>> {
        // The account and its recent marks in one statement.
        let Some(row) = self
            .tx
            .fetch_optional(
                "SELECT a.email, a.kind, COALESCE(a.business_name, a.couple_names) AS name,
                    (SELECT string_agg(m.kind || ':' || m.value, ' ') FROM account_marks m WHERE m.account_id = a.id AND m.last_seen >= $2) AS marks
                 FROM accounts a WHERE a.id = $1",
                &args![account_id, since],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((row.text("email")?, row.text("kind")?, row.opt_text("name")?, marks_column(&row)?)))
    }

    async fn insert_assessment(&mut self, a: &AssessmentRow) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO fraud_assessments (id, platform_user_id, referrer_id, cause, score_bp, risk, action, signals, policy_version, assessed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &args![a.id, &a.platform_user_id, a.referrer_id, &a.cause, a.score_bp, &a.risk, &a.action, &a.signals, &a.policy_version, a.assessed_at],
            )
            .await?;
        Ok(())
    }

    async fn upsert_review(&mut self, r: &ReviewRow) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO fraud_reviews (id, platform_user_id, referrer_id, assessment_id, status, opened_at, decided_at, decided_by, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (platform_user_id) DO UPDATE SET assessment_id = excluded.assessment_id, referrer_id = excluded.referrer_id,
                    status = excluded.status, decided_at = excluded.decided_at, note = excluded.note
                 WHERE fraud_reviews.status = 'pending'",
                &args![r.id, &r.platform_user_id, r.referrer_id, r.assessment_id, &r.status, r.opened_at, r.decided_at, r.decided_by, r.note.as_deref()],
            )
            .await?;
        Ok(())
    }

    async fn review_for_update(&mut self, id: Uuid) -> StoreResult<Option<ReviewRow>> {
        let sql = locking!(self.tx.dialect(), "SELECT * FROM fraud_reviews WHERE id = $1");
        self.tx.fetch_optional(sql, &args![id]).await?.as_ref().map(review).transpose()
    }

    async fn decide_review(&mut self, id: Uuid, status: &str, by: Uuid, note: Option<&str>, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = self
            .tx
            .execute(
                "UPDATE fraud_reviews SET status = $2, decided_by = $3, note = $4, decided_at = $5 WHERE id = $1 AND status = 'pending'",
                &args![id, status, by, note, at],
            )
            .await?;
        Ok(changed == 1)
    }
}

#[async_trait]
impl FraudStore for SqlStore {
    async fn fraud_reviews(&self, pending: bool, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<(ReviewRow, AssessmentRow)>> {
        // One statement per shape (pending or decided, first page or after a cursor).
        macro_rules! page {
            ($status:literal, $cursor:literal, $limit:literal) => {
                concat!(
                    "SELECT r.*, a.cause, a.score_bp, a.risk, a.action, a.signals, a.policy_version, a.assessed_at
                     FROM fraud_reviews r JOIN fraud_assessments a ON a.id = r.assessment_id WHERE r.status ", $status, $cursor,
                    " ORDER BY r.opened_at DESC, r.id DESC LIMIT ", $limit
                )
            };
        }
        let rows = match (pending, after) {
            (true, None) => self.pool().fetch_all(page!("= 'pending'", "", "$1"), &args![limit]).await?,
            (false, None) => self.pool().fetch_all(page!("<> 'pending'", "", "$1"), &args![limit]).await?,
            (true, Some((at, id))) => {
                let sql = page!("= 'pending'", " AND (r.opened_at < $1 OR (r.opened_at = $1 AND r.id < $2))", "$3");
                self.pool().fetch_all(sql, &args![at, id, limit]).await?
            }
            (false, Some((at, id))) => {
                let sql = page!("<> 'pending'", " AND (r.opened_at < $1 OR (r.opened_at = $1 AND r.id < $2))", "$3");
                self.pool().fetch_all(sql, &args![at, id, limit]).await?
            }
        };
        rows.iter()
            .map(|row| {
                let case = review(row)?;
                let a = AssessmentRow {
                    id: case.assessment_id,
                    platform_user_id: case.platform_user_id.clone(),
                    referrer_id: case.referrer_id,
                    cause: row.text("cause")?,
                    score_bp: row.int("score_bp")?,
                    risk: row.text("risk")?,
                    action: row.text("action")?,
                    signals: row.text("signals")?,
                    policy_version: row.text("policy_version")?,
                    assessed_at: row.time("assessed_at")?,
                };
                Ok((case, a))
            })
            .collect()
    }

    async fn fraud_review(&self, id: Uuid) -> StoreResult<Option<ReviewRow>> {
        self.pool().fetch_optional("SELECT * FROM fraud_reviews WHERE id = $1", &args![id]).await?.as_ref().map(review).transpose()
    }

    async fn fraud_assessment(&self, id: Uuid) -> StoreResult<Option<AssessmentRow>> {
        self.pool().fetch_optional("SELECT * FROM fraud_assessments WHERE id = $1", &args![id]).await?.as_ref().map(assessment).transpose()
    }

    async fn fraud_assessments_of(&self, user_id: &str, limit: i64) -> StoreResult<Vec<AssessmentRow>> {
        let rows = self.pool().fetch_all(ASSESSMENTS_OF, &args![user_id, limit]).await?;
        rows.iter().map(assessment).collect()
    }

    async fn fraud_subject_of(&self, user_id: &str) -> StoreResult<Option<FraudSubjectRow>> {
        self.pool().fetch_optional(SUBJECT, &args![user_id]).await?.as_ref().map(subject).transpose()
    }

    async fn fraud_neighbours_of(&self, referrer_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<FraudSubjectRow>> {
        self.pool().fetch_all(NEIGHBOURS, &args![referrer_id, from, to]).await?.iter().map(subject).collect()
    }

    async fn record_account_mark(&self, account_id: Uuid, mark: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let Some((kind, value)) = split_mark(mark) else { return Ok(()) };
        self.pool()
            .execute(
                "INSERT INTO account_marks (account_id, kind, value, last_seen) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, kind, value) DO UPDATE SET last_seen = excluded.last_seen",
                &args![account_id, kind, value, at],
            )
            .await?;
        Ok(())
    }
}
