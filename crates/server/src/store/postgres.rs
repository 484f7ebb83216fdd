//! The scale-out backend: PostgreSQL, shared by any number of stateless server processes.
//! Exactly-once comes from unique indexes plus `ON CONFLICT DO NOTHING` (a second writer
//! of the same key waits for the first to commit, then sees its row); ids are native
//! uuid, times timestamptz.

use async_trait::async_trait;
use bouquet_core::api::{AccountView, ConversionView};
use bouquet_core::attribution::{Channel, Touch};
use bouquet_core::{AccountKind, CodeNamespace, Money};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::rows::{self, ACCOUNT_COLUMNS, Columns};
use super::*;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
        // sqlx takes an advisory lock while migrating, so processes starting together are safe.
        sqlx::migrate!("../../migrations/server-postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}




/// Inserts a referral and counts it in the referrer's stats.
async fn insert_referral(conn: &mut sqlx::PgConnection, r: &NewReferral) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, campaign_id, source_url,
            utm_source, utm_medium, utm_campaign, vendor_type, wedding_date, location, message, incentive_offered,
            incentive_amount_minor, incentive_currency, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(r.id)
    .bind(&r.code)
    .bind(r.referrer_id)
    .bind(r.referrer_type.as_str())
    .bind(r.referee_type.as_str())
    .bind(&r.method)
    .bind(r.campaign_id)
    .bind(&r.source_url)
    .bind(&r.utm_source)
    .bind(&r.utm_medium)
    .bind(&r.utm_campaign)
    .bind(&r.vendor_type)
    .bind(r.wedding_date)
    .bind(&r.location)
    .bind(&r.message)
    .bind(&r.incentive_offered)
    .bind(r.incentive_amount.as_ref().map(|m| m.amount_minor))
    .bind(r.incentive_amount.as_ref().map(|m| m.currency.clone()))
    .bind(r.created_at)
    .bind(r.expires_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "a referral with this code"))?;
    sqlx::query(
        "UPDATE referral_stats SET total_referrals = total_referrals + 1,
            last_referral_at = GREATEST(last_referral_at, $2), updated_at = $3
         WHERE account_id = $1",
    )
    .bind(r.referrer_id)
    .bind(r.created_at)
    .bind(Utc::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Columns for PgRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.try_get(col)?)
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.try_get(col)?)
    }
    fn opt_time(&self, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.try_get(col)?)
    }
    fn opt_date(&self, col: &str) -> StoreResult<Option<chrono::NaiveDate>> {
        Ok(self.try_get(col)?)
    }
}

fn unique_violation(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(err),
    }
}



macro_rules! referral_select {
    () => {
        "SELECT r.*, COALESCE(a.business_name, a.couple_names, a.email) AS referrer_name
         FROM referrals r JOIN accounts a ON a.id = r.referrer_id "
    };
}


