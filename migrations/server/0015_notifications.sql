-- Notifications (issue 14, docs/notifications.md): what an account is told, in the app
-- (through sync) and by email, and which kinds it wants by email. Written once for
-- SQLite and PostgreSQL.

CREATE TABLE notifications (
    id              ${uuid} PRIMARY KEY,
    account_id      ${uuid} NOT NULL REFERENCES accounts(id),
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      ${time} NOT NULL,
    -- Its email: pending until sent; 'off' when the account turned the kind off,
    -- 'suppressed' when the address unsubscribed from every email.
    email_status    TEXT NOT NULL DEFAULT 'pending'
                    CHECK (email_status IN ('pending', 'sent', 'failed', 'off', 'suppressed')),
    email_attempts  BIGINT NOT NULL DEFAULT 0,
    -- When to try again after a relay's "try later"; NULL: as soon as possible.
    email_next_at   ${time},
    -- A process's claim while it sends; a lapsed claim is free again.
    email_claimed_until ${time},
    email_error     TEXT,
    emailed_at      ${time}
);
CREATE INDEX notifications_by_account ON notifications(account_id, created_at);
CREATE INDEX notifications_email_due ON notifications(email_status, email_next_at);

-- An account's choice per kind; a kind without a row is emailed.
CREATE TABLE notification_preferences (
    account_id ${uuid} NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    email      ${bool} NOT NULL,
    updated_at ${time} NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- When a campaign's start was announced to the accounts it covers (once, by whichever
-- process sees it first). Campaigns already running before notifications existed are
-- not announced now.
ALTER TABLE campaigns ADD COLUMN announced_at ${time};
UPDATE campaigns SET announced_at = updated_at WHERE status NOT IN ('draft', 'scheduled');
