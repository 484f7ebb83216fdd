-- Wrong passwords in a row per email address and client address (issue 16,
-- docs/security.md): they slow the answer and then lock sign-in for a while. Keyed by
-- keyed hashes, never the address or IP themselves, and counted whether or not the email
-- has an account, so the count tells nobody which emails are registered; per client
-- address, so nobody can lock an account holder out from elsewhere. In the database, so
-- every server process sees the same count. Cleared by a right password or a used link.
CREATE TABLE sign_in_failures (
    email_hash TEXT NOT NULL,
    client_hash TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failed_at ${time} NOT NULL,
    locked_until ${time},
    PRIMARY KEY (email_hash, client_hash)
);
