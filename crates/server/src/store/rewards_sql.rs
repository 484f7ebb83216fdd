//! Rewards and the ledger in SQL, once for both databases.

use async_trait::async_trait;
use bouquet_core::ledger::{LedgerAccount, LedgerBucket, LedgerCause};
use bouquet_core::reward_status::RewardStatus;
use bouquet_core::rewards::RewardRole;
use bouquet_core::tiers::Tier;
use bouquet_core::{AccountKind, Money};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{Row, Tx, args, unique_violation};
use super::dialect::{locking, skipping_locked};
use super::rewards::*;
use super::rows::{self, Columns};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// The program's side of every posting: its liability, under the nil holder.
pub const PROGRAM: Uuid = Uuid::nil();
const LIABILITY: &str = "liability";

fn book_of(account: LedgerAccount) -> (Uuid, &'static str) {
    match account {
        LedgerAccount::ProgramLiability => (PROGRAM, LIABILITY),
        LedgerAccount::Holder { holder_id, bucket } => (holder_id, bucket.as_str()),
    }
}

fn reward(row: &Row) -> StoreResult<RewardRow> {
    Ok(RewardRow {
        id: row.uuid("id")?,
        holder: row.uuid("holder")?,
        account_id: row.opt_uuid("account_id")?,
        platform_user_id: row.opt_text("platform_user_id")?,
        role: row.parsed("role", RewardRole::parse)?,
        amount: Money { amount_minor: row.int("amount_minor")?, currency: row.text("currency")? },
        value_minor: row.int("value_minor")?,
        status: row.parsed("status", RewardStatus::parse)?,
        reason: row.text("reason")?,
        referral_id: row.opt_uuid("referral_id")?,
        conversion_id: row.opt_uuid("conversion_id")?,
        campaign_id: row.opt_uuid("campaign_id")?,
        referee_user_id: row.opt_text("referee_user_id")?,
        tier: row.opt_text("tier")?.map(|t| Tier::parse(&t).ok_or_else(|| StoreError::Corrupt(format!("tier '{t}'")))).transpose()?,
        awaiting_paid_plan: row.flag("awaiting_paid_plan")?,
        created_at: row.time("created_at")?,
        earned_at: row.time("earned_at")?,
        eligible_at: row.opt_time("eligible_at")?,
        expires_at: row.opt_time("expires_at")?,
        claimed_at: row.opt_time("claimed_at")?,
        status_at: row.time("status_at")?,
    })
}

fn standing(row: &Row) -> StoreResult<StandingRow> {
    Ok(StandingRow {
        account_id: row.uuid("account_id")?,
        kind: row.parsed("kind", AccountKind::parse)?,
        successful_referrals: row.int("successful_referrals")?,
        value_generated_minor: row.int("value_generated_minor")?,
        reached_at: row.opt_time("reached_at")?,
        name: row.opt_text("name")?,
        show_name: row.flag("show_on_leaderboards")?,
    })
}

fn bucket(row: &Row) -> StoreResult<(LedgerBucket, Money)> {
    Ok((
        row.parsed("book", LedgerBucket::parse)?,
        Money { amount_minor: row.int("balance_minor")?, currency: row.text("currency")? },
    ))
}

pub(super) struct SqlRewardTx {
    pub(super) tx: Tx,
    /// Campaign charges made as the last write before commit (campaign, amount).
    pub(super) charges_at_commit: Vec<(Uuid, i64)>,
}

impl SqlRewardTx {
    pub(super) fn new(tx: Tx) -> Self {
        Self { tx, charges_at_commit: Vec::new() }
    }
}

