-- Sync (docs/sync.md). Every synced table can hold tombstones; each record's sync
-- metadata keeps the values last stamped (to see which fields an edit changed) and the
-- clock of each field's last write.
ALTER TABLE codes ADD COLUMN deleted_at TEXT;
ALTER TABLE invitations ADD COLUMN deleted_at TEXT;
ALTER TABLE fair_leads ADD COLUMN deleted_at TEXT;

CREATE TABLE sync_meta (
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    fields    TEXT NOT NULL,
    clocks    TEXT NOT NULL,
    deleted   TEXT,
    PRIMARY KEY (entity, entity_id)
);

-- Where this device stands: the pull cursor and its epoch, the offset from outbox
-- numbers to the device's change numbers, the newest clock made or seen, the server's
-- time minus ours, and the outcome of the last sync.
CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    cursor          INTEGER NOT NULL DEFAULT 0,
    epoch           TEXT,
    seq_base        INTEGER NOT NULL DEFAULT 0,
    last_clock      TEXT,
    clock_offset_ms INTEGER NOT NULL DEFAULT 0,
    last_sync_at    TEXT,
    last_attempt_at TEXT,
    last_error      TEXT,
    needs_snapshot  INTEGER NOT NULL DEFAULT 0
);
-- Records made before sync existed never went anywhere: send them all once.
INSERT INTO sync_state (id, needs_snapshot)
VALUES (1, EXISTS (SELECT 1 FROM contacts) OR EXISTS (SELECT 1 FROM fairs) OR EXISTS (SELECT 1 FROM codes));
-- Their outbox rows described whole records in the pre-sync shape; the snapshot
-- replaces them.
DELETE FROM outbox;

-- What the server last said (the dashboard's stats, codes' live status), kept to show
-- offline with its "as of" time.
CREATE TABLE server_view (
    name       TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);

-- Pulled records keep the fields this device has not sent yet: found by record.
CREATE INDEX outbox_by_record ON outbox(entity, entity_id);
