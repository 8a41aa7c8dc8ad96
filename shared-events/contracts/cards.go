package contracts

import (
	"fmt"
	"math"
	"regexp"
	"time"
)

// TypeAccountOpenedV1 is the type of AccountOpenedV1 events.
const TypeAccountOpenedV1 = "cards.account.opened.v1"

// TypeAccountClosedV1 is the type of AccountClosedV1 events.
const TypeAccountClosedV1 = "cards.account.closed.v1"

// TypeCardIssuedV1 is the type of CardIssuedV1 events.
const TypeCardIssuedV1 = "cards.card.issued.v1"

// TypeCardStatusChangedV1 is the type of CardStatusChangedV1 events.
const TypeCardStatusChangedV1 = "cards.card.statuschanged.v1"

// TypeStatementIssuedV1 is the type of StatementIssuedV1 events.
const TypeStatementIssuedV1 = "cards.statement.issued.v1"

// AccountMaxNameLength is the most characters (Unicode code points) an
// account's name may have.
const AccountMaxNameLength = 80

// CardMaxReasonLength is the most characters (Unicode code points) the reason
// of a card's status change may have.
const CardMaxReasonLength = 200

// AccountClosedReason says why a card account was closed, so that consumers
// can tell a holder's choice from the consequence of a deleted user.
type AccountClosedReason string

// ClosedUserDeleted is the reason of an account closed because its holder's
// user account was deleted in scs-users.
const ClosedUserDeleted AccountClosedReason = "user_deleted"

// ClosedByHolder is the reason of an account its holder closed.
const ClosedByHolder AccountClosedReason = "closed_by_holder"

// ClosedByAdmin is the reason of an account an admin closed.
const ClosedByAdmin AccountClosedReason = "closed_by_admin"

// CardKind is whether a card exists as plastic or only as numbers.
type CardKind string

// CardPhysical is a card that is sent to the holder.
const CardPhysical CardKind = "physical"

// CardVirtual is a card that exists only for online payments.
const CardVirtual CardKind = "virtual"

// CardBrand is the card scheme a card runs on.
type CardBrand string

// BrandVisa is a Visa card.
const BrandVisa CardBrand = "visa"

// BrandMastercard is a Mastercard card.
const BrandMastercard CardBrand = "mastercard"

// CardStatus is whether a card may pay.
type CardStatus string

// CardActive is the status of a card that may pay.
const CardActive CardStatus = "active"

// CardFrozen is the status of a card that refuses payments until it is
// unfrozen.
const CardFrozen CardStatus = "frozen"

// CardCancelled is the status of a card that refuses payments for good: a
// cancelled card never changes status again.
const CardCancelled CardStatus = "cancelled"

// CardActor is who changed a card's status.
type CardActor string

// ActorHolder is the card's holder, acting on their own card.
const ActorHolder CardActor = "holder"

// ActorAdmin is an admin, acting on somebody's card.
const ActorAdmin CardActor = "admin"

// ActorSystem is scs-cards itself, for example freezing the cards of a banned
// user or cancelling those of a deleted one.
const ActorSystem CardActor = "system"

var last4Pattern = regexp.MustCompile(`^[0-9]{4}$`)

// AccountOpenedV1 is the data of cards.account.opened.v1: a user opened a card
// account. It is the first event of the cards.account aggregate of the account's
// id.
type AccountOpenedV1 struct {
	// AccountID is the account's id.
	AccountID string `json:"account_id"`
	// UserID is the id of the account's holder.
	UserID string `json:"user_id"`
	// Name is what the holder calls the account, 1 to AccountMaxNameLength
	// characters. It is user input: escape it wherever it is shown.
	Name string `json:"name"`
	// Currency is the ISO 4217 code of every amount of the account, for
	// example "EUR".
	Currency string `json:"currency"`
	// CreditLimitMinor is the account's credit limit in minor units of
	// Currency (cents for EUR), at least zero. Money is never a float.
	CreditLimitMinor int64 `json:"credit_limit_minor"`
	// OpenedAt is when the account was opened.
	OpenedAt time.Time `json:"opened_at"`
}

