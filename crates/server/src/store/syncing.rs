//! Applying one device push inside one transaction ([`SyncTx`]), for either database.

use async_trait::async_trait;
use bouquet_core::attribution::Channel;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{Tx, args};
use super::dialect::locking;
use super::rows::{self, Columns};
use super::sql::insert_referral;
use super::*;

pub(super) struct SqlSyncTx {
    pub(super) tx: Tx,
}

#[async_trait]
impl SyncTx for SqlSyncTx {
    async fn applied_through(&mut self, device_id: Uuid) -> StoreResult<i64> {
        // The lock makes a second push from the same device (another server process, a
        // retry racing the first) wait here until this one commits.
        let sql = locking!(self.tx.dialect(), "SELECT applied_through FROM devices WHERE id = $1");
        self.tx.fetch_one(sql, &args![device_id]).await?.int("applied_through")
    }

    async fn set_applied_through(&mut self, device_id: Uuid, seq: i64) -> StoreResult<()> {
        self.tx.execute("UPDATE devices SET applied_through = $2 WHERE id = $1", &args![device_id, seq]).await?;
        Ok(())
    }

    async fn record(&mut self, account_id: Uuid, entity: Entity, id: Uuid) -> StoreResult<Option<RecordState>> {
        let row = self
            .tx
            .fetch_optional(
                "SELECT fields, clocks, deleted FROM sync_records WHERE account_id = $1 AND entity = $2 AND id = $3",
                &args![account_id, entity.as_str(), id],
            )
            .await?;
        row.as_ref().map(rows::record_state).transpose()
    }

    async fn save_record(&mut self, account_id: Uuid, entity: Entity, id: Uuid, state: &RecordState) -> StoreResult<i64> {
        // The account's row stays locked until commit: change numbers become visible in
        // order, so a puller that has seen N has seen everything below N.
        let change = self
            .tx
            .fetch_one(
                "INSERT INTO sync_accounts (account_id, last_change) VALUES ($1, 1)
                 ON CONFLICT (account_id) DO UPDATE SET last_change = sync_accounts.last_change + 1 RETURNING last_change",
                &args![account_id],
            )
            .await?
            .int("last_change")?;
        let encoded = rows::encode_state(state);
        self.tx
            .execute(
                "INSERT INTO sync_records (account_id, entity, id, fields, clocks, deleted, change) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (account_id, entity, id) DO UPDATE
                 SET fields = excluded.fields, clocks = excluded.clocks, deleted = excluded.deleted, change = excluded.change",
                &args![account_id, entity.as_str(), id, &encoded.fields, &encoded.clocks, &encoded.deleted, change],
            )
            .await?;
        Ok(change)
    }

    async fn add_referral(&mut self, referral: &NewReferral) -> StoreResult<()> {
        insert_referral(&mut self.tx, referral).await
    }

    async fn end_referral(&mut self, code: &str, referrer_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.tx
            .execute(
                "UPDATE referrals SET expires_at = $3 WHERE code = $1 AND referrer_id = $2 AND (expires_at IS NULL OR expires_at > $3)",
                &args![code, referrer_id, at],
            )
            .await?;
        Ok(())
    }

