-- The waiting room. A row holds a location only while its user waits: it is
-- deleted when the user is matched, stops waiting or goes quiet.
CREATE TABLE waiting (
    user_id       TEXT    PRIMARY KEY,
    lat           DOUBLE PRECISION    NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon           DOUBLE PRECISION    NOT NULL CHECK (lon BETWEEN -180 AND 180),
    range_km      DOUBLE PRECISION    NOT NULL CHECK (range_km > 0),
    -- Orders waiters for fairness: the waiting_log seq of the join.
    since         BIGINT NOT NULL,
    joined_at_us  BIGINT NOT NULL,
    -- The last sign of life (a page view or an open websocket's heartbeat).
    seen_at_us    BIGINT NOT NULL
);
CREATE INDEX waiting_seen ON waiting (seen_at_us);
CREATE INDEX waiting_joined ON waiting (joined_at_us);

-- Every change to the waiting room, so that each instance's in-memory index
-- catches up under the matchmaking lock by reading only what changed. It names
-- users, never locations.
CREATE TABLE waiting_log (
    seq     BIGSERIAL PRIMARY KEY,
    user_id TEXT    NOT NULL
);

CREATE TABLE conversations (
    id             TEXT    PRIMARY KEY,
    user_a         TEXT    NOT NULL,
    user_b         TEXT    NOT NULL CHECK (user_b <> user_a),
    -- Rounded when shown; the locations themselves are gone.
    distance_km    DOUBLE PRECISION    NOT NULL,
    started_at_us  BIGINT NOT NULL,
    ended_at_us    BIGINT,
    ended_by       TEXT,
    -- The seq of the last message.
    last_seq       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_a ON conversations (user_a, started_at_us);
CREATE INDEX conversations_b ON conversations (user_b, started_at_us);

-- Who is in an active conversation: one row per user at most, the backstop
-- against a double match.
CREATE TABLE active_members (
    user_id         TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id)
);

CREATE TABLE messages (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id),
    seq             BIGINT NOT NULL CHECK (seq > 0),
    sender_id       TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    sent_at_us      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, sender_id, client_id)
);

-- blocker never meets blocked again, and neither way round.
CREATE TABLE blocks (
    blocker_id    TEXT    NOT NULL,
    blocked_id    TEXT    NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- Reports raised; each is published as chat.report.filed.v1 for scs-users.
CREATE TABLE reports (
    id              TEXT    PRIMARY KEY,
    reporter_id     TEXT    NOT NULL,
    reported_id     TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL REFERENCES conversations (id),
    reason          TEXT    NOT NULL,
    reported_at_us  BIGINT NOT NULL
);

-- Users whose access changed (ban, deletion, revoked sessions), written by the
-- users consumer, so that every instance closes their open websockets.
CREATE TABLE access_changes (
    seq        BIGSERIAL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    -- The partner of a conversation the change ended, to tell them.
    partner_id TEXT,
    conversation_id TEXT,
    at_us      BIGINT NOT NULL
);
