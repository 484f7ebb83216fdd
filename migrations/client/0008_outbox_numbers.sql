-- The outbox's next number lives in sync_state, whose page every local save already
-- writes for its clock, instead of SQLite's sqlite_sequence, one more page written per
-- save by AUTOINCREMENT (issue 17: counted, 16.5 -> 15.4 write-ahead log pages per saved
-- contact; docs/performance.md). Numbers still never go back: a drained outbox continues
-- from next_seq, so the server never mistakes a new change for one it already applied.
ALTER TABLE sync_state ADD COLUMN next_seq INTEGER NOT NULL DEFAULT 1;
UPDATE sync_state SET next_seq = MAX(
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),
    COALESCE((SELECT MAX(seq) FROM outbox), 0)) + 1
WHERE id = 1;

CREATE TABLE outbox_numbered (
    seq        INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO outbox_numbered (seq, entity, entity_id, op, payload, created_at)
SELECT seq, entity, entity_id, op, payload, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_numbered RENAME TO outbox;
CREATE INDEX outbox_by_record ON outbox(entity, entity_id);
