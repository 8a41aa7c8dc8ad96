-- What a consuming system knows about users, replicated from scs-users' events.
-- A deleted user keeps a row (status 'deleted', no name) so that old records that
-- name the user still resolve and a late event cannot bring the user back.
CREATE TABLE users_replica (
    user_id              TEXT    PRIMARY KEY,
    display_name         TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    -- Tokens issued before this instant (Unix microseconds) are refused.
    tokens_valid_after_us BIGINT NOT NULL
);
-- Sessions scs-users has revoked; a token naming one of them is refused.
CREATE TABLE revoked_sessions (
    session_id     TEXT    PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    revoked_at_us  BIGINT NOT NULL
);
-- Public keys scs-users signs tokens with, by kid.
CREATE TABLE signing_keys (
    kid            TEXT    PRIMARY KEY,
    algorithm      TEXT    NOT NULL,
    public_key     TEXT    NOT NULL,
    not_before_us  BIGINT NOT NULL,
    not_after_us   BIGINT NOT NULL
);
