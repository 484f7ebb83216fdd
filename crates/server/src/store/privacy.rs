//! Personal data on request and by age (docs/privacy.md): an account's export and
//! deletion, a platform user's erasure, and the retention of visits and leads. SQL once
//! for both databases.
//!
//! Deletion anonymises rather than removes where other facts stand on a row: referrals,
//! touches, rewards and the ledger keep their ids, amounts and times (the books and the
//! platform's figures stay whole); names, addresses, messages, device names and the
//! app's records go.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::StoreResult;
use super::db::args;
use super::sql::SqlStore;

/// One section of an account's export: its name and the rows it lists (`$1`: the account).
/// Secrets (password and token hashes) are never selected; visitors' touches are not the
/// account's data (its referrals carry their counts).
const EXPORT: &[(&str, &str)] = &[
    ("account", "SELECT id, kind, email, business_name, vendor_type, couple_names, wedding_date, location, locale,
        show_on_leaderboards, created_at FROM accounts WHERE id = $1"),
    ("devices", "SELECT id, name, created_at, revoked_at FROM devices WHERE account_id = $1 ORDER BY created_at, id"),
    ("records", "SELECT entity, id, fields, deleted FROM sync_records WHERE account_id = $1 ORDER BY change"),
    ("fairs", "SELECT id, local_date FROM fairs WHERE account_id = $1 ORDER BY local_date, id"),
    ("referrals", "SELECT id, code, referee_type, method, campaign_id, fair_id, source_url, utm_source, utm_medium, utm_campaign,
        vendor_type, wedding_date, location, message, incentive_offered, incentive_amount_minor, incentive_currency,
        created_at, expires_at, clicked_at, signed_up_at, activated_at, converted_at, conversion_value_minor,
        conversion_currency, conversion_plan, unique_visits, qr_scans, leads
        FROM referrals WHERE referrer_id = $1 ORDER BY created_at, id"),
    ("leads", "SELECT l.id, r.code, l.couple_names, l.email, l.wedding_date, l.created_at
        FROM leads l JOIN referrals r ON r.id = l.referral_id WHERE r.referrer_id = $1 ORDER BY l.created_at, l.id"),
    ("invitation_emails", "SELECT id, referral_code, wedding_date, status, queued_at, sent_at
        FROM invitation_emails WHERE account_id = $1 ORDER BY queued_at, id"),
    ("rewards", "SELECT id, role, amount_minor, currency, value_minor, status, reason, referral_id, tier, campaign_id,
        created_at, earned_at, eligible_at, expires_at, claimed_at FROM rewards WHERE holder = $1 ORDER BY created_at, id"),
    ("ledger", "SELECT id, transfer_id, book, amount_minor, currency, cause, reward_id, memo, created_at
        FROM ledger_entries WHERE holder = $1 ORDER BY created_at, id"),
    ("balances", "SELECT book, currency, balance_minor FROM ledger_balances WHERE holder = $1 ORDER BY book, currency"),
    ("standing", "SELECT kind, successful_referrals, value_generated_minor, tier, reached_at FROM referrer_standing WHERE account_id = $1"),
    ("tiers", "SELECT tier, successful_referrals, reached_at FROM tier_changes WHERE account_id = $1 ORDER BY reached_at"),
    ("notifications", "SELECT id, kind, title, body, created_at, emailed_at FROM notifications WHERE account_id = $1 ORDER BY created_at, id"),
    ("notification_preferences", "SELECT kind, email, updated_at FROM notification_preferences WHERE account_id = $1 ORDER BY kind"),
    ("recommendations_made", "SELECT supplier_id, action, referral_id, created_at FROM recommendation_actions WHERE couple_id = $1 ORDER BY created_at"),
    ("friends_recommended_to", "SELECT referral_id, supplier_id, created_at FROM friend_recommendations WHERE couple_id = $1 ORDER BY created_at"),
    ("reputation", "SELECT response_rate_bp, avg_rating_cs, review_count, couples_served, updated_at FROM supplier_reputation WHERE account_id = $1"),
];

/// The statements that delete an account (`$1`: the account), in one transaction.
const DELETE_ACCOUNT: &[&str] = &[
    // The app's records on the server (contacts, booth leads, drafts, codes, fairs' notes).
    "DELETE FROM sync_records WHERE account_id = $1",
    "DELETE FROM sign_in_links WHERE account_id = $1",
    "DELETE FROM account_marks WHERE account_id = $1",
    "DELETE FROM notifications WHERE account_id = $1",
    "DELETE FROM notification_preferences WHERE account_id = $1",
    "DELETE FROM invitation_emails WHERE account_id = $1",
    "DELETE FROM email_pacing WHERE account_id = $1",
    "DELETE FROM supplier_reputation WHERE account_id = $1",
    // Couples who left their details through its codes gave them to this account: gone too.
    "UPDATE leads SET couple_names = '', email = '', wedding_date = NULL
     WHERE referral_id IN (SELECT id FROM referrals WHERE referrer_id = $1)",
    "UPDATE touches SET visitor_key = NULL, ip_hash = NULL, user_agent = NULL, referer = NULL WHERE referrer_id = $1",
];

/// The rest, which also take the time of deletion (`$2`).
const DELETE_ACCOUNT_AT: &[&str] = &[
    // Every device signed out; their names go.
    "UPDATE devices SET name = NULL, revoked_at = COALESCE(revoked_at, $2) WHERE account_id = $1",
    // Its codes stop working; what a referral said about a wedding goes.
    "UPDATE referrals SET message = NULL, location = NULL, wedding_date = NULL, source_url = NULL,
        expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END
     WHERE referrer_id = $1",
];

/// What an erased finding's sentence says instead: the rules' sentences quote addresses and
/// names ("the referee's address is the referrer's own (…)"); which signals fired, and how
/// strongly, stays for the review's record.
const ERASED_SENTENCE: &str = "(details erased at a person's request)";

/// Rewrites the sentences of the fraud findings `sql` selects (`id, signals`; `$1`, `$2`
/// as given) so no address or name stays in them.
async fn erase_fraud_sentences(tx: &mut super::db::Tx, sql: &'static str, args: &[super::db::Arg<'_>]) -> StoreResult<()> {
    use super::rows::Columns;
    for row in tx.fetch_all(sql, args).await? {
        let Ok(mut findings) = serde_json::from_str::<Value>(&row.text("signals")?) else { continue };
        for finding in findings.as_array_mut().into_iter().flatten() {
            if let Some(sentence) = finding.get_mut("sentence") {
                *sentence = Value::from(ERASED_SENTENCE);
            }
        }
        tx.execute("UPDATE fraud_assessments SET signals = $2 WHERE id = $1", &args![row.uuid("id")?, findings.to_string().as_str()]).await?;
    }
    Ok(())
}

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// Everything the server holds about the account, section by section.
    async fn export_account(&self, account_id: Uuid) -> StoreResult<Map<String, Value>>;
    /// Deletes the account's personal data (see the module); `false` if it was already
    /// deleted or never existed.
    async fn delete_account(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Erases a platform user: their email, their visits' fingerprints, their leads, the
    /// stored copies of their events and their fraud marks. `false` if unknown.
    async fn erase_platform_user(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Anonymises touches before `touches_before` and leads before `leads_before`:
    /// how many of each.
    async fn forget_old_visits(&self, touches_before: DateTime<Utc>, leads_before: DateTime<Utc>) -> StoreResult<(u64, u64)>;
}

#[async_trait]
impl PrivacyStore for SqlStore {
    async fn export_account(&self, account_id: Uuid) -> StoreResult<Map<String, Value>> {
        // One snapshot: the sections agree with each other.
        let mut tx = self.pool().begin_read().await?;
        let mut export = Map::new();
        for (section, sql) in EXPORT {
            let mut rows = Vec::new();
            for row in tx.fetch_all(sql, &args![account_id]).await? {
                let mut row = row.to_json()?;
                // The app's record fields are JSON kept as text: exported as JSON.
                if let Some(Value::String(fields)) = row.get("fields") {
                    if let Ok(parsed) = serde_json::from_str::<Value>(fields) {
                        row.insert("fields".into(), parsed);
                    }
                }
                rows.push(Value::Object(row));
            }
            let value = if *section == "account" { rows.into_iter().next().unwrap_or(Value::Null) } else { Value::Array(rows) };
            export.insert((*section).to_string(), value);
        }
        tx.commit().await?;
        Ok(export)
    }

    async fn delete_account(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        // An address nobody can own or sign in with, unique as the column wants.
        let placeholder = format!("deleted-{}@deleted.invalid", account_id.simple());
        let deleted = tx
            .execute(
                "UPDATE accounts SET email = $2, password_hash = '!', business_name = NULL, couple_names = NULL,
                    wedding_date = NULL, location = NULL, locale = NULL, show_on_leaderboards = $3, deleted_at = $4
                 WHERE id = $1 AND deleted_at IS NULL",
                &args![account_id, placeholder.as_str(), false, now],
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        for sql in DELETE_ACCOUNT {
            tx.execute(sql, &args![account_id]).await?;
        }
        super::dialect::lock_referrals_in_order(&mut tx, super::dialect::ReferralsOf::Referrer(account_id)).await?;
        for sql in DELETE_ACCOUNT_AT {
            tx.execute(sql, &args![account_id, now]).await?;
        }
        erase_fraud_sentences(&mut tx, "SELECT id, signals FROM fraud_assessments WHERE referrer_id = $1", &args![account_id]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn erase_platform_user(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool().begin_write().await?;
        let Some(user) = tx.fetch_optional("SELECT email FROM platform_users WHERE user_id = $1", &args![user_id]).await? else {
            return Ok(false);
        };
        use super::rows::Columns;
        let email = user.opt_text("email")?;
        // Their leads: linked through their touches, or given with their email.
        tx.execute(
            "UPDATE leads SET couple_names = '', email = '', wedding_date = NULL
             WHERE touch_id IN (SELECT id FROM touches WHERE platform_user_id = $1) OR (email = $2 AND email <> '')",
            &args![user_id, email.as_deref().map(str::to_lowercase).as_deref()],
        )
        .await?;
        tx.execute(
            "UPDATE touches SET visitor_key = NULL, ip_hash = NULL, user_agent = NULL, referer = NULL WHERE platform_user_id = $1",
            &args![user_id],
        )
        .await?;
        tx.execute("UPDATE platform_users SET email = NULL WHERE user_id = $1", &args![user_id]).await?;
        let erased = serde_json::json!({"erased_at": super::time::to_text(now)}).to_string();
        tx.execute("UPDATE events SET payload = $2 WHERE platform_user_id = $1", &args![user_id, erased.as_str()]).await?;
        tx.execute("DELETE FROM fraud_marks WHERE platform_user_id = $1", &args![user_id]).await?;
        // Their own assessments, and others' that quote their address (a look-alike).
        let quoted = email.as_deref().map(|e| format!("%{}%", e.to_lowercase()));
        erase_fraud_sentences(
            &mut tx,
            "SELECT id, signals FROM fraud_assessments WHERE platform_user_id = $1 OR LOWER(signals) LIKE $2",
            &args![user_id, quoted.as_deref()],
        )
        .await?;
        tx.execute("UPDATE fraud_subjects SET email_key = NULL, name_key = NULL WHERE platform_user_id = $1", &args![user_id]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn forget_old_visits(&self, touches_before: DateTime<Utc>, leads_before: DateTime<Utc>) -> StoreResult<(u64, u64)> {
        // In batches, each its own short transaction: the first round on a large database
        // must not hold the write lock for long. The predicates repeat the partial indexes'
        // (migration 22) so the planner uses them.
        const BATCH: i64 = 5_000;
        let mut touches = 0;
        loop {
            let changed = self
                .pool()
                .execute(
                    "UPDATE touches SET visitor_key = NULL, ip_hash = NULL, user_agent = NULL, referer = NULL
                     WHERE id IN (SELECT id FROM touches WHERE occurred_at < $1
                        AND (ip_hash IS NOT NULL OR visitor_key IS NOT NULL OR user_agent IS NOT NULL OR referer IS NOT NULL)
                        LIMIT $2)",
                    &args![touches_before, BATCH],
                )
                .await?;
            touches += changed;
            if changed < BATCH as u64 {
                break;
            }
        }
        let mut leads = 0;
        loop {
            let changed = self
                .pool()
                .execute(
                    "UPDATE leads SET couple_names = '', email = '', wedding_date = NULL
                     WHERE id IN (SELECT id FROM leads WHERE created_at < $1 AND email <> '' LIMIT $2)",
                    &args![leads_before, BATCH],
                )
                .await?;
            leads += changed;
            if changed < BATCH as u64 {
                break;
            }
        }
        Ok((touches, leads))
    }
}