// EventType returns TypeAccountOpenedV1.
func (AccountOpenedV1) EventType() string { return TypeAccountOpenedV1 }

// Subject returns the account's id.
func (p AccountOpenedV1) Subject() string { return p.AccountID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p AccountOpenedV1) Validate() error {
	return firstError(
		checkUUID(TypeAccountOpenedV1, "account_id", p.AccountID),
		checkUUID(TypeAccountOpenedV1, "user_id", p.UserID),
		checkLength(TypeAccountOpenedV1, "name", p.Name, 1, AccountMaxNameLength),
		checkCurrency(TypeAccountOpenedV1, "currency", p.Currency),
		checkNonNegative(TypeAccountOpenedV1, "credit_limit_minor", p.CreditLimitMinor),
		checkTime(TypeAccountOpenedV1, "opened_at", p.OpenedAt),
	)
}

// AccountClosedV1 is the data of cards.account.closed.v1: a card account was
// closed. It is the last event of the cards.account aggregate of the account's
// id: an account is never reopened.
type AccountClosedV1 struct {
	// AccountID is the account's id.
	AccountID string `json:"account_id"`
	// UserID is the id of the account's holder.
	UserID string `json:"user_id"`
	// Reason says why the account was closed.
	Reason AccountClosedReason `json:"reason"`
	// ClosedAt is when the account was closed.
	ClosedAt time.Time `json:"closed_at"`
}

// EventType returns TypeAccountClosedV1.
func (AccountClosedV1) EventType() string { return TypeAccountClosedV1 }

// Subject returns the account's id.
func (p AccountClosedV1) Subject() string { return p.AccountID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p AccountClosedV1) Validate() error {
	return firstError(
		checkUUID(TypeAccountClosedV1, "account_id", p.AccountID),
		checkUUID(TypeAccountClosedV1, "user_id", p.UserID),
		checkOneOf(TypeAccountClosedV1, "reason", p.Reason, ClosedUserDeleted, ClosedByHolder, ClosedByAdmin),
		checkTime(TypeAccountClosedV1, "closed_at", p.ClosedAt),
	)
}

// CardIssuedV1 is the data of cards.card.issued.v1: a card was issued on an
// account. It is the first event of the cards.card aggregate of the card's id;
// a new card starts active.
//
// The full card number (PAN) never appears in any event, schema or log: it
// stays inside scs-cards, and the last four digits and the expiry are all that
// other systems need to let the holder recognise the card.
type CardIssuedV1 struct {
	// CardID is the card's id, which is not its card number.
	CardID string `json:"card_id"`
	// AccountID is the account the card pays from.
	AccountID string `json:"account_id"`
	// UserID is the id of the card's holder.
	UserID string `json:"user_id"`
	// Kind says whether the card is physical or virtual.
	Kind CardKind `json:"kind"`
	// Brand is the card's scheme.
	Brand CardBrand `json:"brand"`
	// Last4 is the last four digits of the card number, the only part of it
	// that is ever published.
	Last4 string `json:"last4"`
	// Expires is the card's expiry month, "YYYY-MM": the card is valid until
	// the end of that month.
	Expires string `json:"expires"`
	// IssuedAt is when the card was issued.
	IssuedAt time.Time `json:"issued_at"`
}

// EventType returns TypeCardIssuedV1.
func (CardIssuedV1) EventType() string { return TypeCardIssuedV1 }

// Subject returns the card's id.
func (p CardIssuedV1) Subject() string { return p.CardID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p CardIssuedV1) Validate() error {
	return firstError(
		checkUUID(TypeCardIssuedV1, "card_id", p.CardID),
		checkUUID(TypeCardIssuedV1, "account_id", p.AccountID),
		checkUUID(TypeCardIssuedV1, "user_id", p.UserID),
		checkOneOf(TypeCardIssuedV1, "kind", p.Kind, CardPhysical, CardVirtual),
		checkOneOf(TypeCardIssuedV1, "brand", p.Brand, BrandVisa, BrandMastercard),
		checkPattern(TypeCardIssuedV1, "last4", p.Last4, last4Pattern, "exactly 4 digits"),
		checkMonth(TypeCardIssuedV1, "expires", p.Expires),
		checkTime(TypeCardIssuedV1, "issued_at", p.IssuedAt),
	)
}

