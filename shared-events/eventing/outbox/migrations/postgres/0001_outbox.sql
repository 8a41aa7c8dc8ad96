-- The outbox is also the owner's event history: the bootstrap feed pages through it.
CREATE TABLE outbox (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          TEXT   NOT NULL UNIQUE,
    source            TEXT   NOT NULL,
    type              TEXT   NOT NULL,
    subject           TEXT   NOT NULL,
    occurred_at_us    BIGINT NOT NULL,
    aggregate_version BIGINT NOT NULL CHECK (aggregate_version > 0),
    traceparent       TEXT   NOT NULL DEFAULT '',
    data              TEXT   NOT NULL,
    sent_at_us        BIGINT
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at_us IS NULL;
