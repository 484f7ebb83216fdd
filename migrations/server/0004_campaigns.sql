-- Campaigns (issue 11): seasonal, targeted and milestone campaigns with hard budget caps.
-- Written once for SQLite and PostgreSQL (see crates/server/src/store/migrations.rs).

CREATE TABLE campaigns (
    id                    ${uuid} PRIMARY KEY,
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('seasonal', 'targeted', 'milestone')),
    -- draft, scheduled, active, paused, ended; "exhausted" is shown when an active
    -- campaign's budget has refused a grant since it last had budget returned.
    status                TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'ended')),
    -- Seasonal: whose referrals it covers (`campaigns::Audience`).
    audience              TEXT NOT NULL DEFAULT 'everyone',
    -- Targeting; NULL = any.
    referrer_kind         TEXT,
    vendor_type           TEXT,
    location              TEXT,
    -- The lowest tier a referrer must have reached (`tiers::Tier`).
    min_tier              TEXT,
    starts_at             ${time} NOT NULL,
    ends_at               ${time} NOT NULL,
    multiplier_bp         BIGINT NOT NULL DEFAULT 10000 CHECK (multiplier_bp > 0),
    bonus_minor           BIGINT NOT NULL DEFAULT 0 CHECK (bonus_minor >= 0),
    referee_incentive_minor    BIGINT,
    referee_incentive_currency TEXT,
    referee_incentive_text     TEXT,
    target_referrals      BIGINT,
    target_conversions    BIGINT,
    -- The hard cap: spend never passes the budget (a conditional update, backed by this CHECK).
    budget_minor          BIGINT NOT NULL CHECK (budget_minor >= 0),
    spent_minor           BIGINT NOT NULL DEFAULT 0,
    referrals             BIGINT NOT NULL DEFAULT 0,
    conversions           BIGINT NOT NULL DEFAULT 0,
    exhausted_at          ${time},
    email_template        TEXT,
    landing_headline      TEXT,
    landing_message       TEXT,
    created_at            ${time} NOT NULL,
    updated_at            ${time} NOT NULL,
    CHECK (spent_minor >= 0 AND spent_minor <= budget_minor),
    CHECK (ends_at > starts_at)
);
CREATE UNIQUE INDEX campaigns_once_per_window ON campaigns(name, starts_at);
CREATE INDEX campaigns_by_time ON campaigns(status, starts_at, ends_at);

-- The campaign a reward was granted under (its whole amount is that campaign's spend).
ALTER TABLE rewards ADD COLUMN campaign_id ${uuid} REFERENCES campaigns(id);
