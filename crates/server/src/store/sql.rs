//! The store, written once for SQLite and PostgreSQL: every statement below is one text
//! both databases run. Values are encoded per database by `db`; the few statements that
//! must differ come from `dialect`.

use async_trait::async_trait;
use bouquet_core::api::AccountView;
use bouquet_core::{AccountKind, CodeNamespace, Money};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{Pool, Row, Tx, args, unique_violation};
use super::dialect::{self, lock_account};
use super::events::SqlEventTx;
use super::rewards_sql::SqlRewardTx;
use super::rows::{self, Columns};
use super::syncing::SqlSyncTx;
use super::*;

/// The one implementation of [`Store`], over either database.
pub struct SqlStore {
    pool: Pool,
    interest: Arc<super::webhooks::Interest>,
    visits: super::visits::VisitWriter,
}

impl SqlStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = dialect::connect(url).await?;
        let interest = Arc::new(super::webhooks::Interest::default());
        let visits = super::visits::VisitWriter::start(pool.clone(), interest.clone());
        Ok(Self { pool, interest, visits })
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(super) fn interest(&self) -> &super::webhooks::Interest {
        &self.interest
    }
}

/// The account columns of [`rows::account`].
macro_rules! account_columns {
    () => {
        "id, kind, email, business_name, vendor_type, couple_names, wedding_date, location, locale, created_at"
    };
}

/// A referral with its referrer's display name, as [`rows::referral`] reads it.
macro_rules! referral_select {
    () => {
        "SELECT r.*, COALESCE(a.business_name, a.couple_names, CASE WHEN a.deleted_at IS NULL THEN a.email ELSE 'a former Bouquet member' END) AS referrer_name
         FROM referrals r JOIN accounts a ON a.id = r.referrer_id "
    };
}

/// Inserts a referral and counts it in the referrer's stats.
pub(super) async fn insert_referral(tx: &mut Tx, r: &NewReferral) -> StoreResult<()> {
    // The referral's trigger takes the referrer's period marks (migration 12). Writers of
    // one referrer queue here first, so two of them making referrals in several periods
    // (a device's push, an API call) never hold each other's marks in opposite orders.
    lock_account(tx, r.referrer_id).await?;
    tx.execute(
        "INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, campaign_id, source_url,
            utm_source, utm_medium, utm_campaign, vendor_type, wedding_date, location, message, incentive_offered,
            incentive_amount_minor, incentive_currency, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        &args![
            r.id,
            &r.code,
            r.referrer_id,
            r.referrer_type.as_str(),
            r.referee_type.as_str(),
            &r.method,
            r.campaign_id,
            &r.source_url,
            &r.utm_source,
            &r.utm_medium,
            &r.utm_campaign,
            &r.vendor_type,
            r.wedding_date,
            &r.location,
            &r.message,
            &r.incentive_offered,
            r.incentive_amount.as_ref().map(|m| m.amount_minor),
            r.incentive_amount.as_ref().map(|m| m.currency.as_str()),
            r.created_at,
            r.expires_at,
        ],
    )
    .await
    .map_err(|e| unique_violation(e, "a referral with this code"))?;
    let event = serde_json::json!({
        "id": r.id, "code": &r.code, "referrer_id": r.referrer_id, "referrer_type": r.referrer_type.as_str(),
        "referee_type": r.referee_type.as_str(), "method": &r.method, "campaign_id": r.campaign_id,
        "created_at": r.created_at, "expires_at": r.expires_at,
    });
    super::webhooks::emit(tx, bouquet_core::webhooks::EventType::ReferralCreated, &event, r.created_at).await?;
    for campaign in r.campaign_id.iter().chain(r.seasonal_campaigns.iter().filter(|c| Some(**c) != r.campaign_id)) {
        tx.execute("UPDATE campaigns SET referrals = referrals + 1 WHERE id = $1", &args![*campaign]).await?;
    }
    tx.execute(
        "UPDATE referral_stats SET total_referrals = total_referrals + 1,
            last_referral_at = CASE WHEN last_referral_at IS NULL OR last_referral_at < $2 THEN $2 ELSE last_referral_at END,
            updated_at = $3
         WHERE account_id = $1",
        &args![r.referrer_id, r.created_at, Utc::now()],
    )
    .await?;
    Ok(())
}

