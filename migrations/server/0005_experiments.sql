-- A/B tests on campaigns (issue 11). Written once for SQLite and PostgreSQL.
-- A referrer's variant is a hash of the experiment and the account over the variants'
-- weights (core `experiments::assign`), so it needs no table; the weights are fixed while
-- the experiment runs.

CREATE TABLE experiments (
    id             ${uuid} PRIMARY KEY,
    campaign_id    ${uuid} NOT NULL REFERENCES campaigns(id),
    name           TEXT NOT NULL,
    -- What the variants change: referrer_incentive, referee_incentive, invitation_message, landing_text.
    subject        TEXT NOT NULL CHECK (subject IN ('referrer_incentive', 'referee_incentive', 'invitation_message', 'landing_text')),
    status         TEXT NOT NULL CHECK (status IN ('running', 'applied', 'stopped')),
    applied_variant BIGINT,
    created_at     ${time} NOT NULL,
    decided_at     ${time}
);
-- One running experiment per campaign at a time.
CREATE UNIQUE INDEX experiments_one_running ON experiments(campaign_id) WHERE status = 'running';

CREATE TABLE experiment_variants (
    experiment_id              ${uuid} NOT NULL REFERENCES experiments(id),
    position                   BIGINT NOT NULL,
    name                       TEXT NOT NULL,
    weight                     BIGINT NOT NULL CHECK (weight >= 0),
    multiplier_bp              BIGINT,
    bonus_minor                BIGINT,
    referee_incentive_minor    BIGINT,
    referee_incentive_currency TEXT,
    referee_incentive_text     TEXT,
    message                    TEXT,
    landing_headline           TEXT,
    landing_message            TEXT,
    PRIMARY KEY (experiment_id, position)
);
