package cards

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/scs-platform/shared-events/sqldb"
)

// Reply is a terminal operation's answer: an HTTP status and a JSON body. It
// is stored with its idempotency key, so a retry gets the same bytes.
type Reply struct {
	Status int
	Body   []byte
	// Replayed is set on the answer to a retry.
	Replayed bool
}

// APIError is the body of a refusal: {"error": {"code": ..., "message": ...}}.
type APIError struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what is wrong: a code for programs, a sentence for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field that is wrong, if one is.
	Field string `json:"field,omitempty"`
}

// Refusal builds the reply of a refused request.
func Refusal(status int, code, message, field string) Reply {
	b, _ := json.Marshal(APIError{Error: ErrorDetail{Code: code, Message: message, Field: field}})
	return Reply{Status: status, Body: b}
}

// The refusals of the idempotency layer.
var (
	replyInFlight = func() Reply {
		return Refusal(http.StatusConflict, "request_in_progress",
			"A request with this Idempotency-Key is being handled right now; retry once it has been answered.", "")
	}
	replyKeyReused = func() Reply {
		return Refusal(http.StatusUnprocessableEntity, "idempotency_key_reused",
			"This Idempotency-Key was used for a different request; use a new key for a new request.", "")
	}
)

// keepKeys is how long an idempotency key and its answer are kept.
const keepKeys = 24 * time.Hour

// MaxKeyLength bounds an Idempotency-Key.
const MaxKeyLength = 255

// operation is one effect under an idempotency key: it runs in the
// transaction that stores the key, and answers with a status and a value that
// is stored as JSON.
type operation func(ctx context.Context, tx *sql.Tx, now time.Time) (status int, body any, err error)

// idempotent runs op once per (scope, key): the key, the hash of the request
// and the answer are stored in op's transaction, so that either all of it
// happened or none. A retry with the same request gets the stored answer; with
// a different request, 422; while the first is still being handled, 409.
func (s *Service) idempotent(ctx context.Context, scope, key, name string, request any, op operation) (Reply, error) {
	hash, err := requestHash(name, request)
	if err != nil {
		return Reply{}, err
	}
	// Within the process, a second request with the key answers 409 at once
	// rather than queueing behind the first; across PostgreSQL instances the
	// advisory lock below does the same.
	inflight := scope + "\n" + key
	if _, busy := s.inflight.LoadOrStore(inflight, struct{}{}); busy {
		return replyInFlight(), nil
	}
	defer s.inflight.Delete(inflight)
	if err := s.prepare(ctx); err != nil {
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

// once is one try of idempotent's transaction.
func (s *Service) once(ctx context.Context, scope, key, inflight, hash string, op operation) (Reply, error) {
	var reply Reply
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var stored sql.NullString
		var status sql.NullInt64
		var body []byte
		if s.DB.AdvisoryLocks() {
			// Across instances, the advisory lock answers 409 for a key in
			// flight. The look-up shares its statement, and so reads from a
			// snapshot taken just before the lock: a first request that
			// commits in between is found by the insert's unique key instead
			// (errKeyTaken), and then by the second try.
			var got bool
			if err := s.scan(ctx, tx, qLockAndFindKey, []any{inflight, scope, key}, &got, &stored, &status, &body); err != nil {
				return err
			}
			if !got {
				reply = replyInFlight()
				return nil
			}
		} else if err := s.scan(ctx, tx, qStoredKey, []any{scope, key}, &stored, &status, &body); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		switch {
		case stored.Valid && stored.String != hash:
			reply = replyKeyReused()
			return nil
		case stored.Valid:
			reply = Reply{Status: int(status.Int64), Body: body, Replayed: true}
			return nil
		}
		now := s.now()
		code, value, err := op(ctx, tx, now)
		if err != nil {
			return err
		}
		if r, ok := value.(Reply); ok {
			body = r.Body
		} else if body, err = json.Marshal(value); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, qStoreKey, scope, key, hash, code, string(body), micros(now)); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return errKeyTaken
			}
			return err
		}
		reply = Reply{Status: code, Body: body}
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

// forgetKeys deletes the idempotency keys older than keepKeys.
func (s *Service) forgetKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at_us < $1`, micros(s.now().Add(-keepKeys)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
