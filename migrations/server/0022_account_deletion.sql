-- Deleting an account and forgetting old visits (issue 16, docs/privacy.md). A deleted
-- account keeps its row — referrals, rewards and the ledger point at it and their totals
-- must stay whole — with every personal field cleared and this time set; nothing is sent
-- to it again and nobody signs in as it.
ALTER TABLE accounts ADD COLUMN deleted_at ${time};

-- Retention walks touches and leads by age: without these it would read every row of the
-- busiest table once a scheduler round. Partial: a row leaves its index once it is
-- anonymised, so each stays the size of the retention window.
CREATE INDEX touches_personal_by_time ON touches(occurred_at)
    WHERE ip_hash IS NOT NULL OR visitor_key IS NOT NULL OR user_agent IS NOT NULL OR referer IS NOT NULL;
CREATE INDEX leads_personal_by_time ON leads(created_at) WHERE email <> '';
