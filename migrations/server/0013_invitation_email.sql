-- Invitation email (issue 14, docs/email.md): the delivery of each invitation a supplier
-- queued, each supplier's pacing, and the addresses that unsubscribed. Written once for
-- SQLite and PostgreSQL.
--
-- The invitation itself (address, names, message) stays in its synced record
-- (sync_records): the sender reads it when the invitation's turn comes, so an edit made
-- while it waits is what the couple reads, and no second copy of the address is kept.

CREATE TABLE invitation_emails (
    -- The invitation's id (its synced record's).
    id              ${uuid} PRIMARY KEY,
    account_id      ${uuid} NOT NULL REFERENCES accounts(id),
    -- The invitation's referral code (fixed when the code was made). The email's link is
    -- made from it and the deployment's public URL, never taken from a device.
    referral_code   TEXT NOT NULL,
    -- For the urgency order (weddings under 3 months away first).
    wedding_date    ${date},
    -- queued → sending → sent | failed; queued → cancelled (the supplier took it back).
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    -- Failed attempts so far (a relay answering "try later", a refused connection).
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- Not before: the supplier's own send time, or the next retry.
    next_attempt_at ${time} NOT NULL,
    last_error      TEXT,
    -- The server process whose batch holds it, until when. A claim that lapses while
    -- queued is free again; one that lapses while sending means that process stopped
    -- mid-send, and the email is never sent a second time (docs/email.md).
    claimed_by      TEXT,
    claimed_until   ${time},
    -- The keyed hash of the address it went to: the unsubscribe link's token.
    address_hash    TEXT,
    queued_at       ${time} NOT NULL,
    sent_at         ${time},
    updated_at      ${time} NOT NULL
);
CREATE INDEX invitation_emails_waiting ON invitation_emails(status, account_id, next_attempt_at);
CREATE INDEX invitation_emails_by_account ON invitation_emails(account_id, queued_at);
CREATE INDEX invitation_emails_by_token ON invitation_emails(address_hash);

-- One row per supplier who has sent: when their next batch may start, and how many
-- invitations went on `day` (UTC) against the daily cap. Its row lock is what keeps two
-- server processes from sending one supplier's batches at once.
CREATE TABLE email_pacing (
    account_id    ${uuid} PRIMARY KEY REFERENCES accounts(id),
    next_batch_at ${time} NOT NULL,
    day           ${date} NOT NULL,
    sent_on_day   BIGINT NOT NULL DEFAULT 0
);

-- Addresses that unsubscribed, by keyed hash (the address itself is not kept): no
-- supplier's invitation goes to them again.
CREATE TABLE email_suppressions (
    address_hash TEXT PRIMARY KEY,
    created_at   ${time} NOT NULL
);
