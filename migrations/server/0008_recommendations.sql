-- Couple → supplier recommendations (issue 13, docs/metrics.md "Recommendations"): when an
-- account was last seen, what the platform reports of a supplier's reputation, and each
-- recommendation a couple acted on. A supplier's own profile is their synced `profile`
-- record (sync_records). Written once for SQLite and PostgreSQL.

-- A sign-in or an API call with the account's token, written at most hourly: a supplier
-- not seen for 90 days is never recommended.
ALTER TABLE accounts ADD COLUMN last_seen_at ${time};
CREATE INDEX accounts_by_trade ON accounts(vendor_type, last_seen_at);

-- Reviews live on the platform: it reports them here. Exact figures: the response rate
-- in basis points (0–10,000), the rating in hundredths of a star (0–500).
CREATE TABLE supplier_reputation (
    account_id       ${uuid} PRIMARY KEY REFERENCES accounts(id),
    response_rate_bp BIGINT CHECK (response_rate_bp BETWEEN 0 AND 10000),
    avg_rating_cs    BIGINT CHECK (avg_rating_cs BETWEEN 0 AND 500),
    review_count     BIGINT NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    couples_served   BIGINT NOT NULL DEFAULT 0 CHECK (couples_served >= 0),
    updated_at       ${time} NOT NULL
);

-- A recommendation a couple acted on and the couple -> supplier referral it became. Doing
-- the same again gives back the same referral.
CREATE TABLE recommendation_actions (
    id          ${uuid} PRIMARY KEY,
    couple_id   ${uuid} NOT NULL REFERENCES accounts(id),
    supplier_id ${uuid} NOT NULL REFERENCES accounts(id),
    action      TEXT NOT NULL CHECK (action IN ('invite_supplier', 'share_with_friend')),
    referral_id ${uuid} NOT NULL REFERENCES referrals(id),
    created_at  ${time} NOT NULL,
    UNIQUE (couple_id, supplier_id, action)
);
