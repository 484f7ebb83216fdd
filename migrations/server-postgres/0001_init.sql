-- Bouquet server, PostgreSQL backend. Append-only: never edit a released migration.
-- Same tables as the SQLite backend, with native uuid and timestamptz; money is
-- integer minor units + currency.

CREATE TABLE accounts (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('supplier', 'couple', 'admin')),
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    business_name TEXT,
    vendor_type   TEXT,
    couple_names  TEXT,
    wedding_date  DATE,
    location      TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE devices (
    id           UUID PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts(id),
    name         TEXT,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX devices_by_account ON devices(account_id);

-- Every namespace ever issued, to a device or to the server acting for an account:
-- unique across all of them, which is what keeps offline codes collision-free.
CREATE TABLE code_namespaces (
    namespace  TEXT PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id),
    device_id  UUID UNIQUE REFERENCES devices(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX code_namespaces_by_account ON code_namespaces(account_id);

CREATE TABLE api_keys (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- Secrets shared by every server process on this database (e.g. the IP-hash salt).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE referrals (
    id                      UUID PRIMARY KEY,
    code                    TEXT NOT NULL UNIQUE,
    referrer_id             UUID NOT NULL REFERENCES accounts(id),
    referrer_type           TEXT NOT NULL CHECK (referrer_type IN ('supplier', 'couple')),
    referee_type            TEXT NOT NULL CHECK (referee_type IN ('supplier', 'couple')),
    method                  TEXT NOT NULL CHECK (method IN ('email', 'link', 'qr', 'social')),
    campaign_id             UUID,
    source_url              TEXT,
    utm_source              TEXT,
    utm_medium              TEXT,
    utm_campaign            TEXT,
    vendor_type             TEXT,
    wedding_date            DATE,
    location                TEXT,
    message                 TEXT,
    incentive_offered       TEXT,
    incentive_amount_minor  BIGINT,
    incentive_currency      TEXT,
    created_at              TIMESTAMPTZ NOT NULL,
    expires_at              TIMESTAMPTZ,
    clicked_at              TIMESTAMPTZ,
    signed_up_at            TIMESTAMPTZ,
    activated_at            TIMESTAMPTZ,
    converted_at            TIMESTAMPTZ,
    conversion_value_minor  BIGINT,
    conversion_currency     TEXT,
    conversion_plan         TEXT,
    time_to_convert_seconds BIGINT,
    fraud_status            TEXT NOT NULL DEFAULT 'pending',
    unique_visits           BIGINT NOT NULL DEFAULT 0,
    qr_scans                BIGINT NOT NULL DEFAULT 0,
    leads                   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX referrals_by_referrer ON referrals(referrer_id, created_at DESC, id DESC);

-- A touch: one interaction of a (future) user with a referral: a link click, a QR
-- scan, a typed code, a fair lead. Bots are never recorded.
CREATE TABLE touches (
    id               UUID PRIMARY KEY,
    referral_id      UUID NOT NULL REFERENCES referrals(id),
    referrer_id      UUID NOT NULL REFERENCES accounts(id),
    channel          TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    is_unique        BOOLEAN NOT NULL,
    visitor_key      TEXT,
    ip_hash          TEXT,
    user_agent       TEXT,
    referer          TEXT,
    utm_source       TEXT,
    utm_medium       TEXT,
    utm_campaign     TEXT,
    platform_user_id TEXT
);
CREATE INDEX touches_by_visitor ON touches(referral_id, visitor_key, occurred_at);
-- Partial: most touches belong to nobody yet, and `platform_user_id IS NULL` must never
-- tempt the planner into walking them all.
CREATE INDEX touches_by_user ON touches(platform_user_id) WHERE platform_user_id IS NOT NULL;

CREATE TABLE leads (
    id           UUID PRIMARY KEY,
    touch_id     UUID NOT NULL REFERENCES touches(id),
    referral_id  UUID NOT NULL REFERENCES referrals(id),
    couple_names TEXT NOT NULL,
    email        TEXT NOT NULL,
    wedding_date DATE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX leads_by_email ON leads(email);

-- People on the platform (WedSync) that events are about.
CREATE TABLE platform_users (
    user_id      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    email        TEXT,
    signed_up_at TIMESTAMPTZ,
    activated_at TIMESTAMPTZ,
    converted_at TIMESTAMPTZ,
    churned_at   TIMESTAMPTZ,
    refunded_at  TIMESTAMPTZ
);

CREATE TABLE events (
    id               UUID PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    event_type       TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    platform_user_id TEXT NOT NULL,
    payload          TEXT NOT NULL,
    outcome          TEXT
);
CREATE INDEX events_by_user ON events(platform_user_id, occurred_at);

-- One row per converting user, ever: the unique index is what makes a conversion count
-- exactly once under replays and concurrency.
CREATE TABLE conversions (
    id                      UUID PRIMARY KEY,
    event_id                UUID NOT NULL UNIQUE REFERENCES events(id),
    platform_user_id        TEXT NOT NULL UNIQUE,
    referral_id             UUID NOT NULL REFERENCES referrals(id),
    referrer_id             UUID NOT NULL REFERENCES accounts(id),
    model                   TEXT NOT NULL,
    converted_at            TIMESTAMPTZ NOT NULL,
    time_to_convert_seconds BIGINT NOT NULL,
    plan                    TEXT,
    value_minor             BIGINT,
    currency                TEXT,
    annual                  BOOLEAN NOT NULL DEFAULT FALSE,
    mrr_minor               BIGINT,
    mrr_currency            TEXT
);

CREATE TABLE conversion_credits (
    conversion_id UUID NOT NULL REFERENCES conversions(id),
    touch_id      UUID NOT NULL REFERENCES touches(id),
    referral_id   UUID NOT NULL REFERENCES referrals(id),
    referrer_id   UUID NOT NULL REFERENCES accounts(id),
    channel       TEXT NOT NULL,
    touched_at    TIMESTAMPTZ NOT NULL,
    weight_ppm    BIGINT NOT NULL,
    value_minor   BIGINT NOT NULL,
    PRIMARY KEY (conversion_id, touch_id)
);
CREATE INDEX credits_by_referrer ON conversion_credits(referrer_id);

-- The seed's referral_stats: the referrer's running totals, updated with each conversion.
CREATE TABLE referral_stats (
    account_id                    UUID PRIMARY KEY REFERENCES accounts(id),
    user_type                     TEXT NOT NULL,
    total_referrals               BIGINT NOT NULL DEFAULT 0,
    successful_referrals          BIGINT NOT NULL DEFAULT 0,
    total_time_to_convert_seconds BIGINT NOT NULL DEFAULT 0,
    last_referral_at              TIMESTAMPTZ,
    updated_at                    TIMESTAMPTZ NOT NULL
);

-- Value generated per currency (credited shares), in minor units.
CREATE TABLE referral_stats_value (
    account_id  UUID NOT NULL REFERENCES accounts(id),
    currency    TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    PRIMARY KEY (account_id, currency)
);
