// Package money holds amounts of money as whole minor units (öre, cents, fils)
// of an ISO 4217 currency. There are no floating-point numbers anywhere, not
// even while parsing or formatting, so an amount is exactly what was typed or
// stored.
package money

import (
	"errors"
	"fmt"
)

// Amount is Minor units of Currency: SEK 12.50 is Amount{1250, "SEK"}.
type Amount struct {
	Minor    int64
	Currency Currency
}

// MaxMinor bounds every amount this system handles: 10^15 minor units (ten
// trillion in a 2-digit currency), so that sums of many amounts cannot
// overflow int64 silently either.
const MaxMinor = 1_000_000_000_000_000

// ErrOverflow is returned when a result would lie outside ±MaxMinor.
var ErrOverflow = errors.New("money: amount out of range")

// ErrCurrencyMismatch is returned when amounts in two currencies are combined.
var ErrCurrencyMismatch = errors.New("money: different currencies")

// Add returns a+b. It fails with ErrCurrencyMismatch when the currencies
// differ and with ErrOverflow when an operand or the sum lies outside
// ±MaxMinor.
func (a Amount) Add(b Amount) (Amount, error) {
	if err := a.compatible(b); err != nil {
		return Amount{}, err
	}
	return a.inRange(a.Minor + b.Minor)
}

// Sub returns a-b. It fails like Add.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := a.compatible(b); err != nil {
		return Amount{}, err
	}
	return a.inRange(a.Minor - b.Minor)
}

// compatible also rejects operands outside ±MaxMinor: an Amount can be built
// from any int64, and only the bound guarantees that the sum or difference of
// two of them cannot wrap around.
func (a Amount) compatible(b Amount) error {
	if a.Currency != b.Currency {
		return fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, a.Currency, b.Currency)
	}
	if !within(a.Minor) || !within(b.Minor) {
		return ErrOverflow
	}
	return nil
}

func (a Amount) inRange(minor int64) (Amount, error) {
	if !within(minor) {
		return Amount{}, ErrOverflow
	}
	return Amount{Minor: minor, Currency: a.Currency}, nil
}

func within(minor int64) bool {
	return -MaxMinor <= minor && minor <= MaxMinor
}

// Neg returns -a. The negation of an amount within ±MaxMinor is within it too.
func (a Amount) Neg() Amount {
	return Amount{Minor: -a.Minor, Currency: a.Currency}
}

// IsNegative reports whether a is below zero.
func (a Amount) IsNegative() bool {
	return a.Minor < 0
}

// IsZero reports whether a is zero, in whatever currency.
func (a Amount) IsZero() bool {
	return a.Minor == 0
}
