-- Marks the days whose analytics must be rebuilt (analytics_days, migration 9) in the
-- transaction that changes their facts: a referral made, a touch recorded or linked to a
-- person, a person's sign-up, activation, churn or refund, a conversion, a reward earned
-- or changing status, a fraud decision. A change about a person marks the day of every
-- referral they touched, since their first touch decides whose they are. Every day with
-- referrals starts marked.
--
-- A writer holds each of its marks (FOR KEY SHARE: writers never block each other) until
-- it commits, so a rebuild removing a mark waits for the changes in flight and then reads
-- them; without the lock, a change whose mark already existed could commit just after a
-- rebuild read the day and be lost to the rollup.
INSERT INTO analytics_dirty_days (day)
    SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM referrals ON CONFLICT DO NOTHING;

CREATE FUNCTION analytics_mark_days(days TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    missing BIGINT;
BEGIN
    IF days IS NULL OR cardinality(days) = 0 THEN
        RETURN;
    END IF;
    LOOP
        INSERT INTO analytics_dirty_days (day) SELECT DISTINCT d FROM unnest(days) AS d ORDER BY d ON CONFLICT DO NOTHING;
        PERFORM 1 FROM analytics_dirty_days WHERE day = ANY (days) ORDER BY day FOR KEY SHARE;
        -- A mark a rebuild removed between the two statements: mark it again.
        SELECT count(*) INTO missing FROM unnest(days) AS d WHERE NOT EXISTS (SELECT 1 FROM analytics_dirty_days WHERE day = d);
        EXIT WHEN missing = 0;
    END LOOP;
END
$$;

CREATE FUNCTION analytics_mark_person(person TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF person IS NULL THEN
        RETURN;
    END IF;
    PERFORM analytics_mark_days(ARRAY(
        SELECT DISTINCT to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM touches t JOIN referrals r ON r.id = t.referral_id
        WHERE t.platform_user_id = person
    ));
END
$$;

CREATE FUNCTION analytics_mark_referral(referral UUID) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_days(ARRAY(
        SELECT to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM referrals r WHERE r.id = referral
    ));
END
$$;

CREATE FUNCTION analytics_referral_made() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_days(ARRAY[to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')]);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_referral_made AFTER INSERT ON referrals FOR EACH ROW EXECUTE FUNCTION analytics_referral_made();

CREATE FUNCTION analytics_touch_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_referral(NEW.referral_id);
    PERFORM analytics_mark_person(NEW.platform_user_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_touch_recorded AFTER INSERT ON touches FOR EACH ROW EXECUTE FUNCTION analytics_touch_recorded();

CREATE FUNCTION analytics_touch_linked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_person(NEW.platform_user_id);
    PERFORM analytics_mark_person(OLD.platform_user_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_touch_linked AFTER UPDATE OF platform_user_id ON touches FOR EACH ROW EXECUTE FUNCTION analytics_touch_linked();

CREATE FUNCTION analytics_person_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_person(NEW.user_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_person_changed AFTER INSERT OR UPDATE ON platform_users FOR EACH ROW EXECUTE FUNCTION analytics_person_changed();

CREATE FUNCTION analytics_person_of_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_person(NEW.platform_user_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_conversion_changed AFTER INSERT OR UPDATE ON conversions FOR EACH ROW EXECUTE FUNCTION analytics_person_of_row_changed();
CREATE TRIGGER analytics_fraud_assessed AFTER INSERT ON fraud_subjects FOR EACH ROW EXECUTE FUNCTION analytics_person_of_row_changed();
CREATE TRIGGER analytics_fraud_decided AFTER UPDATE OF action ON fraud_subjects FOR EACH ROW EXECUTE FUNCTION analytics_person_of_row_changed();

CREATE FUNCTION analytics_reward_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_mark_referral(NEW.referral_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER analytics_reward_added AFTER INSERT ON rewards FOR EACH ROW EXECUTE FUNCTION analytics_reward_changed();
CREATE TRIGGER analytics_reward_changed AFTER UPDATE OF status ON rewards FOR EACH ROW EXECUTE FUNCTION analytics_reward_changed();
