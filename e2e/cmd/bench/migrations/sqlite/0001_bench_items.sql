-- The replica the benchmark's consumer upserts into: the smallest table a real
-- replica would have.
CREATE TABLE bench_items (
    id      TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    name    TEXT    NOT NULL,
    email   TEXT    NOT NULL
);
