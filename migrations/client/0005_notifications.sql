-- Notifications (docs/notifications.md). The notifications themselves are the server's
-- (saved as the `notifications` server view each sync round); here is what is the app's:
-- which it has shown, and the account's email choices — a choice made offline waits
-- (`pending`) until a sync round sends it.
CREATE TABLE notification_choices (
    kind       TEXT PRIMARY KEY,
    email      INTEGER NOT NULL,
    pending    INTEGER NOT NULL DEFAULT 0,
    changed_at TEXT NOT NULL
);

-- One row: the newest notification the supplier has seen.
CREATE TABLE notifications_seen (
    only    INTEGER PRIMARY KEY CHECK (only = 1),
    seen_at TEXT NOT NULL
);
