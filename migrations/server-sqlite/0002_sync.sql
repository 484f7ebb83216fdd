-- Sync (docs/sync.md): devices' records merged per field, numbered per account so
-- devices can pull "everything after change N"; each device's pushes numbered so a
-- replay is a no-op and a gap is refused.

-- The last change number of this device that the server has applied.
ALTER TABLE devices ADD COLUMN applied_through INTEGER NOT NULL DEFAULT 0;

-- The account's change counter. Taking the next number locks this row until commit,
-- so numbers become visible in order and without gaps.
CREATE TABLE sync_accounts (
    account_id  TEXT PRIMARY KEY REFERENCES accounts(id),
    last_change INTEGER NOT NULL DEFAULT 0
);

-- One row per record: its fields and their clocks (JSON), its delete clock, and the
-- account's change number of its last change (a record changed twice is pulled once).
CREATE TABLE sync_records (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    entity     TEXT NOT NULL,
    id         TEXT NOT NULL,
    fields     TEXT NOT NULL,
    clocks     TEXT NOT NULL,
    deleted    TEXT,
    change     INTEGER NOT NULL,
    PRIMARY KEY (account_id, entity, id)
);
CREATE UNIQUE INDEX sync_records_by_change ON sync_records(account_id, change);
