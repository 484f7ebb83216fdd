-- Marks the days whose analytics must be rebuilt (analytics_days, migration 9) in the
-- transaction that changes their facts: a referral made, a touch recorded or linked to a
-- person, a person's sign-up, activation, churn or refund, a conversion, a reward earned
-- or changing status, a fraud decision. A change about a person marks the day of every referral they touched, since
-- their first touch decides whose they are. Every day with referrals starts marked.
-- (No INSERT OR IGNORE in a trigger: an upsert that fires it would override the IGNORE.)
INSERT INTO analytics_dirty_days (day) SELECT DISTINCT substr(created_at, 1, 10) FROM referrals;

CREATE TRIGGER analytics_referral_made AFTER INSERT ON referrals BEGIN
    INSERT INTO analytics_dirty_days (day) SELECT substr(NEW.created_at, 1, 10)
        WHERE NOT EXISTS (SELECT 1 FROM analytics_dirty_days WHERE day = substr(NEW.created_at, 1, 10));
END;

CREATE TRIGGER analytics_touch_recorded AFTER INSERT ON touches BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT substr(r.created_at, 1, 10) FROM referrals r
        WHERE r.id = NEW.referral_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.platform_user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_touch_linked AFTER UPDATE OF platform_user_id ON touches BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id IN (NEW.platform_user_id, OLD.platform_user_id) AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_person_added AFTER INSERT ON platform_users BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_person_changed AFTER UPDATE ON platform_users BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_conversion_added AFTER INSERT ON conversions BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.platform_user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_conversion_changed AFTER UPDATE ON conversions BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.platform_user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_fraud_assessed AFTER INSERT ON fraud_subjects BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.platform_user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_fraud_decided AFTER UPDATE OF action ON fraud_subjects BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT DISTINCT substr(r.created_at, 1, 10) FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = NEW.platform_user_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_reward_added AFTER INSERT ON rewards BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT substr(r.created_at, 1, 10) FROM referrals r
        WHERE r.id = NEW.referral_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;

CREATE TRIGGER analytics_reward_changed AFTER UPDATE OF status ON rewards BEGIN
    INSERT INTO analytics_dirty_days (day)
        SELECT substr(r.created_at, 1, 10) FROM referrals r
        WHERE r.id = NEW.referral_id AND substr(r.created_at, 1, 10) NOT IN (SELECT day FROM analytics_dirty_days);
END;