/// Inserts a fresh random namespace for the account (and device), retrying on the rare
/// collision with an existing one.
async fn allocate_namespace(tx: &mut Tx, account_id: Uuid, device_id: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<CodeNamespace> {
    loop {
        let ns = CodeNamespace::random();
        let inserted = tx
            .execute(
                "INSERT INTO code_namespaces (namespace, account_id, device_id, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (namespace) DO NOTHING",
                &args![ns.as_str(), account_id, device_id, now],
            )
            .await?;
        if inserted == 1 {
            return Ok(ns);
        }
    }
}

fn namespace(row: &Row) -> StoreResult<CodeNamespace> {
    CodeNamespace::parse(&row.text("namespace")?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const SERVER_NAMESPACE: &str = "SELECT namespace FROM code_namespaces WHERE account_id = $1 AND device_id IS NULL";

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.pool.dialect().name()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.pool.fetch_optional("SELECT 1 AS one", &[]).await?;
        Ok(())
    }

    async fn create_account(&self, a: NewAccount) -> StoreResult<AccountView> {
        let mut tx = self.pool.begin_write().await?;
        tx.execute(
            "INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, couple_names, wedding_date, location, locale, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &args![
                a.id,
                a.kind.as_str(),
                &a.email,
                &a.password_hash,
                &a.business_name,
                &a.vendor_type,
                &a.couple_names,
                a.wedding_date,
                &a.location,
                &a.locale,
                a.created_at,
            ],
        )
        .await
        .map_err(|e| unique_violation(e, "an account with this email"))?;
        if a.kind != AccountKind::Admin {
            tx.execute(
                "INSERT INTO referral_stats (account_id, user_type, updated_at) VALUES ($1, $2, $3)",
                &args![a.id, a.kind.as_str(), a.created_at],
            )
            .await?;
        }
        let row = tx.fetch_one(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1"), &args![a.id]).await?;
        tx.commit().await?;
        rows::account(&row)
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<(AccountView, String)>> {
        let row = self
            .pool
            .fetch_optional(concat!("SELECT ", account_columns!(), ", password_hash FROM accounts WHERE email = $1"), &args![email])
            .await?;
        row.map(|r| Ok((rows::account(&r)?, r.text("password_hash")?))).transpose()
    }

    async fn account(&self, id: Uuid) -> StoreResult<Option<AccountView>> {
        let row = self.pool.fetch_optional(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1"), &args![id]).await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn set_locale(&self, account_id: Uuid, locale: Option<&str>) -> StoreResult<()> {
        self.pool.execute("UPDATE accounts SET locale = $2 WHERE id = $1", &args![account_id, locale]).await?;
        Ok(())
    }

    async fn begin_sign_in(&self, email_hash: &str, client_hash: &str, at: DateTime<Utc>, forget_before: DateTime<Utc>) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        let mut tx = self.pool.begin_write().await?;
        let row = tx
            .fetch_one(
                "INSERT INTO sign_in_failures (email_hash, client_hash, failures, last_failed_at) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (email_hash, client_hash) DO UPDATE SET
                     failures = CASE WHEN sign_in_failures.last_failed_at < $4
                                       OR (sign_in_failures.locked_until IS NOT NULL AND sign_in_failures.locked_until <= $3)
                                     THEN 1 ELSE sign_in_failures.failures + 1 END,
                     locked_until = CASE WHEN sign_in_failures.locked_until <= $3 THEN NULL ELSE sign_in_failures.locked_until END,
                     last_failed_at = $3
                 RETURNING failures, locked_until",
                &args![email_hash, client_hash, at, forget_before],
            )
            .await?;
        let answer = (row.int("failures")?, row.opt_time("locked_until")?);
        tx.commit().await?;
        Ok(answer)
    }

    async fn lock_sign_in(&self, email_hash: &str, client_hash: &str, until: DateTime<Utc>) -> StoreResult<()> {
        self.pool
            .execute("UPDATE sign_in_failures SET locked_until = $3 WHERE email_hash = $1 AND client_hash = $2", &args![email_hash, client_hash, until])
            .await?;
        Ok(())
    }

    async fn clear_sign_in_failures(&self, email_hash: &str, client_hash: Option<&str>) -> StoreResult<()> {
        self.pool
            .execute("DELETE FROM sign_in_failures WHERE email_hash = $1 AND ($2 IS NULL OR client_hash = $2)", &args![email_hash, client_hash])
            .await?;
        Ok(())
    }

    async fn create_device(&self, account_id: Uuid, name: Option<&str>, token_hash: &str) -> StoreResult<(Uuid, CodeNamespace)> {
        let now = Utc::now();
        let device_id = Uuid::now_v7();
        let mut tx = self.pool.begin_write().await?;
        tx.execute(
            "INSERT INTO devices (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            &args![device_id, account_id, name, token_hash, now],
        )
        .await?;
        let ns = allocate_namespace(&mut tx, account_id, Some(device_id), now).await?;
        tx.commit().await?;
        Ok((device_id, ns))
    }

    async fn revoke_device(&self, device_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.pool.execute("UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &args![device_id, at]).await?;
        Ok(())
    }

    async fn caller_by_token(&self, token_hash: &str) -> StoreResult<Option<Caller>> {
        let row = self
            .pool
            .fetch_optional(
                "SELECT d.id AS device_id, a.id, a.kind, a.email, a.business_name, a.vendor_type, a.couple_names,
                        a.wedding_date, a.location, a.locale, a.created_at
                 FROM devices d JOIN accounts a ON a.id = d.account_id
                 WHERE d.token_hash = $1 AND d.revoked_at IS NULL",
                &args![token_hash],
            )
            .await?;
        row.map(|r| Ok(Caller { account: rows::account(&r)?, device_id: r.uuid("device_id")? })).transpose()
    }

    async fn create_api_key(&self, name: &str, key_hash: &str) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        self.pool
            .execute(
                "INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
                &args![id, name, key_hash, Utc::now()],
            )
            .await
            .map_err(|e| unique_violation(e, "an API key with this name"))?;
        Ok(id)
    }

    async fn api_key_exists(&self, key_hash: &str) -> StoreResult<bool> {
        let row = self.pool.fetch_optional("SELECT 1 FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", &args![key_hash]).await?;
        Ok(row.is_some())
    }

    async fn server_namespace(&self, account_id: Uuid) -> StoreResult<CodeNamespace> {
        if let Some(row) = self.pool.fetch_optional(SERVER_NAMESPACE, &args![account_id]).await? {
            return namespace(&row);
        }
        let mut tx = self.pool.begin_write().await?;
        // Checked again under the account's lock: another request or process may have
        // allocated it meanwhile.
        lock_account(&mut tx, account_id).await?;
        let ns = match tx.fetch_optional(SERVER_NAMESPACE, &args![account_id]).await? {
            Some(row) => namespace(&row)?,
            None => allocate_namespace(&mut tx, account_id, None, Utc::now()).await?,
        };
        tx.commit().await?;
        Ok(ns)
    }

    async fn namespace_belongs_to(&self, namespace: &str, account_id: Uuid) -> StoreResult<bool> {
        let row = self
            .pool
            .fetch_optional("SELECT 1 FROM code_namespaces WHERE namespace = $1 AND account_id = $2", &args![namespace, account_id])
            .await?;
        Ok(row.is_some())
    }

    async fn shared_secret(&self, name: &str, candidate: &str) -> StoreResult<String> {
        self.pool
            .execute("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", &args![name, candidate])
            .await?;
        self.pool.fetch_one("SELECT value FROM server_secrets WHERE name = $1", &args![name]).await?.text("value")
    }

    async fn close(&self) {
        self.pool.close().await
    }

    async fn replace_shared_secret(&self, name: &str, value: &str) -> StoreResult<()> {
        self.pool
            .execute(
                "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &args![name, value],
            )
            .await?;
        Ok(())
    }

    async fn create_referral(&self, r: NewReferral) -> StoreResult<StoredReferral> {
        let mut tx = self.pool.begin_write().await?;
        insert_referral(&mut tx, &r).await?;
        let row = tx.fetch_one(concat!(referral_select!(), "WHERE r.id = $1"), &args![r.id]).await?;
        tx.commit().await?;
        rows::referral(&row)
    }

    async fn referral_by_code(&self, code: &str) -> StoreResult<Option<StoredReferral>> {
        let row = self.pool.fetch_optional(concat!(referral_select!(), "WHERE r.code = $1"), &args![code]).await?;
        row.as_ref().map(rows::referral).transpose()
    }

    async fn list_referrals(&self, referrer_id: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<StoredReferral>> {
        let rows = match after {
            None => {
                self.pool
                    .fetch_all(
                        concat!(referral_select!(), "WHERE r.referrer_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2"),
                        &args![referrer_id, limit],
                    )
                    .await?
            }
            Some((at, id)) => {
                self.pool
                    .fetch_all(
                        concat!(
                            referral_select!(),
                            "WHERE r.referrer_id = $1 AND (r.created_at < $2 OR (r.created_at = $2 AND r.id < $3))
                             ORDER BY r.created_at DESC, r.id DESC LIMIT $4"
                        ),
                        &args![referrer_id, at, id, limit],
                    )
                    .await?
            }
        };
        rows.iter().map(rows::referral).collect()
    }

    async fn record_visit(&self, v: NewVisit, unique_window: chrono::Duration) -> StoreResult<bool> {
        self.visits.record(v, unique_window).await
    }

    async fn touch(&self, touch_id: Uuid) -> StoreResult<Option<(Uuid, DateTime<Utc>)>> {
        let row = self.pool.fetch_optional("SELECT referral_id, occurred_at FROM touches WHERE id = $1", &args![touch_id]).await?;
        row.map(|r| Ok((r.uuid("referral_id")?, r.time("occurred_at")?))).transpose()
    }

    async fn record_lead(&self, l: NewLead) -> StoreResult<()> {
        let mut tx = self.pool.begin_write().await?;
        tx.execute(
            "INSERT INTO leads (id, touch_id, referral_id, couple_names, email, wedding_date, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &args![l.id, l.touch_id, l.referral_id, &l.couple_names, &l.email, l.wedding_date, l.created_at],
        )
        .await?;
        tx.execute("UPDATE referrals SET leads = leads + 1 WHERE id = $1", &args![l.referral_id]).await?;
        let payload = super::webhooks::lead_payload(l.id, l.touch_id, l.referral_id, l.wedding_date, "landing_page", l.created_at);
        super::webhooks::emit(&mut tx, bouquet_core::webhooks::EventType::LeadCreated, &payload, l.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_event(&self) -> StoreResult<Box<dyn EventTx>> {
        Ok(Box::new(SqlEventTx::new(SqlRewardTx::new(self.pool.begin_write().await?))))
    }

    async fn stats(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<StatsRow> {
        let base = self
            .pool
            .fetch_optional(
                "SELECT s.total_referrals, s.successful_referrals, s.total_time_to_convert_seconds, s.last_referral_at,
                    (SELECT COUNT(*) FROM referrals r WHERE r.referrer_id = s.account_id
                        AND (r.expires_at IS NULL OR r.expires_at > $2)) AS active_referrals,
                    (SELECT CAST(COALESCE(SUM(unique_visits), 0) AS BIGINT) FROM referrals r WHERE r.referrer_id = s.account_id) AS unique_visits,
                    (SELECT CAST(COALESCE(SUM(qr_scans), 0) AS BIGINT) FROM referrals r WHERE r.referrer_id = s.account_id) AS qr_scans,
                    (SELECT CAST(COALESCE(SUM(leads), 0) AS BIGINT) FROM referrals r WHERE r.referrer_id = s.account_id) AS leads,
                    (SELECT COUNT(DISTINCT t.platform_user_id) FROM touches t JOIN platform_users u ON u.user_id = t.platform_user_id
                        WHERE t.referrer_id = s.account_id AND u.signed_up_at IS NOT NULL) AS signups,
                    (SELECT COUNT(DISTINCT t.platform_user_id) FROM touches t JOIN platform_users u ON u.user_id = t.platform_user_id
                        WHERE t.referrer_id = s.account_id AND u.activated_at IS NOT NULL) AS activations
                 FROM referral_stats s WHERE s.account_id = $1",
                &args![account_id, now],
            )
            .await?;
        let Some(base) = base else { return Ok(StatsRow::default()) };
        let values = self
            .pool
            .fetch_all("SELECT currency, total_minor FROM referral_stats_value WHERE account_id = $1 ORDER BY currency", &args![account_id])
            .await?;
        Ok(StatsRow {
            total_referrals: base.int("total_referrals")?,
            active_referrals: base.int("active_referrals")?,
            unique_visits: base.int("unique_visits")?,
            qr_scans: base.int("qr_scans")?,
            leads: base.int("leads")?,
            signups: base.int("signups")?,
            activations: base.int("activations")?,
            successful_referrals: base.int("successful_referrals")?,
            total_time_to_convert_seconds: base.int("total_time_to_convert_seconds")?,
            last_referral_at: base.opt_time("last_referral_at")?,
            value_generated: values
                .iter()
                .map(|r| Ok(Money { currency: r.text("currency")?, amount_minor: r.int("total_minor")? }))
                .collect::<StoreResult<_>>()?,
        })
    }

    async fn begin_sync(&self) -> StoreResult<Box<dyn SyncTx>> {
        Ok(Box::new(SqlSyncTx { tx: self.pool.begin_write().await? }))
    }

    async fn sync_position(&self, account_id: Uuid, device_id: Uuid) -> StoreResult<(i64, i64)> {
        let row = self
            .pool
            .fetch_one(
                "SELECT d.applied_through, COALESCE((SELECT last_change FROM sync_accounts WHERE account_id = $1), 0) AS last_change
                 FROM devices d WHERE d.id = $2 AND d.account_id = $1",
                &args![account_id, device_id],
            )
            .await?;
        Ok((row.int("applied_through")?, row.int("last_change")?))
    }

    async fn pull(&self, account_id: Uuid, after: i64, limit: i64) -> StoreResult<Vec<Record>> {
        let rows = self
            .pool
            .fetch_all(
                "SELECT entity, id, fields, clocks, deleted, change FROM sync_records
                 WHERE account_id = $1 AND change > $2 ORDER BY change LIMIT $3",
                &args![account_id, after, limit],
            )
            .await?;
        rows.iter().map(rows::sync_record).collect()
    }

    async fn code_statuses(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<CodeStatus>> {
        let rows = self
            .pool
            .fetch_all(
                // The supplier sees where review stands, never why (docs/fraud.md).
                "SELECT code, unique_visits, qr_scans, leads, signed_up_at, converted_at, expires_at,
                    CASE WHEN EXISTS (SELECT 1 FROM fraud_subjects s WHERE s.referral_id = referrals.id AND s.action IN ('review', 'hold')) THEN 'under_review'
                         WHEN EXISTS (SELECT 1 FROM fraud_subjects s WHERE s.referral_id = referrals.id AND s.action = 'reject') THEN 'rejected'
                         WHEN EXISTS (SELECT 1 FROM fraud_subjects s WHERE s.referral_id = referrals.id) THEN 'approved'
                         ELSE 'pending' END AS fraud_status
                 FROM referrals
                 WHERE referrer_id = $1 AND (unique_visits > 0 OR leads > 0 OR signed_up_at IS NOT NULL
                    OR converted_at IS NOT NULL OR expires_at <= $2 OR id IN (SELECT referral_id FROM rewards WHERE holder = $1))
                 ORDER BY code",
                &args![account_id, now],
            )
            .await?;
        let mut statuses = rows.iter().map(|r| rows::code_status(r, now)).collect::<StoreResult<Vec<_>>>()?;
        let earned = self
            .pool
            .fetch_all(
                "SELECT r.code, w.amount_minor, w.currency, w.status FROM rewards w JOIN referrals r ON r.id = w.referral_id
                 WHERE w.holder = $1 AND w.role = 'referrer' ORDER BY w.created_at, w.id",
                &args![account_id],
            )
            .await?;
        for row in &earned {
            let code = row.text("code")?;
            if let Some(status) = statuses.iter_mut().find(|s| s.code == code) {
                status.rewards.push(bouquet_core::sync::CodeReward {
                    amount: Money { amount_minor: row.int("amount_minor")?, currency: row.text("currency")? },
                    status: row.parsed("status", bouquet_core::reward_status::RewardStatus::parse)?,
                });
            }
        }
        Ok(statuses)
    }
}
