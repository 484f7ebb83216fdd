-- Passwordless sign-in for couples (issue 15, docs/couples.md): a link emailed to the
-- account's address, usable once, for 15 minutes. Only the token's hash is kept.
CREATE TABLE sign_in_links (
    token_hash TEXT PRIMARY KEY,
    account_id ${uuid} NOT NULL REFERENCES accounts(id),
    created_at ${time} NOT NULL,
    expires_at ${time} NOT NULL,
    used_at    ${time}
);
CREATE INDEX sign_in_links_by_account ON sign_in_links(account_id, created_at);
