package cards

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/sqldb"

	"github.com/scs-platform/scs-cards/internal/money"
)

// The statements of the terminal's hot path, prepared once.
var (
	qLockAndFindKey = hotOn(sqldb.Postgres, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)), k.request_hash, k.status, k.body
		FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k ON k.scope = $2 AND k.key = $3`)
	qStoredKey   = hot(`SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2`)
	qStoreKey    = hot(`INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at_us) VALUES ($1, $2, $3, $4, $5, $6)`)
	qCardForAuth = hot(`SELECT c.account_id, c.status, a.currency, a.status FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1`)
	qHold        = hot(`UPDATE accounts SET held_minor = held_minor + $2
		WHERE id = (SELECT account_id FROM cards WHERE id = $1 AND status = 'active') AND status = 'open' AND currency = $3
			AND credit_limit_minor - posted_minor - held_minor >= $2
		RETURNING id`)
	qHoldAndRecord = hotOn(sqldb.Postgres, `WITH held AS (
			UPDATE accounts SET held_minor = held_minor + $2
			WHERE id = (SELECT account_id FROM cards WHERE id = $1 AND status = 'active') AND status = 'open' AND currency = $3
				AND credit_limit_minor - posted_minor - held_minor >= $2
			RETURNING id)
		INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, created_at_us, expires_at_us)
		SELECT $4, id, $1, 'purchase', $5, $2, 'pending', $6, $7 FROM held
		RETURNING account_id`)
	qDeclined = hot(`INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, decline_reason, created_at_us, settled_at_us)
			VALUES ($1, $2, $3, 'purchase', $4, $5, 'declined', $6, $7, $7)`)
	qPending = hot(`INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, created_at_us, expires_at_us)
		VALUES ($1, $2, $3, 'purchase', $4, $5, 'pending', $6, $7)`)
)

// AuthoriseRequest asks to authorise a purchase on a card: to hold Amount of
// the account's available credit until the purchase is captured, voided or
// the authorisation expires.
type AuthoriseRequest struct {
	CardID   string       `json:"card_id"`
	Amount   money.Amount `json:"amount"`
	Merchant string       `json:"merchant"`
}

// CaptureRequest posts an authorised purchase. Amount 0 captures all of it;
// less releases the rest of the hold.
type CaptureRequest struct {
	AuthorisationID string `json:"authorisation_id"`
	Amount          int64  `json:"amount_minor"`
}

// VoidRequest releases an authorisation's hold without posting.
type VoidRequest struct {
	AuthorisationID string `json:"authorisation_id"`
}

// ForcedPostingRequest posts a purchase without an authorisation (an offline
// purchase the network pushes through): it is posted even if the account goes
// over its limit.
type ForcedPostingRequest struct {
	CardID   string       `json:"card_id"`
	Amount   money.Amount `json:"amount"`
	Merchant string       `json:"merchant"`
}

// Authorisation is the terminal's view of a purchase: the body of every
// terminal answer about one.
type Authorisation struct {
	ID       string `json:"id"`
	CardID   string `json:"card_id"`
	Approved bool   `json:"approved"`
	// Status is pending (approved, held), posted, declined, voided or expired.
	Status        string        `json:"status"`
	DeclineReason DeclineReason `json:"decline_reason,omitempty"`
	// Message says the decline reason in plain words.
	Message     string     `json:"message,omitempty"`
	AmountMinor int64      `json:"amount_minor"`
	PostedMinor int64      `json:"posted_minor,omitempty"`
	Currency    string     `json:"currency"`
	Merchant    string     `json:"merchant"`
	Forced      bool       `json:"forced,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Authorise authorises a purchase under the caller's idempotency key. A
// decline is an answer too (201, approved false), stored like an approval.
func (s *Service) Authorise(ctx context.Context, scope, key string, req AuthoriseRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "authorise", req, func(ctx context.Context, tx *sql.Tx, now time.Time) (int, any, error) {
		a, err := s.authorise(ctx, tx, req, now)
		if err == nil && a.Approved {
			s.counters.approved.Add(1)
		} else if err == nil {
			s.counters.declined.Add(1)
		}
		return http.StatusCreated, a, err
	})
}

