-- Marks a referral's referrer in its day, week and month (analytics_referrer_marks,
-- migration 11) and appends one row to analytics_referrer_new per count a new mark
-- raises, in the transaction that makes the referral. Referrals are never deleted and
-- their time, referrer, referee kind and method never change: inserts are all there is.
-- Existing referrals are marked and counted first.
WITH b AS (
    SELECT 'day' AS period, substr(created_at, 1, 10) AS start, referrer_id, referee_type, method FROM referrals
    UNION ALL SELECT 'week', date(substr(created_at, 1, 10), '-6 days', 'weekday 1'), referrer_id, referee_type, method FROM referrals
    UNION ALL SELECT 'month', substr(created_at, 1, 7) || '-01', referrer_id, referee_type, method FROM referrals
)
INSERT INTO analytics_referrer_marks (period, start, k, referrer_id)
    SELECT period, start, '' AS k, referrer_id FROM b
    UNION SELECT period, start, 'referee_kind:' || referee_type, referrer_id FROM b
    UNION SELECT period, start, 'method:' || method, referrer_id FROM b;

WITH b AS (
    SELECT 'day' AS period, substr(created_at, 1, 10) AS start, referrer_id, referrer_type FROM referrals
    UNION ALL SELECT 'week', date(substr(created_at, 1, 10), '-6 days', 'weekday 1'), referrer_id, referrer_type FROM referrals
    UNION ALL SELECT 'month', substr(created_at, 1, 7) || '-01', referrer_id, referrer_type FROM referrals
)
INSERT INTO analytics_referrer_counts (period, start, k, n)
    SELECT period, start, k, COUNT(*) FROM analytics_referrer_marks GROUP BY period, start, k
    UNION ALL SELECT period, start, 'referrer_kind:' || referrer_type, COUNT(DISTINCT referrer_id) FROM b GROUP BY period, start, referrer_type;

-- The periods of the new referral, and for each the marks it needs: `k` the count a new
-- mark raises, `mark` the mark ('' raises the referrer-kind count too). (A trigger takes
-- no WITH clause, nor INSERT OR IGNORE: an upsert that fires it would override the IGNORE.)
CREATE TRIGGER analytics_referrer_marked AFTER INSERT ON referrals BEGIN
    INSERT INTO analytics_referrer_new (period, start, k)
        SELECT p.period, p.start, m.k
        FROM (SELECT 'day' AS period, substr(NEW.created_at, 1, 10) AS start
              UNION ALL SELECT 'week', date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1')
              UNION ALL SELECT 'month', substr(NEW.created_at, 1, 7) || '-01') p,
             (SELECT '' AS k, '' AS mark
              UNION ALL SELECT 'referrer_kind:' || NEW.referrer_type, ''
              UNION ALL SELECT 'referee_kind:' || NEW.referee_type, 'referee_kind:' || NEW.referee_type
              UNION ALL SELECT 'method:' || NEW.method, 'method:' || NEW.method) m
        WHERE NOT EXISTS (SELECT 1 FROM analytics_referrer_marks x
                          WHERE x.period = p.period AND x.start = p.start AND x.k = m.mark AND x.referrer_id = NEW.referrer_id);
    INSERT INTO analytics_referrer_marks (period, start, k, referrer_id)
        SELECT p.period, p.start, m.mark, NEW.referrer_id
        FROM (SELECT 'day' AS period, substr(NEW.created_at, 1, 10) AS start
              UNION ALL SELECT 'week', date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1')
              UNION ALL SELECT 'month', substr(NEW.created_at, 1, 7) || '-01') p,
             (SELECT '' AS mark
              UNION ALL SELECT 'referee_kind:' || NEW.referee_type
              UNION ALL SELECT 'method:' || NEW.method) m
        WHERE NOT EXISTS (SELECT 1 FROM analytics_referrer_marks x
                          WHERE x.period = p.period AND x.start = p.start AND x.k = m.mark AND x.referrer_id = NEW.referrer_id);
END;
