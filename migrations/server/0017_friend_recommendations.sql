-- A couple's recommendation of a supplier to a friend (issue 15, docs/couples.md): one
-- couple -> supplier referral per friend, so each is tracked and rewarded on its own. The
-- friend's address is not kept: the email is sent and forgotten.
CREATE TABLE friend_recommendations (
    referral_id ${uuid} PRIMARY KEY REFERENCES referrals(id),
    couple_id   ${uuid} NOT NULL REFERENCES accounts(id),
    supplier_id ${uuid} NOT NULL REFERENCES accounts(id),
    created_at  ${time} NOT NULL
);
-- The supplier's dashboard and the couple's page, newest first.
CREATE INDEX friend_recommendations_by_supplier ON friend_recommendations(supplier_id, created_at DESC);
CREATE INDEX friend_recommendations_by_couple ON friend_recommendations(couple_id, created_at DESC);
-- Acts through the recommendations API are listed for their supplier too.
CREATE INDEX recommendation_actions_by_supplier ON recommendation_actions(supplier_id, created_at DESC);
