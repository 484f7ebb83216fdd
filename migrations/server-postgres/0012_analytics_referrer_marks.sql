-- Marks a referral's referrer in its day, week and month (analytics_referrer_marks,
-- migration 11) and appends one row to analytics_referrer_new per count a new mark
-- raises, in the transaction that makes the referral. Referrals are never deleted and
-- their time, referrer, referee kind and method never change: inserts are all there is.
-- The mark's primary key decides which of two writers is first: the second waits for the
-- first to commit and then inserts nothing, so a referrer is counted once. Existing
-- referrals are marked and counted first.
CREATE FUNCTION analytics_period_starts(t TIMESTAMPTZ) RETURNS TABLE (period TEXT, start TEXT)
LANGUAGE sql STABLE AS $$
    VALUES ('day', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
           ('week', to_char(date_trunc('week', t AT TIME ZONE 'UTC'), 'YYYY-MM-DD')),
           ('month', to_char(date_trunc('month', t AT TIME ZONE 'UTC'), 'YYYY-MM-DD'))
$$;

INSERT INTO analytics_referrer_marks (period, start, k, referrer_id)
    SELECT p.period, p.start, '' AS k, r.referrer_id FROM referrals r, analytics_period_starts(r.created_at) p
    UNION SELECT p.period, p.start, 'referee_kind:' || r.referee_type, r.referrer_id FROM referrals r, analytics_period_starts(r.created_at) p
    UNION SELECT p.period, p.start, 'method:' || r.method, r.referrer_id FROM referrals r, analytics_period_starts(r.created_at) p;

INSERT INTO analytics_referrer_counts (period, start, k, n)
    SELECT period, start, k, COUNT(*) FROM analytics_referrer_marks GROUP BY period, start, k
    UNION ALL SELECT p.period, p.start, 'referrer_kind:' || r.referrer_type, COUNT(DISTINCT r.referrer_id)
        FROM referrals r, analytics_period_starts(r.created_at) p GROUP BY p.period, p.start, r.referrer_type;

CREATE FUNCTION analytics_referrer_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH marked AS (
        INSERT INTO analytics_referrer_marks (period, start, k, referrer_id)
            SELECT p.period, p.start, m.k, NEW.referrer_id
            FROM analytics_period_starts(NEW.created_at) p,
                 (VALUES (''), ('referee_kind:' || NEW.referee_type), ('method:' || NEW.method)) AS m(k)
        ON CONFLICT DO NOTHING
        RETURNING period, start, k
    )
    INSERT INTO analytics_referrer_new (period, start, k)
        SELECT period, start, k FROM marked
        UNION ALL SELECT period, start, 'referrer_kind:' || NEW.referrer_type FROM marked WHERE k = '';
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_referrer_marked AFTER INSERT ON referrals FOR EACH ROW EXECUTE FUNCTION analytics_referrer_marked();
