-- The outbox is also the owner's event history: the bootstrap feed pages through it.
CREATE TABLE outbox (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT    NOT NULL UNIQUE,
    source            TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    occurred_at_us    INTEGER NOT NULL,
    aggregate_version INTEGER NOT NULL CHECK (aggregate_version > 0),
    traceparent       TEXT    NOT NULL DEFAULT '',
    data              TEXT    NOT NULL,
    sent_at_us        INTEGER
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at_us IS NULL;
