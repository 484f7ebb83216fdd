-- Sync (docs/sync.md): devices' records merged per field, numbered per account so
-- devices can pull "everything after change N"; each device's pushes numbered so a
-- replay is a no-op and a gap is refused.

-- The last change number of this device that the server has applied.
ALTER TABLE devices ADD COLUMN applied_through BIGINT NOT NULL DEFAULT 0;

-- The account's change counter. Taking the next number locks this row until commit,
-- so numbers become visible in order and without gaps.
CREATE TABLE sync_accounts (
    account_id  UUID PRIMARY KEY REFERENCES accounts(id),
    last_change BIGINT NOT NULL DEFAULT 0
);

-- One row per record: its fields and their clocks (JSON text, opaque to SQL), its
-- delete clock, and the account's change number of its last change.
CREATE TABLE sync_records (
    account_id UUID NOT NULL REFERENCES accounts(id),
    entity     TEXT NOT NULL,
    id         UUID NOT NULL,
    fields     TEXT NOT NULL,
    clocks     TEXT NOT NULL,
    deleted    TEXT,
    change     BIGINT NOT NULL,
    PRIMARY KEY (account_id, entity, id)
);
CREATE UNIQUE INDEX sync_records_by_change ON sync_records(account_id, change);
