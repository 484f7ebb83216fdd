-- Distinct referrers by calendar period (issue 13, docs/metrics.md "Cost"). A count of
-- distinct referrers does not add up across days, so the daily rollup (migration 9)
-- cannot hold it: instead each referrer is marked once per day, week and month they made
-- a referral in (and once per kind of referee and per method), and each new mark adds one
-- to that period's count. Triggers (migration 12, one per database) write both in the
-- transaction that makes the referral. Written once for SQLite and PostgreSQL.

-- Who made a referral in a period: `k` is '' (any referral), 'referee_kind:<kind>' or
-- 'method:<method>'. A referrer's kind never changes, so '' stands for it too.
CREATE TABLE analytics_referrer_marks (
    -- day, week or month
    period      TEXT NOT NULL,
    -- The period's first day (UTC, YYYY-MM-DD); weeks start on Monday.
    start       TEXT NOT NULL,
    k           TEXT NOT NULL,
    referrer_id ${uuid} NOT NULL,
    PRIMARY KEY (period, start, k, referrer_id)
);

-- How many referrers a period's marks hold, by `k` ('' , 'referrer_kind:<kind>',
-- 'referee_kind:<kind>', 'method:<method>'): the folded part. The rest is one row per
-- new mark in analytics_referrer_new until the scheduler folds it in; a report reads the
-- two together in one statement. (Writers append instead of updating a count, so writers
-- of different referrers never wait for each other on a period's row; writers of one
-- referrer queue on that account's lock before they take any mark.)
CREATE TABLE analytics_referrer_counts (
    period TEXT NOT NULL,
    start  TEXT NOT NULL,
    k      TEXT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (period, start, k)
);

CREATE TABLE analytics_referrer_new (
    period TEXT NOT NULL,
    start  TEXT NOT NULL,
    k      TEXT NOT NULL
);
CREATE INDEX analytics_referrer_new_by_period ON analytics_referrer_new(period, start);

-- A range's distinct referrers that is not whole periods (the report's totals, the loop's
-- active referrers per direction and per method) probes each account's referrals in it.
CREATE INDEX referrals_by_referrer_and_referee ON referrals(referrer_id, referee_type, created_at);
CREATE INDEX referrals_by_referrer_and_method ON referrals(referrer_id, method, created_at);