func (s *Service) authorise(ctx context.Context, tx *sql.Tx, req AuthoriseRequest, now time.Time) (Authorisation, error) {
	a := Authorisation{
		ID: uuid.Must(uuid.NewV7()).String(), CardID: req.CardID, AmountMinor: req.Amount.Minor,
		Currency: string(req.Amount.Currency), Merchant: req.Merchant, CreatedAt: now,
	}
	// The limit check and the hold in one conditional update: of two
	// authorisations that would together pass the limit, the second one finds
	// the first's hold and matches no row. An approval is this one statement;
	// only a decline looks for its reason.
	var accountID string
	expires := now.Add(s.AuthorisationTTL)
	var err error
	if s.DB.ChainsWrites() {
		// The same, and the ledger row with it, in one round trip.
		err = s.scan(ctx, tx, qHoldAndRecord, []any{req.CardID, req.Amount.Minor, string(req.Amount.Currency), a.ID, req.Merchant, micros(now), micros(expires)}, &accountID)
	} else if err = s.scan(ctx, tx, qHold, []any{req.CardID, req.Amount.Minor, string(req.Amount.Currency)}, &accountID); err == nil {
		_, err = s.exec(ctx, tx, qPending, a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, micros(now), micros(expires))
	}
	if err == nil {
		a.Approved, a.Status, a.ExpiresAt = true, StatusPending, &expires
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	var cardStatus, currency, accountStatus string
	err = s.scan(ctx, tx, qCardForAuth, []any{req.CardID}, &accountID, &cardStatus, &currency, &accountStatus)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing to record in a ledger: the card is nobody's.
		return a.declined(DeclineUnknownCard), nil
	}
	if err != nil {
		return a, err
	}
	reason := DeclineInsufficientCredit
	switch {
	case accountStatus != "open":
		reason = DeclineAccountClosed
	case cardStatus == string(contracts.CardCancelled):
		reason = DeclineCardCancelled
	case cardStatus == string(contracts.CardFrozen):
		reason = DeclineCardFrozen
	case currency != string(req.Amount.Currency):
		reason = DeclineWrongCurrency
	}
	a = a.declined(reason)
	_, err = s.exec(ctx, tx, qDeclined, a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, string(reason), micros(now))
	return a, err
}

func (a Authorisation) declined(reason DeclineReason) Authorisation {
	a.Approved, a.Status, a.DeclineReason, a.Message = false, StatusDeclined, reason, reason.Sentence()
	return a
}

// Capture posts an authorised purchase (all of it, or less: the rest of the
// hold is released).
func (s *Service) Capture(ctx context.Context, scope, key string, req CaptureRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "capture", req, func(ctx context.Context, tx *sql.Tx, now time.Time) (int, any, error) {
		a, accountID, refusal, err := s.pending(ctx, tx, req.AuthorisationID, now)
		if err != nil {
			return 0, nil, err
		}
		if refusal != nil {
			return refusal.Status, *refusal, nil
		}
		amount := req.Amount
		if amount == 0 {
			amount = a.AmountMinor
		}
		if amount < 0 || amount > a.AmountMinor {
			r := Refusal(http.StatusUnprocessableEntity, "amount_above_authorised",
				"amount_minor may be at most the authorised amount, "+itoa(a.AmountMinor)+"; post more with a forced posting.", "amount_minor")
			return r.Status, r, nil
		}
		if err := s.settleRow(ctx, tx, a.ID, accountID, a.AmountMinor, StatusPosted, amount, now); err != nil {
			return 0, nil, err
		}
		a.Status, a.PostedMinor, a.ExpiresAt = StatusPosted, amount, nil
		return http.StatusOK, a, nil
	})
}

// Void releases an authorisation's hold without posting anything.
func (s *Service) Void(ctx context.Context, scope, key string, req VoidRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "void", req, func(ctx context.Context, tx *sql.Tx, now time.Time) (int, any, error) {
		a, accountID, refusal, err := s.pending(ctx, tx, req.AuthorisationID, now)
		if err != nil {
			return 0, nil, err
		}
		if refusal != nil {
			return refusal.Status, *refusal, nil
		}
		if err := s.settleRow(ctx, tx, a.ID, accountID, a.AmountMinor, StatusVoided, 0, now); err != nil {
			return 0, nil, err
		}
		a.Status, a.ExpiresAt = StatusVoided, nil
		return http.StatusOK, a, nil
	})
}

