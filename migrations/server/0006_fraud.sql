-- Fraud detection (issue 12): who the rules look at, the evidence they compare, every
-- assessment made, and the operators' review queue. Written once for SQLite and
-- PostgreSQL. No raw IP address is ever stored: marks are keyed hashes.

-- A fair the supplier recorded in the app, and the codes tied to it: traffic on those
-- codes on the fair's days is expected (exempt from velocity and IP clustering).
CREATE TABLE fairs (
    id         ${uuid} PRIMARY KEY,
    account_id ${uuid} NOT NULL REFERENCES accounts(id),
    local_date ${date}
);
ALTER TABLE referrals ADD COLUMN fair_id ${uuid};

-- A referrer's conversions held for review (priced as successes, not counted as ones).
CREATE INDEX rewards_held ON rewards(holder) WHERE status = 'held';

-- One row per referred platform user: what the rules compare. `action` is the current
-- one (automatic assessments only raise it; an operator's decision settles it).
CREATE TABLE fraud_subjects (
    platform_user_id TEXT PRIMARY KEY,
    referrer_id      ${uuid} NOT NULL REFERENCES accounts(id),
    referral_id      ${uuid} REFERENCES referrals(id),
    -- The email as the mailbox sees it (core `fraud::EmailKey`), and the name's letters.
    email_key        TEXT,
    name_key         TEXT,
    signed_up_at     ${time} NOT NULL,
    first_touch_at   ${time},
    converted_at     ${time},
    fair_traffic     ${bool} NOT NULL DEFAULT FALSE,
    score_bp         BIGINT NOT NULL DEFAULT 0,
    -- The signals the current assessment fired, comma-separated: what a later pattern
    -- could add to it is known without assessing again (docs/fraud.md).
    fired            TEXT NOT NULL DEFAULT '',
    risk             TEXT NOT NULL DEFAULT 'low' CHECK (risk IN ('low', 'medium', 'high')),
    action           TEXT NOT NULL DEFAULT 'approve' CHECK (action IN ('approve', 'review', 'hold', 'reject')),
    decided          ${bool} NOT NULL DEFAULT FALSE,
    assessed_at      ${time} NOT NULL
);
-- The neighbourhood of a referee: the same referrer's referees around the same time.
CREATE INDEX fraud_subjects_by_referrer ON fraud_subjects(referrer_id, signed_up_at);
CREATE INDEX fraud_subjects_by_referral ON fraud_subjects(referral_id);

-- Where a referee came from: `ip` (keyed hash, from touches and events) or `cookie`.
CREATE TABLE fraud_marks (
    platform_user_id TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('ip', 'cookie')),
    value            TEXT NOT NULL,
    PRIMARY KEY (platform_user_id, kind, value)
);

-- Where an account's own people sign in and call the API from (keyed hashes).
CREATE TABLE account_marks (
    account_id ${uuid} NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL CHECK (kind IN ('ip', 'cookie')),
    value      TEXT NOT NULL,
    last_seen  ${time} NOT NULL,
    PRIMARY KEY (account_id, kind, value)
);

-- Every assessment, kept: the score, each signal with its evidence, the policy version.
CREATE TABLE fraud_assessments (
    id               ${uuid} PRIMARY KEY,
    platform_user_id TEXT NOT NULL,
    referrer_id      ${uuid} NOT NULL,
    -- What caused it: a signup, a convert, or a later event that revealed a pattern.
    cause            TEXT NOT NULL CHECK (cause IN ('signup', 'convert', 'reassessment')),
    score_bp         BIGINT NOT NULL,
    risk             TEXT NOT NULL,
    action           TEXT NOT NULL,
    signals          TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    assessed_at      ${time} NOT NULL
);
CREATE INDEX fraud_assessments_by_user ON fraud_assessments(platform_user_id, assessed_at DESC, id DESC);

-- The review queue: one case per referee held for review; decided once, audited.
CREATE TABLE fraud_reviews (
    id               ${uuid} PRIMARY KEY,
    platform_user_id TEXT NOT NULL UNIQUE,
    referrer_id      ${uuid} NOT NULL REFERENCES accounts(id),
    assessment_id    ${uuid} NOT NULL REFERENCES fraud_assessments(id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    opened_at        ${time} NOT NULL,
    decided_at       ${time},
    decided_by       ${uuid} REFERENCES accounts(id),
    note             TEXT
);
CREATE INDEX fraud_reviews_by_status ON fraud_reviews(status, opened_at DESC, id DESC);