// CardStatusChangedV1 is the data of cards.card.statuschanged.v1: a card was
// frozen, unfrozen or cancelled. It carries the status before and after, so
// that a consumer can show the change without holding the card's history.
type CardStatusChangedV1 struct {
	// CardID is the card's id.
	CardID string `json:"card_id"`
	// AccountID is the account the card pays from.
	AccountID string `json:"account_id"`
	// UserID is the id of the card's holder.
	UserID string `json:"user_id"`
	// Status is the card's new status.
	Status CardStatus `json:"status"`
	// PreviousStatus is the card's status before the change; it differs from
	// Status.
	PreviousStatus CardStatus `json:"previous_status"`
	// Actor says who made the change.
	Actor CardActor `json:"actor"`
	// ActorID is the id of the user who made the change: UserID for
	// ActorHolder, the admin's id for ActorAdmin, and "" (left out of the
	// JSON) for ActorSystem.
	ActorID string `json:"actor_id,omitempty"`
	// Reason is why the card changed, 0 to CardMaxReasonLength characters. It
	// may be user input: escape it wherever it is shown.
	Reason string `json:"reason"`
	// ChangedAt is when the status changed.
	ChangedAt time.Time `json:"changed_at"`
}

// EventType returns TypeCardStatusChangedV1.
func (CardStatusChangedV1) EventType() string { return TypeCardStatusChangedV1 }

// Subject returns the card's id.
func (p CardStatusChangedV1) Subject() string { return p.CardID }

// Validate reports the first field that breaks the schema, as a *DataError. It
// also checks what the schema cannot say: that the status changed, and that
// ActorID is there exactly when a user acted, and is the holder's id when the
// holder did.
func (p CardStatusChangedV1) Validate() error {
	const typ = TypeCardStatusChangedV1
	err := firstError(
		checkUUID(typ, "card_id", p.CardID),
		checkUUID(typ, "account_id", p.AccountID),
		checkUUID(typ, "user_id", p.UserID),
		checkOneOf(typ, "status", p.Status, CardActive, CardFrozen, CardCancelled),
		checkOneOf(typ, "previous_status", p.PreviousStatus, CardActive, CardFrozen, CardCancelled),
		checkOneOf(typ, "actor", p.Actor, ActorHolder, ActorAdmin, ActorSystem),
	)
	if err != nil {
		return err
	}
	if p.ActorID != "" {
		if err := checkUUID(typ, "actor_id", p.ActorID); err != nil {
			return err
		}
	}
	err = firstError(
		checkLength(typ, "reason", p.Reason, 0, CardMaxReasonLength),
		checkTime(typ, "changed_at", p.ChangedAt),
	)
	if err != nil {
		return err
	}
	if p.Status == p.PreviousStatus {
		return &DataError{Type: typ, Field: "status", Reason: fmt.Sprintf("is %q, the same as previous_status", p.Status)}
	}
	switch {
	case p.Actor == ActorSystem && p.ActorID != "":
		return &DataError{Type: typ, Field: "actor_id", Reason: `must be left out when actor is "system"`}
	case p.Actor != ActorSystem && p.ActorID == "":
		return &DataError{Type: typ, Field: "actor_id", Reason: fmt.Sprintf("is missing, must name the user when actor is %q", p.Actor)}
	case p.Actor == ActorHolder && p.ActorID != p.UserID:
		return &DataError{Type: typ, Field: "actor_id", Reason: fmt.Sprintf(`is %q, must be user_id %q when actor is "holder"`, p.ActorID, p.UserID)}
	}
	return nil
}