// pending returns the authorisation id, locked, if it is still pending;
// otherwise the refusal to answer with. One that is past its expiry is expired
// here and then, whether or not the job got to it yet.
func (s *Service) pending(ctx context.Context, tx *sql.Tx, id string, now time.Time) (a Authorisation, accountID string, refusal *Reply, err error) {
	a, accountID, err = s.authorisation(ctx, tx, id)
	if errors.Is(err, ErrNotFound) {
		r := Refusal(http.StatusNotFound, "unknown_authorisation", "There is no authorisation "+quote(id)+".", "authorisation_id")
		return a, "", &r, nil
	}
	if err != nil {
		return a, "", nil, err
	}
	if a.Status == StatusPending && a.ExpiresAt != nil && !a.ExpiresAt.After(now) {
		if err := s.settleRow(ctx, tx, a.ID, accountID, a.AmountMinor, StatusExpired, 0, now); err != nil {
			return a, "", nil, err
		}
		a.Status = StatusExpired
	}
	if a.Status != StatusPending {
		r := Refusal(http.StatusConflict, "not_pending", "This authorisation is "+a.Status+"; only a pending one can be captured or voided.", "authorisation_id")
		return a, "", &r, nil
	}
	return a, accountID, nil, nil
}

// authorisation reads the purchase id for update.
func (s *Service) authorisation(ctx context.Context, tx *sql.Tx, id string) (Authorisation, string, error) {
	var a Authorisation
	var accountID, reason string
	var posted, forced, created int64
	var expires sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT t.id, t.account_id, COALESCE(t.card_id, ''), t.status, COALESCE(t.decline_reason, ''), t.amount_minor,
			COALESCE(t.posted_minor, 0), a.currency, t.merchant, t.forced, t.created_at_us, t.expires_at_us
		FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1 AND t.kind = 'purchase'`+s.DB.ForUpdate(), id).
		Scan(&a.ID, &accountID, &a.CardID, &a.Status, &reason, &a.AmountMinor, &posted, &a.Currency, &a.Merchant, &forced, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", ErrNotFound
	}
	a.Approved = a.Status != StatusDeclined
	a.DeclineReason, a.PostedMinor, a.Forced, a.CreatedAt = DeclineReason(reason), posted, forced != 0, fromMicros(created)
	if a.Status == StatusPending && expires.Valid {
		t := fromMicros(expires.Int64)
		a.ExpiresAt = &t
	}
	return a, accountID, err
}

// settleRow moves a pending purchase to status and the account's figures with
// it, in one transaction: the hold is released and a posting adds amount.
func (s *Service) settleRow(ctx context.Context, tx *sql.Tx, id, accountID string, held int64, status string, amount int64, now time.Time) error {
	var posted sql.NullInt64
	if status == StatusPosted {
		posted = sql.NullInt64{Int64: amount, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `UPDATE transactions SET status = $2, posted_minor = $3, settled_at_us = $4 WHERE id = $1 AND status = 'pending'`,
		id, status, posted, micros(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, errors.New("the authorisation is no longer pending"))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET held_minor = held_minor - $2, posted_minor = posted_minor + $3 WHERE id = $1`,
		accountID, held, amount); err != nil {
		return err
	}
	return s.shrinkOverLimit(ctx, tx, accountID)
}

