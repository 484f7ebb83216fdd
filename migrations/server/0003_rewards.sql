-- Rewards, the double-entry ledger they post to, and the tiers they lead to.
-- Written once for SQLite and PostgreSQL: ${uuid}, ${time}, ${date} and ${bool} become each
-- database's type (crates/server/src/store/migrations.rs). Append-only.

-- Who may see names on leaderboards: an account can opt out ("A Bouquet supplier").
ALTER TABLE accounts ADD COLUMN show_on_leaderboards ${bool} NOT NULL DEFAULT TRUE;

-- One reward: what a referrer earned for a conversion, a referee's incentive, or a tier's
-- perk. `holder` names whose ledger it posts to: an account's id, or for a referee (a
-- platform user, who has no Bouquet account) a name-based uuid of their platform id.
CREATE TABLE rewards (
    id                 ${uuid} PRIMARY KEY,
    holder             ${uuid} NOT NULL,
    account_id         ${uuid} REFERENCES accounts(id),
    platform_user_id   TEXT,
    role               TEXT NOT NULL CHECK (role IN ('referrer', 'referee', 'tier')),
    amount_minor       BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency           TEXT NOT NULL,
    -- A referrer reward: their attributed share of the conversion's value (leaderboards).
    value_minor        BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL
        CHECK (status IN ('pending', 'eligible', 'claimed', 'expired', 'voided', 'clawed_back', 'held')),
    reason             TEXT NOT NULL,
    referral_id        ${uuid},
    conversion_id      ${uuid},
    -- The platform user whose conversion earned it: their refund or churn voids it.
    referee_user_id    TEXT,
    tier               TEXT,
    -- A conversion on the free plan: stays pending until the referee pays.
    awaiting_paid_plan ${bool} NOT NULL DEFAULT FALSE,
    created_at         ${time} NOT NULL,
    -- When it was earned: the conversion's time (backdated events keep theirs), or the
    -- tier's. Leaderboard periods count by it.
    earned_at          ${time} NOT NULL,
    eligible_at        ${time},
    expires_at         ${time},
    claimed_at         ${time},
    -- When it reached its current status.
    status_at          ${time} NOT NULL
);
-- Exactly once: a conversion rewards each holder in each role once; a tier's perk once.
CREATE UNIQUE INDEX rewards_once_per_conversion ON rewards(conversion_id, holder, role) WHERE conversion_id IS NOT NULL;
CREATE UNIQUE INDEX rewards_once_per_tier ON rewards(holder, tier) WHERE tier IS NOT NULL;
CREATE INDEX rewards_by_holder ON rewards(holder, created_at DESC, id DESC);
CREATE INDEX rewards_by_referee ON rewards(referee_user_id) WHERE referee_user_id IS NOT NULL;
-- The scheduler's two questions: what became eligible, what expired.
CREATE INDEX rewards_due ON rewards(status, eligible_at);
CREATE INDEX rewards_expiring ON rewards(status, expires_at);
-- Leaderboards by week and month count the referrer rewards earned in the period.
CREATE INDEX rewards_by_role_time ON rewards(role, earned_at);

-- The ledger: every change of a balance is a transfer of two entries with the same
-- transfer_id, one +amount and one −amount, posted in the change's own transaction.
-- Entries are never updated or deleted; a mistake is fixed by a correcting transfer.
-- `book` is which balance of the holder: the program's 'liability' (holder: the nil uuid;
-- what it owes, the only balance that goes negative), a holder's 'pending', 'held',
-- 'available', 'claimed'.
CREATE TABLE ledger_entries (
    id           ${uuid} PRIMARY KEY,
    transfer_id  ${uuid} NOT NULL,
    holder       ${uuid} NOT NULL,
    book         TEXT NOT NULL CHECK (book IN ('liability', 'pending', 'held', 'available', 'claimed')),
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    cause        TEXT NOT NULL,
    reward_id    ${uuid} REFERENCES rewards(id),
    memo         TEXT,
    created_by   ${uuid},
    -- An admin adjustment's idempotency key: a retry finds it and posts nothing.
    idempotency_key TEXT,
    created_at   ${time} NOT NULL
);
CREATE UNIQUE INDEX ledger_adjustment_once ON ledger_entries(idempotency_key, holder) WHERE idempotency_key IS NOT NULL;
CREATE INDEX ledger_by_holder ON ledger_entries(holder, created_at DESC, id DESC);
CREATE INDEX ledger_by_reward ON ledger_entries(reward_id) WHERE reward_id IS NOT NULL;

-- Each holder's balance, kept in the same transaction as its entries (so reading one is
-- one row). The CHECK makes an overdraft impossible rather than checked. The program's
-- liability is not kept here: it is minus the sum of all other balances (the books
-- balance), and one row that every conversion updated would queue them all.
CREATE TABLE ledger_balances (
    holder        ${uuid} NOT NULL,
    book          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance_minor BIGINT NOT NULL,
    PRIMARY KEY (holder, book, currency),
    CHECK (balance_minor >= 0)
);

-- A referrer's standing: successful referrals (conversions credited to them and not
-- refunded), the conversion value they brought, when the count was last reached (the
-- leaderboard's tie-break) and the tier it gives.
CREATE TABLE referrer_standing (
    account_id            ${uuid} PRIMARY KEY REFERENCES accounts(id),
    kind                  TEXT NOT NULL,
    successful_referrals  BIGINT NOT NULL DEFAULT 0,
    value_generated_minor BIGINT NOT NULL DEFAULT 0,
    reached_at            ${time},
    tier                  TEXT
);
CREATE INDEX referrer_standing_rank
    ON referrer_standing(kind, successful_referrals DESC, value_generated_minor DESC, reached_at, account_id);

-- Every tier an account reached, once, with the reward row of its perk.
CREATE TABLE tier_changes (
    account_id           ${uuid} NOT NULL REFERENCES accounts(id),
    tier                 TEXT NOT NULL,
    successful_referrals BIGINT NOT NULL,
    reward_id            ${uuid} REFERENCES rewards(id),
    reached_at           ${time} NOT NULL,
    PRIMARY KEY (account_id, tier)
);
