-- Bouquet server, SQLite backend. Append-only: never edit a released migration.
-- Ids are UUID text; times are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.ffffffZ)
-- so they compare correctly as strings; money is integer minor units + currency.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('supplier', 'couple', 'admin')),
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    business_name TEXT,
    vendor_type   TEXT,
    couple_names  TEXT,
    wedding_date  TEXT,
    location      TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX devices_by_account ON devices(account_id);

-- Every namespace ever issued, to a device or to the server acting for an account:
-- unique across all of them, which is what keeps offline codes collision-free.
CREATE TABLE code_namespaces (
    namespace  TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    device_id  TEXT UNIQUE REFERENCES devices(id),
    created_at TEXT NOT NULL
);
CREATE INDEX code_namespaces_by_account ON code_namespaces(account_id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Secrets shared by every server process on this database (e.g. the IP-hash salt).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE referrals (
    id                      TEXT PRIMARY KEY,
    code                    TEXT NOT NULL UNIQUE,
    referrer_id             TEXT NOT NULL REFERENCES accounts(id),
    referrer_type           TEXT NOT NULL CHECK (referrer_type IN ('supplier', 'couple')),
    referee_type            TEXT NOT NULL CHECK (referee_type IN ('supplier', 'couple')),
    method                  TEXT NOT NULL CHECK (method IN ('email', 'link', 'qr', 'social')),
    campaign_id             TEXT,
    source_url              TEXT,
    utm_source              TEXT,
    utm_medium              TEXT,
    utm_campaign            TEXT,
    vendor_type             TEXT,
    wedding_date            TEXT,
    location                TEXT,
    message                 TEXT,
    incentive_offered       TEXT,
    incentive_amount_minor  INTEGER,
    incentive_currency      TEXT,
    created_at              TEXT NOT NULL,
    expires_at              TEXT,
    clicked_at              TEXT,
    signed_up_at            TEXT,
    activated_at            TEXT,
    converted_at            TEXT,
    conversion_value_minor  INTEGER,
    conversion_currency     TEXT,
    conversion_plan         TEXT,
    time_to_convert_seconds INTEGER,
    fraud_status            TEXT NOT NULL DEFAULT 'pending',
    unique_visits           INTEGER NOT NULL DEFAULT 0,
    qr_scans                INTEGER NOT NULL DEFAULT 0,
    leads                   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX referrals_by_referrer ON referrals(referrer_id, created_at DESC, id DESC);

-- A touch: one interaction of a (future) user with a referral: a link click, a QR
-- scan, a typed code, a fair lead. Bots are never recorded.
CREATE TABLE touches (
    id               TEXT PRIMARY KEY,
    referral_id      TEXT NOT NULL REFERENCES referrals(id),
    referrer_id      TEXT NOT NULL REFERENCES accounts(id),
    channel          TEXT NOT NULL,
    occurred_at      TEXT NOT NULL,
    is_unique        INTEGER NOT NULL,
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

-- A unique landing-page visit bumps its referral's counters in the same statement as
-- the touch insert (SQLite has no UPDATE inside WITH, so a trigger does it): one round
-- trip on the /r/CODE hot path. Only visits carry a visitor_key.
CREATE TRIGGER touches_count_unique_visit AFTER INSERT ON touches
WHEN NEW.is_unique = 1 AND NEW.visitor_key IS NOT NULL
BEGIN
    UPDATE referrals
    SET unique_visits = unique_visits + 1,
        qr_scans = qr_scans + (NEW.channel = 'qr'),
        clicked_at = COALESCE(clicked_at, NEW.occurred_at)
    WHERE id = NEW.referral_id;
END;

CREATE TABLE leads (
    id           TEXT PRIMARY KEY,
    touch_id     TEXT NOT NULL REFERENCES touches(id),
    referral_id  TEXT NOT NULL REFERENCES referrals(id),
    couple_names TEXT NOT NULL,
    email        TEXT NOT NULL,
    wedding_date TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX leads_by_email ON leads(email);

-- People on the platform (WedSync) that events are about.
CREATE TABLE platform_users (
    user_id      TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    email        TEXT,
    signed_up_at TEXT,
    activated_at TEXT,
    converted_at TEXT,
    churned_at   TEXT,
    refunded_at  TEXT
);

CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    event_type       TEXT NOT NULL,
    occurred_at      TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    payload          TEXT NOT NULL,
    outcome          TEXT
);
CREATE INDEX events_by_user ON events(platform_user_id, occurred_at);

-- One row per converting user, ever: the unique index is what makes a conversion count
-- exactly once under replays and concurrency.
CREATE TABLE conversions (
    id                      TEXT PRIMARY KEY,
    event_id                TEXT NOT NULL UNIQUE REFERENCES events(id),
    platform_user_id        TEXT NOT NULL UNIQUE,
    referral_id             TEXT NOT NULL REFERENCES referrals(id),
    referrer_id             TEXT NOT NULL REFERENCES accounts(id),
    model                   TEXT NOT NULL,
    converted_at            TEXT NOT NULL,
    time_to_convert_seconds INTEGER NOT NULL,
    plan                    TEXT,
    value_minor             INTEGER,
    currency                TEXT,
    annual                  INTEGER NOT NULL DEFAULT 0,
    mrr_minor               INTEGER,
    mrr_currency            TEXT
);

CREATE TABLE conversion_credits (
    conversion_id TEXT NOT NULL REFERENCES conversions(id),
    touch_id      TEXT NOT NULL REFERENCES touches(id),
    referral_id   TEXT NOT NULL REFERENCES referrals(id),
    referrer_id   TEXT NOT NULL REFERENCES accounts(id),
    channel       TEXT NOT NULL,
    touched_at    TEXT NOT NULL,
    weight_ppm    INTEGER NOT NULL,
    value_minor   INTEGER NOT NULL,
    PRIMARY KEY (conversion_id, touch_id)
);
CREATE INDEX credits_by_referrer ON conversion_credits(referrer_id);

-- The seed's referral_stats: the referrer's running totals, updated with each conversion.
CREATE TABLE referral_stats (
    account_id                    TEXT PRIMARY KEY REFERENCES accounts(id),
    user_type                     TEXT NOT NULL,
    total_referrals               INTEGER NOT NULL DEFAULT 0,
    successful_referrals          INTEGER NOT NULL DEFAULT 0,
    total_time_to_convert_seconds INTEGER NOT NULL DEFAULT 0,
    last_referral_at              TEXT,
    updated_at                    TEXT NOT NULL
);

-- Value generated per currency (credited shares), in minor units.
CREATE TABLE referral_stats_value (
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    currency    TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    PRIMARY KEY (account_id, currency)
);
