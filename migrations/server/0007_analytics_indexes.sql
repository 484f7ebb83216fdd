-- Growth analytics (docs/metrics.md) read by time and by referrer. Without these a
-- supplier's dashboard joined every reward and every conversion on the server, and the
-- platform's loop compared every account's email with every platform user's.

-- The platform's reports: the referrals made in a range.
CREATE INDEX referrals_by_time ON referrals(created_at);
-- Rewards of the range's referrals (money: paid, pending, ROI).
CREATE INDEX rewards_by_referral ON rewards(referral_id);
-- An account's own successful referrals (the loop's cycle time).
CREATE INDEX conversions_by_referrer ON conversions(referrer_id, converted_at);
-- The platform user an account joined as: emails compared as the mailbox sees case.
CREATE INDEX platform_users_by_email ON platform_users(LOWER(email));
