-- Accounts. A deleted account keeps its row, pseudonymised (no email, no name,
-- no password), so that the id other systems and our own records hold still
-- resolves and the aggregate version keeps counting.
CREATE TABLE users (
    id                    TEXT    PRIMARY KEY,
    -- Lower-cased; NULL once the account is deleted, which frees the address.
    email                 TEXT    UNIQUE,
    display_name          TEXT    NOT NULL,
    -- display_name folded to lower case by the system (Unicode-aware, unlike
    -- SQLite's lower()), for the admins' search.
    name_folded           TEXT    NOT NULL,
    -- PHC-encoded argon2id; '' once deleted.
    password_hash         TEXT    NOT NULL,
    role                  TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    status                TEXT    NOT NULL CHECK (status IN ('active', 'banned', 'deleted')),
    -- Tokens issued before this instant (Unix microseconds, whole seconds) are refused.
    tokens_valid_after_us BIGINT  NOT NULL,
    -- The users.user aggregate's version: the last event published about the row.
    version               BIGINT  NOT NULL CHECK (version > 0),
    created_at_us         BIGINT  NOT NULL,
    updated_at_us         BIGINT  NOT NULL
);

-- Server-side sessions. The token in the cookie names one (sid); the session,
-- not the token, decides whether the user is still logged in here.
CREATE TABLE sessions (
    id             TEXT   PRIMARY KEY,
    user_id        TEXT   NOT NULL REFERENCES users (id),
    created_at_us  BIGINT NOT NULL,
    last_seen_us   BIGINT NOT NULL,
    -- The absolute end, whatever the activity.
    expires_at_us  BIGINT NOT NULL,
    user_agent     TEXT   NOT NULL,
    ip             TEXT   NOT NULL,
    revoked_at_us  BIGINT,
    revoked_reason TEXT   NOT NULL DEFAULT '',
    -- The session that took over when this one was renewed (a new id after a
    -- privilege change), so that a request racing the renewal is not logged out.
    replaced_by    TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- What admins (or the command line, actor_id NULL) did to accounts.
CREATE TABLE moderation_log (
    id        TEXT   PRIMARY KEY,
    user_id   TEXT   NOT NULL REFERENCES users (id),
    actor_id  TEXT   REFERENCES users (id),
    action    TEXT   NOT NULL CHECK (action IN ('ban', 'unban', 'role')),
    -- The reason of a ban or unban, or the new role.
    detail    TEXT   NOT NULL,
    at_us     BIGINT NOT NULL
);
CREATE INDEX moderation_log_by_user ON moderation_log (user_id, at_us);

-- Reports about users, received from scs-chat (chat.report.filed.v1). The ids
-- are other systems' and may name users this system no longer knows by name.
CREATE TABLE reports (
    id                TEXT   PRIMARY KEY,
    reporter_id       TEXT   NOT NULL,
    reported_user_id  TEXT   NOT NULL,
    conversation_id   TEXT   NOT NULL,
    reason            TEXT   NOT NULL,
    reported_at_us    BIGINT NOT NULL,
    received_at_us    BIGINT NOT NULL,
    status            TEXT   NOT NULL CHECK (status IN ('open', 'dismissed', 'banned')),
    resolved_by       TEXT   REFERENCES users (id),
    resolved_at_us    BIGINT
);
CREATE INDEX reports_open ON reports (reported_at_us) WHERE status = 'open';

-- The Ed25519 keys that sign session tokens. The private half is sealed with
-- AES-256-GCM under KEY_ENCRYPTION_KEY, so that a copy of the database alone
-- cannot mint tokens.
CREATE TABLE signing_keys (
    kid             TEXT   PRIMARY KEY,
    public_key      TEXT   NOT NULL,
    sealed_private  TEXT   NOT NULL,
    -- Tokens verify with the key within [not_before, not_after).
    not_before_us   BIGINT NOT NULL,
    not_after_us    BIGINT NOT NULL,
    -- The key signs from here on, once it has had time to reach the consumers.
    signs_from_us   BIGINT NOT NULL,
    version         BIGINT NOT NULL CHECK (version > 0),
    created_at_us   BIGINT NOT NULL,
    -- Set by "keys revoke": the key verifies nothing any more.
    revoked_at_us   BIGINT,
    CHECK (not_before_us <= signs_from_us AND not_before_us < not_after_us)
);