// StatementIssuedV1 is the data of cards.statement.issued.v1: the statement of
// an account for the period [PeriodStart, PeriodEnd) was issued. The aggregate
// is the statement (cards.statement), so the subject is StatementID and the
// aggregate version is always 1: a statement is issued once and never changes.
//
// Every amount is in minor units of Currency; the balances are what the holder
// owes, so a negative balance is a credit in the holder's favour.
type StatementIssuedV1 struct {
	// StatementID is the statement's id.
	StatementID string `json:"statement_id"`
	// AccountID is the account the statement is of.
	AccountID string `json:"account_id"`
	// UserID is the id of the account's holder.
	UserID string `json:"user_id"`
	// Currency is the ISO 4217 code of every amount of the statement.
	Currency string `json:"currency"`
	// PeriodStart is the start of the period, inclusive.
	PeriodStart time.Time `json:"period_start"`
	// PeriodEnd is the end of the period, exclusive, after PeriodStart.
	PeriodEnd time.Time `json:"period_end"`
	// OpeningBalanceMinor is what the holder owed when the period started;
	// negative for a credit balance.
	OpeningBalanceMinor int64 `json:"opening_balance_minor"`
	// PurchasesMinor is the sum of the purchases of the period, at least zero.
	PurchasesMinor int64 `json:"purchases_minor"`
	// PaymentsMinor is the sum of the payments of the period, at least zero.
	PaymentsMinor int64 `json:"payments_minor"`
	// ClosingBalanceMinor is what the holder owed when the period ended:
	// exactly OpeningBalanceMinor + PurchasesMinor - PaymentsMinor, so that a
	// consumer never has to reconcile figures that disagree.
	ClosingBalanceMinor int64 `json:"closing_balance_minor"`
	// AmountDueMinor is what the holder must pay by DueDate, at least zero.
	AmountDueMinor int64 `json:"amount_due_minor"`
	// DueDate is the day the amount due must be paid by, "YYYY-MM-DD": a day,
	// not an instant, because it is shown and kept as the calendar day.
	DueDate string `json:"due_date"`
	// IssuedAt is when the statement was issued.
	IssuedAt time.Time `json:"issued_at"`
}

// EventType returns TypeStatementIssuedV1.
func (StatementIssuedV1) EventType() string { return TypeStatementIssuedV1 }

// Subject returns the statement's id.
func (p StatementIssuedV1) Subject() string { return p.StatementID }

// Validate reports the first field that breaks the schema, as a *DataError. It
// also checks what the schema cannot say: that PeriodEnd is after PeriodStart
// and that the closing balance is the opening balance plus purchases minus
// payments.
func (p StatementIssuedV1) Validate() error {
	const typ = TypeStatementIssuedV1
	err := firstError(
		checkUUID(typ, "statement_id", p.StatementID),
		checkUUID(typ, "account_id", p.AccountID),
		checkUUID(typ, "user_id", p.UserID),
		checkCurrency(typ, "currency", p.Currency),
		checkTime(typ, "period_start", p.PeriodStart),
		checkTime(typ, "period_end", p.PeriodEnd),
		checkNonNegative(typ, "purchases_minor", p.PurchasesMinor),
		checkNonNegative(typ, "payments_minor", p.PaymentsMinor),
		checkNonNegative(typ, "amount_due_minor", p.AmountDueMinor),
		checkDate(typ, "due_date", p.DueDate),
		checkTime(typ, "issued_at", p.IssuedAt),
	)
	if err != nil {
		return err
	}
	if !p.PeriodEnd.After(p.PeriodStart) {
		return &DataError{Type: typ, Field: "period_end", Reason: "must be after period_start"}
	}
	if closing, ok := closingBalance(p.OpeningBalanceMinor, p.PurchasesMinor, p.PaymentsMinor); !ok || closing != p.ClosingBalanceMinor {
		return &DataError{Type: typ, Field: "closing_balance_minor", Reason: fmt.Sprintf(
			"is %d, must be opening_balance_minor + purchases_minor - payments_minor (%d + %d - %d)",
			p.ClosingBalanceMinor, p.OpeningBalanceMinor, p.PurchasesMinor, p.PaymentsMinor)}
	}
	return nil
}

// closingBalance returns opening + purchases - payments, and false if that does
// not fit in an int64. purchases and payments must not be negative, so that
// their difference cannot overflow; adding it to opening is then the only step
// that can.
func closingBalance(opening, purchases, payments int64) (int64, bool) {
	net := purchases - payments
	if (net > 0 && opening > math.MaxInt64-net) || (net < 0 && opening < math.MinInt64-net) {
		return 0, false
	}
	return opening + net, true
}
