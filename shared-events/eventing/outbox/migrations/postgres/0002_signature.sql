-- Each event is signed by its owner as it is stored, in the transaction of the
-- change (see eventsig): a row written into the table by anyone else has no
-- valid signature, and every consumer refuses it.
ALTER TABLE outbox ADD COLUMN signature_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN signature TEXT NOT NULL DEFAULT '';
-- The rows stored before signatures existed, which the relay signs once
-- (Outbox.SignStored); a row without a signature stored later stays unsigned.
CREATE TABLE outbox_unsigned_through (seq BIGINT NOT NULL);
INSERT INTO outbox_unsigned_through (seq) SELECT COALESCE(MAX(seq), 0) FROM outbox;