/// Inserts a fresh random namespace for the account (and device), retrying on the rare
/// collision with an existing one.
async fn allocate_namespace(
    tx: &mut Transaction<'static, Postgres>,
    account_id: Uuid,
    device_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> StoreResult<CodeNamespace> {
    loop {
        let ns = CodeNamespace::random();
        let inserted = sqlx::query(
            "INSERT INTO code_namespaces (namespace, account_id, device_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace) DO NOTHING",
        )
        .bind(ns.as_str())
        .bind(account_id)
        .bind(device_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(ns);
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, a: NewAccount) -> StoreResult<AccountView> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, couple_names, wedding_date, location, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id)
        .bind(a.kind.as_str())
        .bind(&a.email)
        .bind(&a.password_hash)
        .bind(&a.business_name)
        .bind(&a.vendor_type)
        .bind(&a.couple_names)
        .bind(a.wedding_date)
        .bind(&a.location)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "an account with this email"))?;
        if a.kind != AccountKind::Admin {
            sqlx::query("INSERT INTO referral_stats (account_id, user_type, updated_at) VALUES ($1, $2, $3)")
                .bind(a.id)
                .bind(a.kind.as_str())
                .bind(a.created_at)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1")))
            .bind(a.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        rows::account(&row)
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<(AccountView, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE email = $1")))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((rows::account(&r)?, r.try_get("password_hash")?))).transpose()
    }

    async fn account(&self, id: Uuid) -> StoreResult<Option<AccountView>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn create_device(&self, account_id: Uuid, name: Option<&str>, token_hash: &str) -> StoreResult<(Uuid, CodeNamespace)> {
        let now = Utc::now();
        let device_id = Uuid::now_v7();
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO devices (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(device_id)
            .bind(account_id)
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let ns = allocate_namespace(&mut tx, account_id, Some(device_id), now).await?;
        tx.commit().await?;
        Ok((device_id, ns))
    }

    async fn caller_by_token(&self, token_hash: &str) -> StoreResult<Option<Caller>> {
        let row = sqlx::query(
            "SELECT d.id AS device_id, a.id, a.kind, a.email, a.business_name, a.vendor_type, a.couple_names,
                    a.wedding_date, a.location, a.created_at
             FROM devices d JOIN accounts a ON a.id = d.account_id
             WHERE d.token_hash = $1 AND d.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(Caller { account: rows::account(&r)?, device_id: r.uuid("device_id")? })).transpose()
    }

    async fn create_api_key(&self, name: &str, key_hash: &str) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(key_hash)
            .bind(Utc::now())
            .execute(&self.pool)
            .await
            .map_err(|e| unique_violation(e, "an API key with this name"))?;
        Ok(id)
    }

    async fn api_key_exists(&self, key_hash: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn server_namespace(&self, account_id: Uuid) -> StoreResult<CodeNamespace> {
        let find = || {
            sqlx::query("SELECT namespace FROM code_namespaces WHERE account_id = $1 AND device_id IS NULL")
                .bind(account_id)
        };
        if let Some(row) = find().fetch_optional(&self.pool).await? {
            return CodeNamespace::parse(row.try_get("namespace")?).map_err(|e| StoreError::Corrupt(e.to_string()));
        }
        let mut tx = self.write_tx().await?;
        // Checked again under a per-account lock: another process may have allocated it.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1::text))")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let ns = match find().fetch_optional(&mut *tx).await? {
            Some(row) => CodeNamespace::parse(row.try_get("namespace")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => allocate_namespace(&mut tx, account_id, None, Utc::now()).await?,
        };
        tx.commit().await?;
        Ok(ns)
    }

    async fn namespace_belongs_to(&self, namespace: &str, account_id: Uuid) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM code_namespaces WHERE namespace = $1 AND account_id = $2")
            .bind(namespace)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn shared_secret(&self, name: &str, candidate: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.try_get("value")?)
    }

    async fn replace_shared_secret(&self, name: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_referral(&self, r: NewReferral) -> StoreResult<StoredReferral> {
        let mut tx = self.write_tx().await?;
        insert_referral(&mut tx, &r).await?;
        let row = sqlx::query(concat!(referral_select!(), "WHERE r.id = $1")).bind(r.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        rows::referral(&row)
    }

    async fn referral_by_code(&self, code: &str) -> StoreResult<Option<StoredReferral>> {
        let row = sqlx::query(concat!(referral_select!(), "WHERE r.code = $1")).bind(code).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::referral).transpose()
    }

    async fn list_referrals(&self, referrer_id: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<StoredReferral>> {
        let rows = match after {
            None => {
                sqlx::query(concat!(referral_select!(), "WHERE r.referrer_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2"))
                    .bind(referrer_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some((at, id)) => {
                sqlx::query(concat!(
                    referral_select!(),
                    "WHERE r.referrer_id = $1 AND (r.created_at < $2 OR (r.created_at = $2 AND r.id < $3))
                     ORDER BY r.created_at DESC, r.id DESC LIMIT $4"
                ))
                .bind(referrer_id)
                .bind(at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(rows::referral).collect()
    }

    async fn record_visit(&self, v: NewVisit, unique_window: chrono::Duration) -> StoreResult<bool> {
        // One statement (one round trip): the touch, its uniqueness, and the counters.
        let row = sqlx::query(
            "WITH inserted AS (
                INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, ip_hash,
                    user_agent, referer, utm_source, utm_medium, utm_campaign)
                SELECT $1, $2, $3, $4, $5,
                    NOT EXISTS (SELECT 1 FROM touches WHERE referral_id = $2 AND visitor_key = $6 AND occurred_at > $13),
                    $6, $7, $8, $9, $10, $11, $12
                RETURNING referral_id, is_unique, channel, occurred_at
             ), counted AS (
                UPDATE referrals r
                SET unique_visits = r.unique_visits + 1,
                    qr_scans = r.qr_scans + CASE WHEN i.channel = 'qr' THEN 1 ELSE 0 END,
                    clicked_at = COALESCE(r.clicked_at, i.occurred_at)
                FROM inserted i
                WHERE r.id = i.referral_id AND i.is_unique
             )
             SELECT is_unique FROM inserted",
        )
        .bind(v.touch_id)
        .bind(v.referral_id)
        .bind(v.referrer_id)
        .bind(v.channel.as_str())
        .bind(v.occurred_at)
        .bind(&v.visitor_key)
        .bind(&v.ip_hash)
        .bind(&v.user_agent)
        .bind(&v.referer)
        .bind(&v.utm_source)
        .bind(&v.utm_medium)
        .bind(&v.utm_campaign)
        .bind(v.occurred_at - unique_window)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("is_unique")?)
    }

    async fn touch(&self, touch_id: Uuid) -> StoreResult<Option<(Uuid, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT referral_id, occurred_at FROM touches WHERE id = $1")
            .bind(touch_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.uuid("referral_id")?, r.time("occurred_at")?))).transpose()
    }

    async fn record_lead(&self, l: NewLead) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO leads (id, touch_id, referral_id, couple_names, email, wedding_date, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(l.id)
        .bind(l.touch_id)
        .bind(l.referral_id)
        .bind(&l.couple_names)
        .bind(&l.email)
        .bind(l.wedding_date)
        .bind(l.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE referrals SET leads = leads + 1 WHERE id = $1")
            .bind(l.referral_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_event(&self) -> StoreResult<Box<dyn EventTx>> {
        Ok(Box::new(PostgresEventTx { tx: self.write_tx().await? }))
    }

    async fn stats(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<StatsRow> {
        let id = account_id;
        let base = sqlx::query(
            "SELECT s.total_referrals, s.successful_referrals, s.total_time_to_convert_seconds, s.last_referral_at,
                (SELECT COUNT(*) FROM referrals r WHERE r.referrer_id = s.account_id
                    AND (r.expires_at IS NULL OR r.expires_at > $2)) AS active_referrals,
                (SELECT COALESCE(SUM(unique_visits), 0)::BIGINT FROM referrals r WHERE r.referrer_id = s.account_id) AS unique_visits,
                (SELECT COALESCE(SUM(qr_scans), 0)::BIGINT FROM referrals r WHERE r.referrer_id = s.account_id) AS qr_scans,
                (SELECT COALESCE(SUM(leads), 0)::BIGINT FROM referrals r WHERE r.referrer_id = s.account_id) AS leads,
                (SELECT COUNT(DISTINCT t.platform_user_id) FROM touches t JOIN platform_users u ON u.user_id = t.platform_user_id
                    WHERE t.referrer_id = s.account_id AND u.signed_up_at IS NOT NULL) AS signups,
                (SELECT COUNT(DISTINCT t.platform_user_id) FROM touches t JOIN platform_users u ON u.user_id = t.platform_user_id
                    WHERE t.referrer_id = s.account_id AND u.activated_at IS NOT NULL) AS activations
             FROM referral_stats s WHERE s.account_id = $1",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(base) = base else { return Ok(StatsRow::default()) };
        let values = sqlx::query("SELECT currency, total_minor FROM referral_stats_value WHERE account_id = $1 ORDER BY currency")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(StatsRow {
            total_referrals: base.try_get("total_referrals")?,
            active_referrals: base.try_get("active_referrals")?,
            unique_visits: base.try_get("unique_visits")?,
            qr_scans: base.try_get("qr_scans")?,
            leads: base.try_get("leads")?,
            signups: base.try_get("signups")?,
            activations: base.try_get("activations")?,
            successful_referrals: base.try_get("successful_referrals")?,
            total_time_to_convert_seconds: base.try_get("total_time_to_convert_seconds")?,
            last_referral_at: base.try_get("last_referral_at")?,
            value_generated: values
                .iter()
                .map(|r| Ok(Money { currency: r.try_get("currency")?, amount_minor: r.try_get("total_minor")? }))
                .collect::<StoreResult<_>>()?,
        })
    }

    async fn begin_sync(&self) -> StoreResult<Box<dyn SyncTx>> {
        Ok(Box::new(PostgresSyncTx { tx: self.write_tx().await? }))
    }

    async fn sync_position(&self, account_id: Uuid, device_id: Uuid) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT d.applied_through, COALESCE((SELECT last_change FROM sync_accounts WHERE account_id = $1), 0) AS last_change
             FROM devices d WHERE d.id = $2 AND d.account_id = $1",
        )
        .bind(account_id)
        .bind(device_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("applied_through")?, row.try_get("last_change")?))
    }

    async fn pull(&self, account_id: Uuid, after: i64, limit: i64) -> StoreResult<Vec<Record>> {
        let rows = sqlx::query(
            "SELECT entity, id, fields, clocks, deleted, change FROM sync_records
             WHERE account_id = $1 AND change > $2 ORDER BY change LIMIT $3",
        )
        .bind(account_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::sync_record).collect()
    }

    async fn code_statuses(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<CodeStatus>> {
        let rows = sqlx::query(
            "SELECT code, unique_visits, qr_scans, leads, signed_up_at, converted_at, fraud_status, expires_at FROM referrals
             WHERE referrer_id = $1 AND (unique_visits > 0 OR leads > 0 OR signed_up_at IS NOT NULL OR expires_at <= $2)
             ORDER BY code",
        )
        .bind(account_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| rows::code_status(r, now)).collect()
    }
}

struct PostgresSyncTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl SyncTx for PostgresSyncTx {
    async fn applied_through(&mut self, device_id: Uuid) -> StoreResult<i64> {
        // The row lock makes a second push from the same device (another server
        // process, a retry racing the first) wait here until this one commits.
        let row = sqlx::query("SELECT applied_through FROM devices WHERE id = $1 FOR UPDATE").bind(device_id).fetch_one(&mut *self.tx).await?;
        Ok(row.try_get("applied_through")?)
    }

    async fn set_applied_through(&mut self, device_id: Uuid, seq: i64) -> StoreResult<()> {
        sqlx::query("UPDATE devices SET applied_through = $2 WHERE id = $1").bind(device_id).bind(seq).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn record(&mut self, account_id: Uuid, entity: Entity, id: Uuid) -> StoreResult<Option<RecordState>> {
        let row = sqlx::query("SELECT fields, clocks, deleted FROM sync_records WHERE account_id = $1 AND entity = $2 AND id = $3")
            .bind(account_id)
            .bind(entity.as_str())
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::record_state).transpose()
    }

    async fn save_record(&mut self, account_id: Uuid, entity: Entity, id: Uuid, state: &RecordState) -> StoreResult<i64> {
        // The account row stays locked until commit: change numbers become visible in
        // order, so a puller that has seen N has seen everything below N.
        let change: i64 = sqlx::query(
            "INSERT INTO sync_accounts (account_id, last_change) VALUES ($1, 1)
             ON CONFLICT (account_id) DO UPDATE SET last_change = sync_accounts.last_change + 1 RETURNING last_change",
        )
        .bind(account_id)
        .fetch_one(&mut *self.tx)
        .await?
        .try_get("last_change")?;
        let encoded = rows::encode_state(state);
        sqlx::query(
            "INSERT INTO sync_records (account_id, entity, id, fields, clocks, deleted, change) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account_id, entity, id) DO UPDATE
             SET fields = excluded.fields, clocks = excluded.clocks, deleted = excluded.deleted, change = excluded.change",
        )
        .bind(account_id)
        .bind(entity.as_str())
        .bind(id)
        .bind(encoded.fields)
        .bind(encoded.clocks)
        .bind(encoded.deleted)
        .bind(change)
        .execute(&mut *self.tx)
        .await?;
        Ok(change)
    }

    async fn add_referral(&mut self, referral: &NewReferral) -> StoreResult<()> {
        insert_referral(&mut self.tx, referral).await
    }

    async fn end_referral(&mut self, code: &str, referrer_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE referrals SET expires_at = $3 WHERE code = $1 AND referrer_id = $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(code)
        .bind(referrer_id)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn add_fair_lead(&mut self, lead: &NewFairLead) -> StoreResult<bool> {
        let referral = sqlx::query("SELECT id FROM referrals WHERE code = $1 AND referrer_id = $2")
            .bind(&lead.code)
            .bind(lead.referrer_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(referral) = referral else { return Ok(false) };
        let referral_id: Uuid = referral.try_get("id")?;
        // Not a visit (is_unique false, no visitor): the booth is not a click on the link.
        sqlx::query(
            "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique) VALUES ($1, $2, $3, $4, $5, false)",
        )
        .bind(lead.id)
        .bind(referral_id)
        .bind(lead.referrer_id)
        .bind(Channel::FairLead.as_str())
        .bind(lead.captured_at)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO leads (id, touch_id, referral_id, couple_names, email, wedding_date, created_at) VALUES ($1, $1, $2, $3, $4, $5, $6)",
        )
        .bind(lead.id)
        .bind(referral_id)
        .bind(&lead.couple_names)
        .bind(&lead.email)
        .bind(lead.wedding_date)
        .bind(lead.captured_at)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE referrals SET leads = leads + 1 WHERE id = $1").bind(referral_id).execute(&mut *self.tx).await?;
        Ok(true)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}


struct PostgresEventTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl EventTx for PostgresEventTx {
    async fn claim(&mut self, event_id: Uuid, key: &str, event_type: &str, occurred_at: DateTime<Utc>, user_id: &str, payload: &str) -> StoreResult<(EventClaim, Option<String>)> {
        let inserted = sqlx::query(
            "INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(event_id)
        .bind(key)
        .bind(event_type)
        .bind(occurred_at)
        .bind(Utc::now())
        .bind(user_id)
        .bind(payload)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok((EventClaim::New, None));
        }
        let row = sqlx::query("SELECT outcome FROM events WHERE idempotency_key = $1").bind(key).fetch_one(&mut *self.tx).await?;
        Ok((EventClaim::Replay, row.try_get("outcome")?))
    }

    async fn upsert_user(&mut self, user_id: &str, kind: AccountKind, email: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO platform_users (user_id, kind, email) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET email = COALESCE(excluded.email, platform_users.email)",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(email)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn link_touch(&mut self, touch_id: Uuid, user_id: &str) -> StoreResult<u64> {
        let n = sqlx::query("UPDATE touches SET platform_user_id = $2 WHERE id = $1 AND platform_user_id IS NULL")
            .bind(touch_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n)
    }

    async fn link_lead_touches(&mut self, email: &str, user_id: &str) -> StoreResult<u64> {
        let n = sqlx::query(
            "UPDATE touches SET platform_user_id = $2
             WHERE platform_user_id IS NULL AND id IN (SELECT touch_id FROM leads WHERE email = $1)",
        )
        .bind(email)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n)
    }

    async fn add_code_touch(&mut self, touch_id: Uuid, referral_id: Uuid, referrer_id: Uuid, user_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, platform_user_id)
             VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
        )
        .bind(touch_id)
        .bind(referral_id)
        .bind(referrer_id)
        .bind(Channel::DirectCode.as_str())
        .bind(at)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn touches_of(&mut self, user_id: &str) -> StoreResult<Vec<Touch>> {
        let rows = sqlx::query("SELECT id, referral_id, referrer_id, channel, occurred_at FROM touches WHERE platform_user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(rows::touch).collect()
    }

    async fn stamp_stage(&mut self, user_id: &str, stage: Stage, at: DateTime<Utc>) -> StoreResult<()> {
        let (user_sql, referral_sql) = match stage {
            Stage::SignedUp => (
                "UPDATE platform_users SET signed_up_at = COALESCE(signed_up_at, $2) WHERE user_id = $1",
                Some("UPDATE referrals SET signed_up_at = COALESCE(signed_up_at, $2)
                      WHERE id IN (SELECT referral_id FROM touches WHERE platform_user_id = $1)"),
            ),
            Stage::Activated => (
                "UPDATE platform_users SET activated_at = COALESCE(activated_at, $2) WHERE user_id = $1",
                Some("UPDATE referrals SET activated_at = COALESCE(activated_at, $2)
                      WHERE id IN (SELECT referral_id FROM touches WHERE platform_user_id = $1)"),
            ),
            Stage::Churned => ("UPDATE platform_users SET churned_at = $2 WHERE user_id = $1", None),
            Stage::Refunded => ("UPDATE platform_users SET refunded_at = $2 WHERE user_id = $1", None),
        };
        sqlx::query(user_sql).bind(user_id).bind(at).execute(&mut *self.tx).await?;
        if let Some(sql) = referral_sql {
            sqlx::query(sql).bind(user_id).bind(at).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn record_conversion(&mut self, c: &NewConversion) -> StoreResult<bool> {
        let primary = &c.credits[c.primary];
        let inserted = sqlx::query(
            "INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at,
                time_to_convert_seconds, plan, value_minor, currency, annual, mrr_minor, mrr_currency)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (platform_user_id) DO NOTHING",
        )
        .bind(c.id)
        .bind(c.event_id)
        .bind(&c.platform_user_id)
        .bind(primary.referral_id)
        .bind(primary.referrer_id)
        .bind(c.model.as_str())
        .bind(c.converted_at)
        .bind(c.time_to_convert_seconds)
        .bind(&c.plan)
        .bind(c.value.as_ref().map(|m| m.amount_minor))
        .bind(c.value.as_ref().map(|m| m.currency.clone()))
        .bind(c.annual)
        .bind(c.mrr.as_ref().map(|m| m.amount_minor))
        .bind(c.mrr.as_ref().map(|m| m.currency.clone()))
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        let now = Utc::now();
        for credit in &c.credits {
            sqlx::query(
                "INSERT INTO conversion_credits (conversion_id, touch_id, referral_id, referrer_id, channel, touched_at, weight_ppm, value_minor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(c.id)
            .bind(credit.touch_id)
            .bind(credit.referral_id)
            .bind(credit.referrer_id)
            .bind(credit.channel.as_str())
            .bind(credit.touched_at)
            .bind(i64::from(credit.weight_ppm))
            .bind(credit.value_minor)
            .execute(&mut *self.tx)
            .await?;
            if let Some(value) = c.value.as_ref().filter(|_| credit.value_minor != 0) {
                sqlx::query(
                    "INSERT INTO referral_stats_value (account_id, currency, total_minor) VALUES ($1, $2, $3)
                     ON CONFLICT (account_id, currency) DO UPDATE SET total_minor = referral_stats_value.total_minor + excluded.total_minor",
                )
                .bind(credit.referrer_id)
                .bind(&value.currency)
                .bind(credit.value_minor)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        sqlx::query(
            "UPDATE referrals SET converted_at = $2, conversion_value_minor = $3, conversion_currency = $4,
                conversion_plan = $5, time_to_convert_seconds = $6
             WHERE id = $1 AND converted_at IS NULL",
        )
        .bind(primary.referral_id)
        .bind(c.converted_at)
        .bind(c.value.as_ref().map(|m| m.amount_minor))
        .bind(c.value.as_ref().map(|m| m.currency.clone()))
        .bind(&c.plan)
        .bind(c.time_to_convert_seconds)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE referral_stats SET successful_referrals = successful_referrals + 1,
                total_time_to_convert_seconds = total_time_to_convert_seconds + $2, updated_at = $3
             WHERE account_id = $1",
        )
        .bind(primary.referrer_id)
        .bind(c.time_to_convert_seconds)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE platform_users SET converted_at = COALESCE(converted_at, $2) WHERE user_id = $1")
            .bind(&c.platform_user_id)
            .bind(c.converted_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(true)
    }

    async fn conversion_of(&mut self, user_id: &str) -> StoreResult<Option<ConversionView>> {
        let Some(row) = sqlx::query("SELECT * FROM conversions WHERE platform_user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let id = row.uuid("id")?;
        let credit_rows = sqlx::query("SELECT * FROM conversion_credits WHERE conversion_id = $1 ORDER BY touched_at, touch_id")
            .bind(id)
            .fetch_all(&mut *self.tx)
            .await?;
        let credits = credit_rows.iter().map(rows::credit).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(rows::conversion(&row, credits)?))
    }

    async fn finish(mut self: Box<Self>, event_id: Uuid, outcome: &str) -> StoreResult<()> {
        sqlx::query("UPDATE events SET outcome = $2 WHERE id = $1")
            .bind(event_id)
            .bind(outcome)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}
