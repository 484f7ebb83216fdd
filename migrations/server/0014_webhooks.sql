-- Outgoing webhooks (issue 14, docs/webhooks.md): operators' subscriptions, the outbox of
-- events (written in the transaction that made the event), one delivery per event and
-- subscription, and each attempt. Written once for SQLite and PostgreSQL.

CREATE TABLE webhook_subscriptions (
    id              ${uuid} PRIMARY KEY,
    url             TEXT NOT NULL,
    -- The event types, space-separated with a space at each end (" referral.created "),
    -- so one LIKE finds the subscriptions of a type.
    event_types     TEXT NOT NULL,
    -- The signing key (`whsec_…`), shown to the operator once.
    secret          TEXT NOT NULL,
    description     TEXT,
    created_at      ${time} NOT NULL,
    disabled_at     ${time},
    disabled_reason TEXT,
    deleted_at      ${time}
);

-- The outbox: one row per event, its id the `webhook-id` every attempt carries.
CREATE TABLE webhook_events (
    id         ${uuid} PRIMARY KEY,
    event_type TEXT NOT NULL,
    -- The request body (JSON text), fixed when the event happened.
    payload    TEXT NOT NULL,
    created_at ${time} NOT NULL
);

CREATE TABLE webhook_deliveries (
    event_id        ${uuid} NOT NULL REFERENCES webhook_events(id),
    subscription_id ${uuid} NOT NULL REFERENCES webhook_subscriptions(id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at ${time} NOT NULL,
    -- A process's claim while it posts; a lapsed claim is free again.
    claimed_until   ${time},
    created_at      ${time} NOT NULL,
    PRIMARY KEY (event_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries(subscription_id, created_at);

CREATE TABLE webhook_attempts (
    event_id        ${uuid} NOT NULL,
    subscription_id ${uuid} NOT NULL,
    at              ${time} NOT NULL,
    status_code     BIGINT,
    error           TEXT,
    duration_ms     BIGINT NOT NULL,
    FOREIGN KEY (event_id, subscription_id) REFERENCES webhook_deliveries(event_id, subscription_id)
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(event_id, subscription_id, at);