// shrinkOverLimit lowers an over-limit account's allowance to what it still
// needs, after a change that took posted or held down, so that the CHECK is
// exact again once the account is back under its limit.
func (s *Service) shrinkOverLimit(ctx context.Context, tx *sql.Tx, accountID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET over_limit_minor = CASE
			WHEN posted_minor + held_minor - credit_limit_minor <= 0 THEN 0
			WHEN posted_minor + held_minor - credit_limit_minor < over_limit_minor THEN posted_minor + held_minor - credit_limit_minor
			ELSE over_limit_minor END
		WHERE id = $1 AND over_limit_minor > 0`, accountID)
	return err
}

// ForcedPosting posts a purchase without authorisation, even over the limit.
func (s *Service) ForcedPosting(ctx context.Context, scope, key string, req ForcedPostingRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "forced-posting", req, func(ctx context.Context, tx *sql.Tx, now time.Time) (int, any, error) {
		var accountID, currency string
		var limit, posted, held, over int64
		err := tx.QueryRowContext(ctx, `SELECT a.id, a.currency, a.credit_limit_minor, a.posted_minor, a.held_minor, a.over_limit_minor
			FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1`+s.DB.ForUpdate(), req.CardID).
			Scan(&accountID, &currency, &limit, &posted, &held, &over)
		if errors.Is(err, sql.ErrNoRows) {
			r := Refusal(http.StatusNotFound, string(DeclineUnknownCard), "There is no card "+quote(req.CardID)+".", "card_id")
			return r.Status, r, nil
		}
		if err != nil {
			return 0, nil, err
		}
		if currency != string(req.Amount.Currency) {
			r := Refusal(http.StatusUnprocessableEntity, string(DeclineWrongCurrency), "This card's account is in "+currency+".", "currency")
			return r.Status, r, nil
		}
		owed, err := money.Amount{Minor: posted, Currency: req.Amount.Currency}.Add(req.Amount)
		if err != nil {
			r := Refusal(http.StatusUnprocessableEntity, "amount_out_of_range", "This posting would take the account's balance out of range.", "amount_minor")
			return r.Status, r, nil
		}
		// The CHECK allows the account past its limit by over_limit_minor only.
		over = max(over, owed.Minor+held-limit)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET posted_minor = posted_minor + $2, over_limit_minor = $3 WHERE id = $1`,
			accountID, req.Amount.Minor, over); err != nil {
			return 0, nil, err
		}
		a := Authorisation{
			ID: uuid.Must(uuid.NewV7()).String(), CardID: req.CardID, Approved: true, Status: StatusPosted,
			AmountMinor: req.Amount.Minor, PostedMinor: req.Amount.Minor, Currency: currency, Merchant: req.Merchant, Forced: true, CreatedAt: now,
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, posted_minor, status, forced, created_at_us, settled_at_us)
			VALUES ($1, $2, $3, 'purchase', $4, $5, $5, 'posted', 1, $6, $6)`,
			a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, micros(now))
		return http.StatusCreated, a, err
	})
}

// Pay pays what is outstanding on the holder's statement: a payment that
// lowers what the holder owes, which restores available credit.
func (s *Service) Pay(ctx context.Context, userID, statementID string) (int64, error) {
	var paid int64
	err := s.inTx(ctx, "pay a statement", func(tx *sql.Tx) error {
		a, st, err := s.statementOf(ctx, tx, userID, statementID)
		if err != nil {
			return err
		}
		paid = st.Outstanding()
		if paid == 0 {
			return refuse("", "Nothing is due on this statement any more.")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO transactions (id, account_id, kind, merchant, amount_minor, posted_minor, status, created_at_us, settled_at_us, pays_statement_id)
			VALUES ($1, $2, 'payment', $3, $4, $4, 'posted', $5, $5, $6)`,
			uuid.Must(uuid.NewV7()).String(), a.ID, "Payment", paid, micros(now), st.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET posted_minor = posted_minor - $2 WHERE id = $1`, a.ID, paid); err != nil {
			return err
		}
		return s.shrinkOverLimit(ctx, tx, a.ID)
	})
	return paid, err
}

// Purchases returns the latest purchases over all accounts, newest first:
// the admins' terminal page.
func (s *Service) Purchases(ctx context.Context, limit int) ([]Authorisation, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT t.id, COALESCE(t.card_id, ''), t.status, COALESCE(t.decline_reason, ''), t.amount_minor,
			COALESCE(t.posted_minor, 0), a.currency, t.merchant, t.forced, t.created_at_us, t.expires_at_us
		FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.kind = 'purchase' ORDER BY t.seq DESC`+sqldb.Limit(limit))
	if err != nil {
		return nil, wrap("purchases", err)
	}
	defer rows.Close()
	var list []Authorisation
	for rows.Next() {
		var a Authorisation
		var reason string
		var forced, created int64
		var expires sql.NullInt64
		if err := rows.Scan(&a.ID, &a.CardID, &a.Status, &reason, &a.AmountMinor, &a.PostedMinor, &a.Currency, &a.Merchant, &forced, &created, &expires); err != nil {
			return nil, wrap("purchases", err)
		}
		a.Approved, a.DeclineReason, a.Forced, a.CreatedAt = a.Status != StatusDeclined, DeclineReason(reason), forced != 0, fromMicros(created)
		if a.Status == StatusPending && expires.Valid {
			t := fromMicros(expires.Int64)
			a.ExpiresAt = &t
		}
		list = append(list, a)
	}
	return list, wrap("purchases", rows.Err())
}
