-- Wrong passwords in a row per account (issue 16, docs/security.md): they slow the answer
-- and then lock the account for a while. In the database, so every server process sees
-- the same count. Cleared by a right password or a used sign-in link.
CREATE TABLE sign_in_failures (
    account_id ${uuid} PRIMARY KEY REFERENCES accounts(id),
    failures BIGINT NOT NULL,
    last_failed_at ${time} NOT NULL,
    locked_until ${time}
);