#[async_trait]
impl RewardTx for SqlRewardTx {
    async fn post(&mut self, t: &Transfer) -> StoreResult<()> {
        for posting in &t.postings {
            let transfer_id = Uuid::now_v7();
            let legs = posting.legs().map(|(account, amount)| (book_of(account), amount));
            // Both legs in one statement: one transfer, written or refused whole.
            let mut entries = Vec::with_capacity(24);
            for ((holder, book), amount) in legs {
                entries.extend(args![
                    Uuid::now_v7(),
                    transfer_id,
                    holder,
                    book,
                    amount,
                    &t.currency,
                    posting.cause.as_str(),
                    t.reward_id,
                    &t.memo,
                    t.created_by,
                    &t.idempotency_key,
                    t.at,
                ]);
            }
            self.tx
                .execute(
                    "INSERT INTO ledger_entries (id, transfer_id, holder, book, amount_minor, currency, cause, reward_id, memo,
                        created_by, idempotency_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12),
                            ($13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
                    &entries,
                )
                .await
                .map_err(|e| unique_violation(e, "an adjustment with this idempotency key"))?;
            for ((holder, book), amount) in legs {
                if holder == PROGRAM {
                    continue;
                }
                if amount >= 0 {
                    // A credit cannot take a balance below zero: one upsert.
                    self.tx
                        .execute(
                            "INSERT INTO ledger_balances (holder, book, currency, balance_minor) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (holder, book, currency) DO UPDATE SET balance_minor = ledger_balances.balance_minor + excluded.balance_minor",
                            &args![holder, book, &t.currency, amount],
                        )
                        .await?;
                    continue;
                }
                // A debit in two steps: the row first (an upsert would check its CHECK
                // against the inserted amount alone, refusing a debit of an existing
                // balance), then the move, which the CHECK judges on the new balance.
                self.tx
                    .execute(
                        "INSERT INTO ledger_balances (holder, book, currency, balance_minor) VALUES ($1, $2, $3, 0)
                         ON CONFLICT (holder, book, currency) DO NOTHING",
                        &args![holder, book, &t.currency],
                    )
                    .await?;
                self.tx
                    .execute(
                        "UPDATE ledger_balances SET balance_minor = balance_minor + $4 WHERE holder = $1 AND book = $2 AND currency = $3",
                        &args![holder, book, &t.currency, amount],
                    )
                    .await
                    .map_err(|e| check_violation(e, "the balance would go below zero"))?;
            }
        }
        Ok(())
    }

