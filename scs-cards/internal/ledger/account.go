package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"

	"github.com/scs-platform/scs-cards/internal/money"
)

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

// AccountName checks the name a holder gives an account, and returns it
// trimmed.
func AccountName(name string) (string, error) {
	return Text("name", "a name for the account", name, MaxAccountName)
}

// Clock is the books' clock, in UTC: what dates their records.
func (s *Service) Clock() time.Time { return s.now() }

// Open opens userID's card account, named name (checked by AccountName), with
// the default limit and currency, at now, in tx, and publishes it. A user has
// one account at most (ErrHasAccount).
func (s *Service) Open(ctx context.Context, tx *sql.Tx, userID, name string, now time.Time) (Account, error) {
	a := Account{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Name: name,
		Currency: s.Currency, Limit: s.DefaultLimit, Status: "open", OpenedAt: now,
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return Account{}, err
	}
	if n > 0 {
		return Account{}, ErrHasAccount
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, user_id, name, currency, credit_limit_minor, status, version, opened_at_us, statements_through_us)
			VALUES ($1, $2, $3, $4, $5, 'open', 1, $6, $7)`,
		a.ID, userID, name, string(a.Currency), a.Limit, now.UnixMicro(), s.Period.Start(now).UnixMicro())
	if sqldb.IsUniqueViolation(err) {
		return Account{}, ErrHasAccount
	}
	if err != nil {
		return Account{}, err
	}
	ev, err := contracts.NewEvent(contracts.AccountOpenedV1{
		AccountID: a.ID, UserID: userID, Name: name, Currency: string(a.Currency),
		CreditLimitMinor: a.Limit, OpenedAt: now,
	}, 1)
	if err != nil {
		return Account{}, err
	}
	return a, s.Outbox.Append(ctx, tx, ev)
}

// Close closes userID's account in tx, if it has an open one, and publishes
// it. Its financial records stay.
func (s *Service) Close(ctx context.Context, tx *sql.Tx, userID string, reason contracts.AccountClosedReason) error {
	now := s.now()
	var id string
	var version int64
	err := tx.QueryRowContext(ctx, `UPDATE accounts SET status = 'closed', closed_reason = $2, closed_at_us = $3, version = version + 1
		WHERE user_id = $1 AND status = 'open' RETURNING id, version`, userID, string(reason), now.UnixMicro()).Scan(&id, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	ev, err := contracts.NewEvent(contracts.AccountClosedV1{AccountID: id, UserID: userID, Reason: reason, ClosedAt: now}, version)
	if err != nil {
		return err
	}
	return s.Outbox.Append(ctx, tx, ev)
}

const accountColumns = `id, user_id, name, currency, credit_limit_minor, posted_minor, held_minor, status, COALESCE(closed_reason, ''), opened_at_us, closed_at_us`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var currency string
	var opened int64
	var closed sql.NullInt64
	err := row.Scan(&a.ID, &a.UserID, &a.Name, &currency, &a.Limit, &a.Posted, &a.Held, &a.Status, &a.ClosedReason, &opened, &closed)
	a.Currency, a.OpenedAt, a.ClosedAt = money.Currency(currency), fromMicros(opened), nullMicros(closed)
	return a, err
}

// AccountOf returns userID's account, or ErrNoAccount; locked for the
// transaction when lock is set.
func (s *Service) AccountOf(ctx context.Context, q sqldb.Querier, userID string, lock bool) (Account, error) {
	query := `SELECT ` + accountColumns + ` FROM accounts WHERE user_id = $1`
	if lock {
		query += s.DB.ForUpdate()
	}
	a, err := scanAccount(q.QueryRowContext(ctx, query, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNoAccount
	}
	return a, err
}

// Account returns userID's account, or ErrNoAccount.
func (s *Service) Account(ctx context.Context, userID string) (Account, error) {
	a, err := s.AccountOf(ctx, s.DB, userID, false)
	return a, Wrap("account", err)
}
