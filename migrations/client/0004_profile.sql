-- The supplier's profile for couples' recommendations (docs/metrics.md): one row, its id
-- the account's id, synced as the `profile` record. Lists are comma-separated text.
CREATE TABLE profiles (
    id               TEXT PRIMARY KEY,
    location         TEXT,
    styles           TEXT,
    budget_min_minor INTEGER,
    budget_max_minor INTEGER,
    booked_dates     TEXT,
    updated_at       TEXT,
    deleted_at       TEXT
);
