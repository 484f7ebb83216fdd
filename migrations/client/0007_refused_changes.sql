-- Changes the server refused (issue 16): set aside from the outbox, so the changes behind
-- them still go, and shown in the app with the server's reason until the user fixes the
-- record (saving it again supersedes the refused change) or discards the change.
CREATE TABLE refused_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    refused_at  TEXT NOT NULL
);
CREATE INDEX refused_changes_by_record ON refused_changes(entity, entity_id);
