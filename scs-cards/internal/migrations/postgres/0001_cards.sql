-- A holder's card account: one per user. Money is in minor units of currency.
--
-- Available credit is credit_limit_minor - posted_minor - held_minor. An
-- authorisation adds its hold in one conditional UPDATE that checks it; the
-- CHECK below is the backstop. Only a forced posting may take the account past
-- its limit, and over_limit_minor records how far, so that the backstop holds
-- exactly (over_limit_minor = 0) for every account that was never forced over.
CREATE TABLE accounts (
    id                    TEXT    PRIMARY KEY,
    user_id               TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    currency              TEXT    NOT NULL CHECK (length(currency) = 3),
    credit_limit_minor    BIGINT  NOT NULL CHECK (credit_limit_minor >= 0),
    -- What the holder owes: posted purchases less payments.
    posted_minor          BIGINT  NOT NULL DEFAULT 0,
    -- The holds of pending authorisations.
    held_minor            BIGINT  NOT NULL DEFAULT 0 CHECK (held_minor >= 0),
    over_limit_minor      BIGINT  NOT NULL DEFAULT 0 CHECK (over_limit_minor >= 0),
    status                TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    closed_reason         TEXT,
    version               BIGINT  NOT NULL CHECK (version > 0),
    opened_at_us          BIGINT  NOT NULL,
    closed_at_us          BIGINT,
    -- Statements cover every period that ended up to here.
    statements_through_us BIGINT  NOT NULL,
    CHECK (posted_minor + held_minor <= credit_limit_minor + over_limit_minor)
);

-- Cards never hold a card number: last4 and the expiry are all there is.
CREATE TABLE cards (
    id           TEXT    PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    user_id      TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('physical', 'virtual')),
    brand        TEXT    NOT NULL,
    last4        TEXT    NOT NULL CHECK (length(last4) = 4),
    expires      TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'frozen', 'cancelled')),
    -- Who froze a frozen card: a ban's freeze ends with the ban, the holder's
    -- stays.
    frozen_by    TEXT,
    version      BIGINT  NOT NULL CHECK (version > 0),
    issued_at_us BIGINT  NOT NULL
);
CREATE INDEX cards_account ON cards (account_id, issued_at_us);
CREATE INDEX cards_user ON cards (user_id);

-- Every change of a card's status: who, why, when.
CREATE TABLE card_changes (
    seq         BIGSERIAL PRIMARY KEY,
    card_id     TEXT    NOT NULL REFERENCES cards (id),
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    actor_id    TEXT,
    reason      TEXT    NOT NULL,
    at_us       BIGINT  NOT NULL
);
CREATE INDEX card_changes_card ON card_changes (card_id, seq);

-- Statements are issued once per account and period and never change.
CREATE TABLE statements (
    id              TEXT    PRIMARY KEY,
    account_id      TEXT    NOT NULL REFERENCES accounts (id),
    period_start_us BIGINT  NOT NULL,
    period_end_us   BIGINT  NOT NULL CHECK (period_end_us > period_start_us),
    opening_minor   BIGINT  NOT NULL,
    purchases_minor BIGINT  NOT NULL CHECK (purchases_minor >= 0),
    payments_minor  BIGINT  NOT NULL CHECK (payments_minor >= 0),
    closing_minor   BIGINT  NOT NULL,
    due_minor       BIGINT  NOT NULL CHECK (due_minor >= 0),
    due_date        TEXT    NOT NULL,
    issued_at_us    BIGINT  NOT NULL,
    UNIQUE (account_id, period_start_us),
    CHECK (closing_minor = opening_minor + purchases_minor - payments_minor)
);
CREATE INDEX statements_account ON statements (account_id, period_start_us);
CREATE FUNCTION statements_never_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued statement never changes';
END;
$$;
CREATE TRIGGER statements_never_change BEFORE UPDATE ON statements
    FOR EACH ROW EXECUTE FUNCTION statements_never_change();

-- The ledger: every purchase (authorised, then posted, voided or expired; or
-- declined; or forced) and every payment. seq orders the account's list, newest
-- first, and pages it by keyset.
CREATE TABLE transactions (
    seq               BIGSERIAL PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    account_id        TEXT    NOT NULL REFERENCES accounts (id),
    card_id           TEXT    REFERENCES cards (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('purchase', 'payment')),
    merchant          TEXT    NOT NULL,
    -- Asked for (a purchase) or paid (a payment).
    amount_minor      BIGINT  NOT NULL CHECK (amount_minor > 0),
    -- What was posted to the account once posted: a capture may take less.
    posted_minor      BIGINT  CHECK (posted_minor > 0),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'posted', 'declined', 'voided', 'expired')),
    decline_reason    TEXT,
    forced            BIGINT  NOT NULL DEFAULT 0,
    created_at_us     BIGINT  NOT NULL,
    expires_at_us     BIGINT,
    settled_at_us     BIGINT,
    -- The statement that took the posting in, set once when it is issued.
    statement_id      TEXT    REFERENCES statements (id),
    -- The statement a payment pays.
    pays_statement_id TEXT    REFERENCES statements (id),
    CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CHECK ((status = 'posted') = (posted_minor IS NOT NULL)),
    CHECK (kind = 'purchase' OR (status = 'posted' AND card_id IS NULL))
);
CREATE INDEX transactions_account ON transactions (account_id, seq);
CREATE INDEX transactions_expiring ON transactions (expires_at_us) WHERE status = 'pending';
CREATE INDEX transactions_unstated ON transactions (account_id, settled_at_us) WHERE status = 'posted' AND statement_id IS NULL;
CREATE INDEX transactions_payments ON transactions (pays_statement_id) WHERE pays_statement_id IS NOT NULL;

-- Idempotency: the key, the hash of its request and the answer, stored in the
-- transaction of the effect. scope is the caller: the terminal credential or an
-- admin.
CREATE TABLE idempotency_keys (
    scope         TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        BIGINT  NOT NULL,
    body          TEXT    NOT NULL,
    created_at_us BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at_us);
