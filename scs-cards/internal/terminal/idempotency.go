package terminal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
)

// The refusals of the idempotency layer.
var (
	replyInFlight = func() Reply {
		return refusal(Conflicting, "request_in_progress",
			"A request with this Idempotency-Key is being handled right now; retry once it has been answered.", "")
	}
	replyKeyReused = func() Reply {
		return refusal(Invalid, "idempotency_key_reused",
			"This Idempotency-Key was used for a different request; use a new key for a new request.", "")
	}
)

// keepKeys is how long an idempotency key and its answer are kept.
const keepKeys = 24 * time.Hour

// MaxKeyLength bounds an Idempotency-Key.
const MaxKeyLength = 255

// operation is one effect under an idempotency key: it runs in the
// transaction that stores the key, and answers with an outcome and a value
// that is stored as JSON.
type operation func(ctx context.Context, tx *sql.Tx, now time.Time) (outcome Outcome, body any, err error)

// idempotent runs op once per (scope, key): the key, the hash of the request
// and the answer are stored in op's transaction, so that either all of it
// happened or none. A retry with the same request gets the stored answer; with
// a different request, Invalid; while the first is still being handled,
// Conflicting.
//
// The statements that op runs on its hot path (see exec and scan), listed by
// statements (nil for none), are prepared before its transaction begins, with
// the key's own.
func (s *Service) idempotent(ctx context.Context, scope, key, name string, request any, statements func() []string, op operation) (Reply, error) {
	hash, err := requestHash(name, request)
	if err != nil {
		return Reply{}, err
	}
	// Within the process, a second request with the key is refused at once
	// rather than queueing behind the first; across PostgreSQL instances the
	// advisory lock below does the same.
	inflight := scope + "\n" + key
	if _, busy := s.inflight.LoadOrStore(inflight, struct{}{}); busy {
		return replyInFlight(), nil
	}
	defer s.inflight.Delete(inflight)
	hot := s.keyStatements()
	if statements != nil {
		hot = append(hot, statements()...)
	}
	if err := s.prepare(ctx, hot); err != nil {
		return Reply{}, wrap(name, err)
	}

	reply, err := s.once(ctx, scope, key, inflight, hash, op)
	if errors.Is(err, errKeyTaken) {
		// Another instance stored the key after this transaction's snapshot
		// (see once): it rolled back, and a second try finds the answer.
		reply, err = s.once(ctx, scope, key, inflight, hash, op)
	}
	if err != nil {
		return Reply{}, wrap(name, err)
	}
	return reply, nil
}

// errKeyTaken is a key stored by another transaction between this one's
// look-up and its insert.
var errKeyTaken = errors.New("the idempotency key was stored meanwhile")

// qStoreKey stores a key with its answer.
const qStoreKey = `INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at_us) VALUES ($1, $2, $3, $4, $5, $6)`

// lockAndFindKey is the statement that takes the key's advisory lock ($1,
// see sqldb.DB.TryAdvisoryLock) and looks the key up, in one round trip. It
// always returns a row: the lock's result, and the key's columns or NULLs.
func (s *Service) lockAndFindKey() string {
	return `SELECT ` + s.DB.TryAdvisoryLock("$1") + `, k.request_hash, k.status, k.body
		FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k ON k.scope = $2 AND k.key = $3`
}

// keyStatements are the statements once runs.
func (s *Service) keyStatements() []string {
	return []string{s.lockAndFindKey(), qStoreKey}
}

// once is one try of idempotent's transaction.
func (s *Service) once(ctx context.Context, scope, key, inflight, hash string, op operation) (Reply, error) {
	var reply Reply
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var stored sql.NullString
		var outcome sql.NullInt64
		var body []byte
		// Across instances, the advisory lock refuses a key in flight. The
		// look-up shares its statement, and so reads from a snapshot taken
		// just before the lock: a first request that commits in between is
		// found by the insert's unique key instead (errKeyTaken), and then by
		// the second try.
		var got bool
		if err := s.scan(ctx, tx, s.lockAndFindKey(), []any{inflight, scope, key}, &got, &stored, &outcome, &body); err != nil {
			return err
		}
		if !got {
			reply = replyInFlight()
			return nil
		}
		switch {
		case stored.Valid && stored.String != hash:
			reply = replyKeyReused()
			return nil
		case stored.Valid:
			reply = Reply{Outcome: Outcome(outcome.Int64), Body: body, Replayed: true}
			return nil
		}
		now := s.Ledger.Clock()
		done, value, err := op(ctx, tx, now)
		if err != nil {
			return err
		}
		if r, ok := value.(Reply); ok {
			body = r.Body
		} else if body, err = json.Marshal(value); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, qStoreKey, scope, key, hash, int(done), string(body), now.UnixMicro()); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return errKeyTaken
			}
			return err
		}
		reply = Reply{Outcome: done, Body: body}
		return nil
	})
	return reply, err
}

// requestHash identifies a request: the operation's name and its parsed
// fields, so that a retry that only spaces its JSON differently is the same.
func requestHash(name string, request any) (string, error) {
	b, err := json.Marshal(request)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), b...))
	return hex.EncodeToString(sum[:]), nil
}

// ForgetKeys deletes the idempotency keys older than keepKeys: a job.
func (s *Service) ForgetKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at_us < $1`, s.Ledger.Clock().Add(-keepKeys).UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// prepare prepares the statements of a transaction of the hot path, before it
// begins (see sqldb.DB.Statement): each is prepared once per database.
func (s *Service) prepare(ctx context.Context, statements []string) error {
	for _, q := range statements {
		if _, err := s.DB.Statement(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// exec runs a statement of the hot path in tx.
func (s *Service) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	stmt, err := s.DB.Statement(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
}

// scan runs a query of the hot path in tx and scans its one row.
func (s *Service) scan(ctx context.Context, tx *sql.Tx, query string, args []any, dest ...any) error {
	stmt, err := s.DB.Statement(ctx, query)
	if err != nil {
		return err
	}
	return tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...).Scan(dest...)
}