    async fn insert_reward(&mut self, r: &RewardRow) -> StoreResult<bool> {
        let inserted = self
            .tx
            .execute(
                "INSERT INTO rewards (id, holder, account_id, platform_user_id, role, amount_minor, currency, value_minor, status,
                    reason, referral_id, conversion_id, referee_user_id, tier, awaiting_paid_plan, created_at, eligible_at,
                    expires_at, claimed_at, status_at, earned_at, campaign_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
                 ON CONFLICT DO NOTHING",
                &args![
                    r.id,
                    r.holder,
                    r.account_id,
                    &r.platform_user_id,
                    r.role.as_str(),
                    r.amount.amount_minor,
                    &r.amount.currency,
                    r.value_minor,
                    r.status.as_str(),
                    &r.reason,
                    r.referral_id,
                    r.conversion_id,
                    &r.referee_user_id,
                    r.tier.map(Tier::as_str),
                    r.awaiting_paid_plan,
                    r.created_at,
                    r.eligible_at,
                    r.expires_at,
                    r.claimed_at,
                    r.status_at,
                    r.earned_at,
                    r.campaign_id,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn reward_for_update(&mut self, id: Uuid) -> StoreResult<Option<RewardRow>> {
        let sql = locking!(self.tx.dialect(), "SELECT * FROM rewards WHERE id = $1");
        self.tx.fetch_optional(sql, &args![id]).await?.as_ref().map(reward).transpose()
    }

    async fn set_reward_status(&mut self, id: Uuid, from: RewardStatus, to: RewardStatus, at: DateTime<Utc>) -> StoreResult<bool> {
        let claimed_at = (to == RewardStatus::Claimed).then_some(at);
        let changed = self
            .tx
            .execute(
                "UPDATE rewards SET status = $3, status_at = $4, claimed_at = COALESCE($5, claimed_at) WHERE id = $1 AND status = $2",
                &args![id, from.as_str(), to.as_str(), at, claimed_at],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn rewards_of_referee(&mut self, user_id: &str) -> StoreResult<Vec<RewardRow>> {
        let sql = locking!(self.tx.dialect(), "SELECT * FROM rewards WHERE referee_user_id = $1 ORDER BY id");
        self.tx.fetch_all(sql, &args![user_id]).await?.iter().map(reward).collect()
    }

    async fn clear_awaiting_paid_plan(&mut self, user_id: &str) -> StoreResult<u64> {
        self.tx
            .execute(
                "UPDATE rewards SET awaiting_paid_plan = FALSE WHERE referee_user_id = $1 AND awaiting_paid_plan = TRUE",
                &args![user_id],
            )
            .await
    }

    async fn due_rewards(&mut self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<RewardRow>> {
        let sql = skipping_locked!(
            self.tx.dialect(),
            "SELECT * FROM rewards WHERE status = 'pending' AND eligible_at <= $1 AND awaiting_paid_plan = FALSE
             ORDER BY eligible_at, id LIMIT $2"
        );
        self.tx.fetch_all(sql, &args![now, limit]).await?.iter().map(reward).collect()
    }

    async fn expired_rewards(&mut self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<RewardRow>> {
        let sql = skipping_locked!(
            self.tx.dialect(),
            "SELECT * FROM rewards WHERE status IN ('pending', 'eligible') AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2"
        );
        self.tx.fetch_all(sql, &args![now, limit]).await?.iter().map(reward).collect()
    }

    async fn add_to_standing(&mut self, account_id: Uuid, kind: AccountKind, successes: i64, value_minor: i64, at: DateTime<Utc>) -> StoreResult<(i64, i64)> {
        let row = self
            .tx
            .fetch_one(
                "INSERT INTO referrer_standing (account_id, kind, successful_referrals, value_generated_minor, reached_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id) DO UPDATE SET
                    successful_referrals = referrer_standing.successful_referrals + excluded.successful_referrals,
                    value_generated_minor = referrer_standing.value_generated_minor + excluded.value_generated_minor,
                    reached_at = CASE WHEN excluded.successful_referrals > 0 THEN excluded.reached_at ELSE referrer_standing.reached_at END
                 RETURNING successful_referrals",
                &args![account_id, kind.as_str(), successes, value_minor, at],
            )
            .await?;
        let after = row.int("successful_referrals")?;
        Ok((after - successes, after))
    }

    async fn held_successes(&mut self, account_id: Uuid) -> StoreResult<i64> {
        let row = self
            .tx
            .fetch_one("SELECT COUNT(*) AS n FROM rewards WHERE holder = $1 AND status = 'held' AND role = 'referrer'", &args![account_id])
            .await?;
        row.int("n")
    }

    async fn remove_success(&mut self, account_id: Uuid, value_minor: i64) -> StoreResult<()> {
        self.tx
            .execute(
                "UPDATE referrer_standing SET successful_referrals = successful_referrals - 1,
                    value_generated_minor = value_generated_minor - $2 WHERE account_id = $1",
                &args![account_id, value_minor],
            )
            .await?;
        Ok(())
    }

    async fn record_tier(&mut self, account_id: Uuid, tier: Tier, successful: i64, reward_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let inserted = self
            .tx
            .execute(
                "INSERT INTO tier_changes (account_id, tier, successful_referrals, reward_id, reached_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id, tier) DO NOTHING",
                &args![account_id, tier.as_str(), successful, reward_id, at],
            )
            .await?;
        if inserted == 1 {
            self.tx.execute("UPDATE referrer_standing SET tier = $2 WHERE account_id = $1", &args![account_id, tier.as_str()]).await?;
        }
        Ok(inserted == 1)
    }

    async fn notify(
        &mut self,
        account_id: Uuid,
        notice: &bouquet_core::notifications::Notice,
        words: &bouquet_core::notifications::Message,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        super::notifications::notify(&mut self.tx, account_id, notice, words, at).await
    }

    async fn locale_of(&mut self, account_id: Uuid) -> StoreResult<Option<String>> {
        let row = self.tx.fetch_optional("SELECT locale FROM accounts WHERE id = $1", &args![account_id]).await?;
        Ok(match row {
            Some(row) => row.opt_text("locale")?,
            None => None,
        })
    }

    async fn emit_webhook(&mut self, event: bouquet_core::webhooks::EventType, payload: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()> {
        super::webhooks::emit(&mut self.tx, event, payload, at).await
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.charge_at_commit().await?;
        self.tx.commit().await
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.tx.rollback().await
    }
}

/// A CHECK constraint's "no" becomes [`StoreError::Refused`] saying why.
fn check_violation(err: StoreError, what: &'static str) -> StoreError {
    match &err {
        StoreError::Database(sqlx::Error::Database(db)) if matches!(db.kind(), sqlx::error::ErrorKind::CheckViolation) => {
            StoreError::Refused(what)
        }
        _ => err,
    }
}

/// The columns of a leaderboard row ([`standing`]) from standings joined to accounts.
macro_rules! standing_columns {
    () => {
        "s.account_id, s.kind, s.successful_referrals, s.value_generated_minor, s.reached_at,
         COALESCE(a.business_name, a.couple_names) AS name, a.show_on_leaderboards"
    };
}

/// A period's standings: the referrer rewards made since `$2` that still count (not
/// voided, clawed back or held), per account of kind `$1`.
macro_rules! period_board {
    () => {
        "SELECT r.account_id, a.kind, COUNT(*) AS successful_referrals,
                CAST(COALESCE(SUM(r.value_minor), 0) AS BIGINT) AS value_generated_minor, MAX(r.earned_at) AS reached_at,
                COALESCE(a.business_name, a.couple_names) AS name, a.show_on_leaderboards
         FROM rewards r JOIN accounts a ON a.id = r.account_id
         WHERE r.role = 'referrer' AND a.kind = $1 AND r.earned_at >= $2 AND r.status NOT IN ('voided', 'clawed_back', 'held')
         GROUP BY r.account_id, a.kind, a.business_name, a.couple_names, a.show_on_leaderboards"
    };
}

/// "Ranks above `$me`" in the leaderboard's order (`leaderboard::leaderboard_order`): more
/// successes, then more value, then reached first, then the smaller account id.
macro_rules! ranks_above {
    ($t:literal, $me:literal) => {
        concat!(
            "(", $t, ".successful_referrals > ", $me, ".successful_referrals OR (", $t, ".successful_referrals = ", $me, ".successful_referrals AND (",
            $t, ".value_generated_minor > ", $me, ".value_generated_minor OR (", $t, ".value_generated_minor = ", $me, ".value_generated_minor AND (",
            $t, ".reached_at < ", $me, ".reached_at OR (", $t, ".reached_at = ", $me, ".reached_at AND ", $t, ".account_id < ", $me, ".account_id))))))"
        )
    };
}

#[async_trait]
impl RewardStore for SqlStore {
    async fn begin_rewards(&self) -> StoreResult<Box<dyn RewardTx>> {
        Ok(Box::new(SqlRewardTx::new(self.pool().begin_write().await?)))
    }

    async fn rewards_of(&self, holder: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<RewardRow>> {
        let rows = match after {
            None => {
                self.pool()
                    .fetch_all("SELECT * FROM rewards WHERE holder = $1 ORDER BY created_at DESC, id DESC LIMIT $2", &args![holder, limit])
                    .await?
            }
            Some((at, id)) => {
                self.pool()
                    .fetch_all(
                        "SELECT * FROM rewards WHERE holder = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
                         ORDER BY created_at DESC, id DESC LIMIT $4",
                        &args![holder, at, id, limit],
                    )
                    .await?
            }
        };
        rows.iter().map(reward).collect()
    }

    async fn balances_of(&self, holder: Uuid) -> StoreResult<Vec<(LedgerBucket, Money)>> {
        let rows = self
            .pool()
            .fetch_all("SELECT book, currency, balance_minor FROM ledger_balances WHERE holder = $1 ORDER BY book, currency", &args![holder])
            .await?;
        rows.iter().map(bucket).collect()
    }

    async fn ledger_of(&self, holder: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<LedgerEntryRow>> {
        let rows = match after {
            None => {
                self.pool()
                    .fetch_all(
                        "SELECT * FROM ledger_entries WHERE holder = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                        &args![holder, limit],
                    )
                    .await?
            }
            Some((at, id)) => {
                self.pool()
                    .fetch_all(
                        "SELECT * FROM ledger_entries WHERE holder = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
                         ORDER BY created_at DESC, id DESC LIMIT $4",
                        &args![holder, at, id, limit],
                    )
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                let book = r.text("book")?;
                Ok(LedgerEntryRow {
                    id: r.uuid("id")?,
                    transfer_id: r.uuid("transfer_id")?,
                    holder: r.uuid("holder")?,
                    book: LedgerBucket::parse(&book),
                    amount: Money { amount_minor: r.int("amount_minor")?, currency: r.text("currency")? },
                    cause: r.parsed("cause", LedgerCause::parse)?,
                    reward_id: r.opt_uuid("reward_id")?,
                    memo: r.opt_text("memo")?,
                    created_by: r.opt_uuid("created_by")?,
                    created_at: r.time("created_at")?,
                })
            })
            .collect()
    }

    async fn standing(&self, account_id: Uuid) -> StoreResult<Option<StandingRow>> {
        let row = self
            .pool()
            .fetch_optional(
                concat!("SELECT ", standing_columns!(), " FROM referrer_standing s JOIN accounts a ON a.id = s.account_id WHERE s.account_id = $1"),
                &args![account_id],
            )
            .await?;
        row.as_ref().map(standing).transpose()
    }

    async fn leaderboard(&self, kind: AccountKind, since: Option<DateTime<Utc>>, limit: i64) -> StoreResult<Vec<StandingRow>> {
        let rows = match since {
            None => {
                self.pool()
                    .fetch_all(
                        concat!(
                            "SELECT ", standing_columns!(), " FROM referrer_standing s JOIN accounts a ON a.id = s.account_id
                             WHERE s.kind = $1 AND s.successful_referrals > 0
                             ORDER BY s.successful_referrals DESC, s.value_generated_minor DESC, s.reached_at, s.account_id LIMIT $2"
                        ),
                        &args![kind.as_str(), limit],
                    )
                    .await?
            }
            Some(since) => {
                self.pool()
                    .fetch_all(
                        concat!(
                            "SELECT * FROM (", period_board!(), ") b
                             ORDER BY successful_referrals DESC, value_generated_minor DESC, reached_at, account_id LIMIT $3"
                        ),
                        &args![kind.as_str(), since, limit],
                    )
                    .await?
            }
        };
        rows.iter().map(standing).collect()
    }

    async fn leaderboard_position(&self, account_id: Uuid, kind: AccountKind, since: Option<DateTime<Utc>>) -> StoreResult<Option<(i64, StandingRow)>> {
        let row = match since {
            None => {
                self.pool()
                    .fetch_optional(
                        // The standings alone, through their ranking index: no join per row.
                        concat!(
                            "SELECT ", standing_columns!(), ",
                                (SELECT COUNT(*) FROM referrer_standing o WHERE o.kind = s.kind AND o.successful_referrals > 0
                                    AND ", ranks_above!("o", "s"), ") AS above
                             FROM referrer_standing s JOIN accounts a ON a.id = s.account_id
                             WHERE s.account_id = $2 AND s.kind = $1 AND s.successful_referrals > 0"
                        ),
                        &args![kind.as_str(), account_id],
                    )
                    .await?
            }
            Some(since) => {
                self.pool()
                    .fetch_optional(
                        concat!(
                            "WITH board AS (", period_board!(), ")
                             SELECT me.*, (SELECT COUNT(*) FROM board o WHERE ", ranks_above!("o", "me"), ") AS above
                             FROM board me WHERE me.account_id = $3"
                        ),
                        &args![kind.as_str(), since, account_id],
                    )
                    .await?
            }
        };
        row.map(|r| Ok((r.int("above")?, standing(&r)?))).transpose()
    }

    async fn set_show_on_leaderboards(&self, account_id: Uuid, show: bool) -> StoreResult<()> {
        self.pool().execute("UPDATE accounts SET show_on_leaderboards = $2 WHERE id = $1", &args![account_id, show]).await?;
        Ok(())
    }

    async fn accounts_overview(&self, search: Option<&str>, limit: i64) -> StoreResult<Vec<AccountOverview>> {
        let pattern = search.map(|s| format!("%{}%", s.trim().to_lowercase()));
        let rows = self
            .pool()
            .fetch_all(
                // One query: each account with its credit balances summed per book.
                "SELECT a.id, a.kind, a.email, a.business_name, a.vendor_type, a.couple_names, a.wedding_date, a.location, a.locale, a.created_at,
                        COALESCE(s.successful_referrals, 0) AS successful_referrals,
                        COALESCE(b.pending, 0) AS pending, COALESCE(b.available, 0) AS available,
                        COALESCE(b.claimed, 0) AS claimed, COALESCE(b.held, 0) AS held
                 FROM accounts a LEFT JOIN referrer_standing s ON s.account_id = a.id
                 LEFT JOIN (SELECT holder,
                        CAST(SUM(CASE WHEN book = 'pending' THEN balance_minor ELSE 0 END) AS BIGINT) AS pending,
                        CAST(SUM(CASE WHEN book = 'available' THEN balance_minor ELSE 0 END) AS BIGINT) AS available,
                        CAST(SUM(CASE WHEN book = 'claimed' THEN balance_minor ELSE 0 END) AS BIGINT) AS claimed,
                        CAST(SUM(CASE WHEN book = 'held' THEN balance_minor ELSE 0 END) AS BIGINT) AS held
                     FROM ledger_balances WHERE currency = 'CRD' GROUP BY holder) b ON b.holder = a.id
                 WHERE $1 IS NULL OR LOWER(a.email) LIKE $1 OR LOWER(COALESCE(a.business_name, a.couple_names, '')) LIKE $1
                 ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
                &args![pattern.as_deref(), limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let balances = [LedgerBucket::Pending, LedgerBucket::Available, LedgerBucket::Claimed, LedgerBucket::Held]
                    .into_iter()
                    .map(|book| Ok((book, Money::credits(r.int(book.as_str())?))))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(AccountOverview { account: rows::account(r)?, balances, successful_referrals: r.int("successful_referrals")? })
            })
            .collect()
    }

    async fn audit_ledger(&self) -> StoreResult<LedgerAudit> {
        let count = |sql: &'static str| async move { self.pool().fetch_one(sql, &[]).await?.int("n") };
        let totals = self
            .pool()
            .fetch_all("SELECT currency, CAST(SUM(amount_minor) AS BIGINT) AS total FROM ledger_entries GROUP BY currency ORDER BY currency", &[])
            .await?
            .iter()
            .map(|r| Ok(Money { currency: r.text("currency")?, amount_minor: r.int("total")? }))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(LedgerAudit {
            unbalanced_transfers: count(
                "SELECT COUNT(*) AS n FROM (SELECT transfer_id FROM ledger_entries GROUP BY transfer_id HAVING SUM(amount_minor) <> 0) x",
            )
            .await?,
            mismatched_balances: count(
                "SELECT COUNT(*) AS n FROM (
                    SELECT e.holder, e.book, e.currency, SUM(e.amount_minor) AS total FROM ledger_entries e
                    WHERE e.book <> 'liability' GROUP BY e.holder, e.book, e.currency) e
                 FULL OUTER JOIN ledger_balances b ON b.holder = e.holder AND b.book = e.book AND b.currency = e.currency
                 WHERE COALESCE(e.total, 0) <> COALESCE(b.balance_minor, 0)",
            )
            .await?,
            totals,
            negative_balances: count("SELECT COUNT(*) AS n FROM ledger_balances WHERE balance_minor < 0").await?,
            orphan_rewards: count(
                "SELECT COUNT(*) AS n FROM rewards r WHERE r.conversion_id IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM conversions c WHERE c.id = r.conversion_id)",
            )
            .await?,
            duplicate_rewards: count(
                "SELECT COUNT(*) AS n FROM (SELECT conversion_id FROM rewards WHERE conversion_id IS NOT NULL
                 GROUP BY conversion_id, holder, role HAVING COUNT(*) > 1) x",
            )
            .await?,
        })
    }
}
