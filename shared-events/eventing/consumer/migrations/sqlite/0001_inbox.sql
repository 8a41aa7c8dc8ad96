-- Events this system has processed, so that a redelivery changes nothing.
CREATE TABLE inbox (
    event_id       TEXT    PRIMARY KEY,
    queue          TEXT    NOT NULL,
    processed_at_us INTEGER NOT NULL
);
-- The newest version of every replicated aggregate, so that an older event changes nothing.
CREATE TABLE aggregate_versions (
    aggregate TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (aggregate, subject)
);
-- One row per owner once the replica has caught up from the owner's feed.
CREATE TABLE replication_state (
    owner              TEXT    PRIMARY KEY,
    bootstrapped_at_us INTEGER NOT NULL,
    feed_sequence      INTEGER NOT NULL
);
