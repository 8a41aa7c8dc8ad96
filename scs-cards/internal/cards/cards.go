// Package cards is the business card account: accounts with a credit limit,
// their cards, the ledger of purchases and payments, statements, and the
// merchant terminal that authorises purchases.
//
// Money is int64 minor units of the account's currency (package money); it is
// formatted only in views. The account row holds what the ledger adds up to
// (posted_minor, held_minor), changed only by relative, conditional updates in
// the transaction that writes the ledger row, so that no update is lost and no
// two authorisations spend the same credit.
package cards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"

	"github.com/scs-platform/scs-cards/internal/money"
)

// Service is the card account system. Set the fields; keep one Service per
// process (it tracks the idempotency keys in flight).
type Service struct {
	DB     *sqldb.DB
	Outbox *outbox.Outbox
	Logger *slog.Logger
	// Currency and DefaultLimit are what a new account gets.
	Currency     money.Currency
	DefaultLimit int64
	// AuthorisationTTL is how long an authorisation's hold lasts uncaptured.
	AuthorisationTTL time.Duration
	// Period is the statement period; DueDays how many days after a period's
	// end its statement is due.
	Period  Period
	DueDays int
	// Now is the clock (default time.Now).
	Now func() time.Time

	// inflight holds the idempotency keys being handled by this process.
	inflight sync.Map
	counters
}

// The limits of what holders and terminals send.
const (
	MaxAccountName  = contracts.AccountMaxNameLength // in the events, so the contract's
	MaxMerchant     = 100
	MaxReason       = contracts.CardMaxReasonLength // in the events, so the contract's
	MaxCards        = 10
	MaxPageSize     = 100
	DefaultPageSize = 20
	// cardYears is how long a new card is valid.
	cardYears = 4
)

// Errors meant for the user: the web layer shows them in plain words.
var (
	// ErrNoAccount is an action of a user who has no card account.
	ErrNoAccount = errors.New("you have no card account yet")
	// ErrHasAccount is a second account for one user.
	ErrHasAccount = errors.New("you have a card account already")
	// ErrNotFound is a card or statement that does not exist or is not the
	// user's: the two are never told apart.
	ErrNotFound = errors.New("there is no such card or statement")
	// ErrClosed is a change to a closed account.
	ErrClosed = errors.New("this card account is closed")
)

// UserError is a refusal whose message may be shown to the user as it is.
type UserError struct {
	// Field is the form field it is about, or "".
	Field   string
	Message string
}

func (e *UserError) Error() string { return e.Message }

