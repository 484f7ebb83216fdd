-- The platform's analytics by day (issue 13, docs/metrics.md "Cost"): the referrals made
-- on one UTC day, of one kind, summed with what came of them — exactly what a report
-- would read for that day from the raw tables. A day is rebuilt when something about its
-- referrals changed: triggers (migration 10, one per database) mark it in
-- analytics_dirty_days in the transaction that changed the facts, and a report first
-- rebuilds the marked days it covers. Written once for SQLite and PostgreSQL.
CREATE TABLE analytics_days (
    -- The UTC date, YYYY-MM-DD.
    day           TEXT NOT NULL,
    referrer_type TEXT NOT NULL,
    referee_type  TEXT NOT NULL,
    method        TEXT NOT NULL,
    referrals     BIGINT NOT NULL,
    visits        BIGINT NOT NULL,
    signed_up     BIGINT NOT NULL,
    activated     BIGINT NOT NULL,
    -- The conversions of the people who first came through them, JSON:
    -- [[converted_at, seconds to convert, value_minor, currency, refunded_at, churned_at], ...]
    conversions   TEXT NOT NULL,
    PRIMARY KEY (day, referrer_type, referee_type, method)
);

-- The rewards of the referrals made on a day, by currency: earned for good (eligible or
-- claimed) and pending; as the report's money reads them.
CREATE TABLE analytics_day_rewards (
    day           TEXT NOT NULL,
    currency      TEXT NOT NULL,
    paid_minor    BIGINT NOT NULL,
    pending_minor BIGINT NOT NULL,
    PRIMARY KEY (day, currency)
);

-- The platform's fraud rate counts the sign-ups assessed in the range.
CREATE INDEX fraud_subjects_by_sign_up ON fraud_subjects(signed_up_at);

CREATE TABLE analytics_dirty_days (
    day TEXT PRIMARY KEY
);
