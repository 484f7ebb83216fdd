-- The desktop app's local database. Append-only: never edit a released migration.
-- Ids are UUID text, times fixed-format UTC text (so string order is time order),
-- money integer minor units. Rows are soft-deleted (deleted_at) so a delete can sync.

-- The device's sign-in: written once while online, read forever offline. The bearer
-- token is not here (it lives in the OS keyring or a user-only file).
CREATE TABLE session (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    server_url     TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    account_kind   TEXT NOT NULL CHECK (account_kind IN ('supplier', 'couple')),
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    code_namespace TEXT NOT NULL,
    signed_in_at   TEXT NOT NULL
);

CREATE TABLE contacts (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('couple', 'supplier')),
    names             TEXT NOT NULL,
    business_name     TEXT,
    vendor_type       TEXT,
    email             TEXT,
    phone             TEXT,
    wedding_date      TEXT,
    location          TEXT,
    budget_minor      INTEGER CHECK (budget_minor IS NULL OR budget_minor >= 0),
    budget_currency   TEXT,
    style             TEXT,
    notes             TEXT,
    tags              TEXT NOT NULL DEFAULT '',
    marketing_consent INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    deleted_at        TEXT
);
CREATE INDEX contacts_by_email ON contacts(email) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX contacts_by_phone ON contacts(phone) WHERE deleted_at IS NULL AND phone IS NOT NULL;

-- Full-text search over the fields people search by, kept in step by triggers.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    names, business_name, email, phone, location, notes, tags,
    content = 'contacts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, names, business_name, email, phone, location, notes, tags)
    VALUES (NEW.rowid, NEW.names, NEW.business_name, NEW.email, NEW.phone, NEW.location, NEW.notes, NEW.tags);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, names, business_name, email, phone, location, notes, tags)
    VALUES ('delete', OLD.rowid, OLD.names, OLD.business_name, OLD.email, OLD.phone, OLD.location, OLD.notes, OLD.tags);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, names, business_name, email, phone, location, notes, tags)
    VALUES ('delete', OLD.rowid, OLD.names, OLD.business_name, OLD.email, OLD.phone, OLD.location, OLD.notes, OLD.tags);
    INSERT INTO contacts_fts (rowid, names, business_name, email, phone, location, notes, tags)
    VALUES (NEW.rowid, NEW.names, NEW.business_name, NEW.email, NEW.phone, NEW.location, NEW.notes, NEW.tags);
END;

-- Wedding fairs and other events.
CREATE TABLE fairs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    date       TEXT,
    place      TEXT,
    notes      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

-- Referral codes made on this device, offline, in its code namespace.
CREATE TABLE codes (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    method          TEXT NOT NULL CHECK (method IN ('email', 'link', 'qr', 'social')),
    fair_id         TEXT REFERENCES fairs(id),
    utm_source      TEXT,
    utm_medium      TEXT,
    utm_campaign    TEXT,
    message         TEXT,
    incentive       TEXT,
    link            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX codes_by_fair ON codes(fair_id);

-- Couples' details typed at a fair booth: each becomes a contact and, on sync, a
-- fair-lead touch on the code shown, at the time it was really captured.
CREATE TABLE fair_leads (
    id           TEXT PRIMARY KEY,
    fair_id      TEXT NOT NULL REFERENCES fairs(id),
    code_id      TEXT NOT NULL REFERENCES codes(id),
    contact_id   TEXT NOT NULL REFERENCES contacts(id),
    captured_at  TEXT NOT NULL
);
CREATE INDEX fair_leads_by_fair ON fair_leads(fair_id);

-- Invitations from the supplier to a couple (the seed's couple_invitations). Each has
-- its own referral code; the message is stored as rendered. Queued ones wait here (and
-- in the outbox) for delivery; expires_at is 30 days after sending.
CREATE TABLE invitations (
    id                TEXT PRIMARY KEY,
    contact_id        TEXT REFERENCES contacts(id),
    code_id           TEXT NOT NULL REFERENCES codes(id),
    couple_names      TEXT NOT NULL,
    email             TEXT NOT NULL,
    phone             TEXT,
    wedding_date      TEXT,
    personal_message  TEXT NOT NULL,
    discount_offered  TEXT,
    exclusive_content TEXT,
    forms_shared      TEXT NOT NULL DEFAULT '',
    prefilled_data    TEXT NOT NULL DEFAULT '{}',
    status            TEXT NOT NULL CHECK (status IN ('draft', 'queued', 'sent', 'opened', 'joined', 'expired')),
    batch_number      INTEGER,
    send_after        TEXT,
    sent_at           TEXT,
    expires_at        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX invitations_by_status ON invitations(status, send_after);

-- Every write that must reach the server, in the order made, written in the same
-- transaction as the record it describes. The sync engine drains it.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