func refuse(field, format string, args ...any) error {
	return &UserError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// forTheUser reports whether err is meant for the user as it is.
func forTheUser(err error) bool {
	if _, ok := errors.AsType[*UserError](err); ok {
		return true
	}
	for _, e := range []error{ErrNoAccount, ErrHasAccount, ErrNotFound, ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// wrap adds what failed to an error that is not meant for the user.
func wrap(what string, err error) error {
	if err == nil || forTheUser(err) {
		return err
	}
	return fmt.Errorf("cards: %s: %w", what, err)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Account is a holder's card account.
type Account struct {
	ID, UserID, Name string
	Currency         money.Currency
	// Limit is the credit limit; Posted what the holder owes (posted purchases
	// less payments); Held the holds of pending authorisations.
	Limit, Posted, Held int64
	Status              string
	ClosedReason        string
	OpenedAt, ClosedAt  time.Time
}

// Available is the credit left: limit − posted − held. It is negative when a
// forced posting took the account over its limit.
func (a Account) Available() int64 { return a.Limit - a.Posted - a.Held }

// OverLimit reports whether the account is over its limit.
func (a Account) OverLimit() bool { return a.Available() < 0 }

// Open reports whether the account takes new cards and payments.
func (a Account) Open() bool { return a.Status == "open" }

// Money returns minor units in the account's currency.
func (a Account) Money(minor int64) money.Amount {
	return money.Amount{Minor: minor, Currency: a.Currency}
}

// Card is a payment card. It has no card number: only the last 4 digits.
type Card struct {
	ID, AccountID, UserID string
	Kind                  contracts.CardKind
	Brand                 contracts.CardBrand
	Last4                 string
	// Expires is "YYYY-MM".
	Expires  string
	Status   contracts.CardStatus
	FrozenBy string
	IssuedAt time.Time
	// Holder is the holder's display name from the users replica ("" once
	// the user is deleted).
	Holder string
}

// FrozenByBan reports whether the card is frozen because its holder is banned.
func (c Card) FrozenByBan() bool {
	return c.Status == contracts.CardFrozen && c.FrozenBy == frozenByBan
}

// frozenBy values: who froze a card.
const (
	frozenByHolder = "holder"
	frozenByAdmin  = "admin"
	frozenByBan    = "ban"
)

// Transaction is a row of the ledger, as the holder sees it.
type Transaction struct {
	Seq           int64
	ID            string
	CardID        string
	CardLast4     string
	Kind          string
	Merchant      string
	Amount        int64
	Posted        int64
	Status        string
	DeclineReason DeclineReason
	Forced        bool
	CreatedAt     time.Time
	ExpiresAt     time.Time
	SettledAt     time.Time
}

// Transaction statuses.
const (
	StatusPending  = "pending"
	StatusPosted   = "posted"
	StatusDeclined = "declined"
	StatusVoided   = "voided"
	StatusExpired  = "expired"
)

// Transaction kinds.
const (
	KindPurchase = "purchase"
	KindPayment  = "payment"
)

// DeclineReason says why an authorisation was declined.
type DeclineReason string

// The reasons a purchase is declined.
const (
	DeclineUnknownCard        DeclineReason = "unknown_card"
	DeclineCardFrozen         DeclineReason = "card_frozen"
	DeclineCardCancelled      DeclineReason = "card_cancelled"
	DeclineAccountClosed      DeclineReason = "account_closed"
	DeclineInsufficientCredit DeclineReason = "insufficient_credit"
	DeclineWrongCurrency      DeclineReason = "wrong_currency"
)

// Sentence says the reason in plain words.
func (r DeclineReason) Sentence() string {
	switch r {
	case DeclineUnknownCard:
		return "There is no such card."
	case DeclineCardFrozen:
		return "The card is frozen."
	case DeclineCardCancelled:
		return "The card is cancelled."
	case DeclineAccountClosed:
		return "The card account is closed."
	case DeclineInsufficientCredit:
		return "Not enough available credit."
	case DeclineWrongCurrency:
		return "The card does not take this currency."
	}
	return string(r)
}

// textLength checks that v, trimmed, has 1 to max characters and returns it.
func textLength(field, label, v string, maxChars int) (string, error) {
	v = strings.TrimSpace(v)
	n := len([]rune(v))
	switch {
	case n == 0:
		return "", refuse(field, "Enter %s.", label)
	case n > maxChars:
		return "", refuse(field, "%s may have at most %d characters; this has %d.", capitalise(label), maxChars, n)
	}
	// Other people read it (the account's name, a card's history): an
	// invisible override would show them something else than was typed.
	if r, found := contracts.DisguisingCharacter(v); found {
		return "", refuse(field, "The %s contains an invisible character that reverses text direction (%U); remove it.", field, r)
	}
	return v, nil
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// inTx runs fn in a transaction; an error not meant for the user says what
// failed.
func (s *Service) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return wrap(what, s.DB.InTx(ctx, fn))
}

// hotQueries are the statements of the terminal's hot path, prepared once
// (see sqldb.DB.Statement) before its transactions begin, by dialect ("" for
// both).
var hotQueries = map[string]sqldb.Dialect{}

// hot registers a query of the hot path and returns it.
func hot(query string) string { return hotOn("", query) }

// hotOn registers a query of the hot path in one dialect only.
func hotOn(d sqldb.Dialect, query string) string {
	hotQueries[query] = d
	return query
}

// prepare prepares the hot path's statements, once.
func (s *Service) prepare(ctx context.Context) error {
	for q, d := range hotQueries {
		if d != "" && d != s.DB.Dialect {
			continue
		}
		if _, err := s.DB.Statement(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// exec runs a hot statement in tx.
func (s *Service) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	stmt, err := s.DB.Statement(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
}

// scan runs a hot query in tx and scans its one row.
func (s *Service) scan(ctx context.Context, tx *sql.Tx, query string, args []any, dest ...any) error {
	stmt, err := s.DB.Statement(ctx, query)
	if err != nil {
		return err
	}
	return tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...).Scan(dest...)
}