    async fn save_fair(&mut self, account_id: Uuid, fair_id: Uuid, local_date: Option<NaiveDate>) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO fairs (id, account_id, local_date) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET local_date = excluded.local_date WHERE fairs.account_id = excluded.account_id",
                &args![fair_id, account_id, local_date],
            )
            .await?;
        Ok(())
    }

    async fn tie_code_to_fair(&mut self, code: &str, referrer_id: Uuid, fair_id: Option<Uuid>) -> StoreResult<()> {
        self.tx
            // Whose fair it is is checked where it is used (a fair of the same account only):
            // the fair may reach the server after the code.
            .execute("UPDATE referrals SET fair_id = $3 WHERE code = $1 AND referrer_id = $2", &args![code, referrer_id, fair_id])
            .await?;
        Ok(())
    }

    async fn add_fair_lead(&mut self, lead: &NewFairLead) -> StoreResult<bool> {
        let referral = self
            .tx
            .fetch_optional("SELECT id FROM referrals WHERE code = $1 AND referrer_id = $2", &args![&lead.code, lead.referrer_id])
            .await?;
        let Some(referral) = referral else { return Ok(false) };
        let referral_id = referral.uuid("id")?;
        // Not a visit (not unique, no visitor): the booth is not a click on the link.
        self.tx
            .execute(
                "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique) VALUES ($1, $2, $3, $4, $5, FALSE)",
                &args![lead.id, referral_id, lead.referrer_id, Channel::FairLead.as_str(), lead.captured_at],
            )
            .await?;
        self.tx
            .execute(
                "INSERT INTO leads (id, touch_id, referral_id, couple_names, email, wedding_date, created_at) VALUES ($1, $1, $2, $3, $4, $5, $6)",
                &args![lead.id, referral_id, &lead.couple_names, &lead.email, lead.wedding_date, lead.captured_at],
            )
            .await?;
        self.tx.execute("UPDATE referrals SET leads = leads + 1 WHERE id = $1", &args![referral_id]).await?;
        let touch = super::webhooks::touch_payload(lead.id, referral_id, lead.referrer_id, Channel::FairLead, lead.captured_at, false);
        super::webhooks::emit(&mut self.tx, bouquet_core::webhooks::EventType::TouchRecorded, &touch, lead.captured_at).await?;
        let payload = super::webhooks::lead_payload(lead.id, lead.id, referral_id, lead.wedding_date, "wedding_fair", lead.captured_at);
        super::webhooks::emit(&mut self.tx, bouquet_core::webhooks::EventType::LeadCreated, &payload, lead.captured_at).await?;
        Ok(true)
    }

    async fn leads_of_contact(&mut self, account_id: Uuid, contact_id: Uuid) -> StoreResult<Vec<Uuid>> {
        // A lead's fields are JSON text written by serde (no spaces): its contact reference
        // is found by its exact text, without a JSON operator the two databases spell apart.
        let pattern = format!("%\"contact_id\":\"{contact_id}\"%");
        let rows = self
            .tx
            .fetch_all(
                "SELECT id FROM sync_records WHERE account_id = $1 AND entity = 'lead' AND deleted IS NULL AND fields LIKE $2",
                &args![account_id, pattern.as_str()],
            )
            .await?;
        rows.iter().map(|r| r.uuid("id")).collect()
    }

    async fn relink_fair_lead(&mut self, account_id: Uuid, lead_id: Uuid, names: &str, email: Option<&str>, wedding_date: Option<NaiveDate>) -> StoreResult<bool> {
        let email = email.map(|e| e.trim().to_lowercase());
        let updated = self
            .tx
            .execute(
                "UPDATE leads SET couple_names = $3, email = $4, wedding_date = $5
                 WHERE id = $2 AND referral_id IN (SELECT id FROM referrals WHERE referrer_id = $1)",
                &args![account_id, lead_id, names, email.as_deref().unwrap_or(""), wedding_date],
            )
            .await?;
        if updated == 0 {
            return Ok(false);
        }
        if let Some(email) = email.as_deref().filter(|e| !e.is_empty()) {
            self.tx
                .execute(
                    "UPDATE touches SET platform_user_id = (SELECT MIN(user_id) FROM platform_users WHERE email = $2)
                     WHERE id = $1 AND platform_user_id IS NULL AND EXISTS (SELECT 1 FROM platform_users WHERE email = $2)",
                    &args![lead_id, email],
                )
                .await?;
        }
        Ok(true)
    }

    async fn queue_invitation(&mut self, invitation: &QueuedInvitation) -> StoreResult<()> {
        super::email::queue(&mut self.tx, invitation).await
    }

    async fn cancel_invitation(&mut self, account_id: Uuid, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        super::email::cancel(&mut self.tx, account_id, id, at).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await
    }
}
