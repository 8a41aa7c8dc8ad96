package money

import (
	"errors"
	"math"
	"testing"
)

func TestAddSub(t *testing.T) {
	sek := func(minor int64) Amount { return Amount{Minor: minor, Currency: "SEK"} }
	tests := []struct {
		name    string
		a, b    Amount
		sum     Amount
		sumErr  error
		diff    Amount
		diffErr error
	}{
		{name: "small", a: sek(1250), b: sek(50), sum: sek(1300), diff: sek(1200)},
		{name: "to negative", a: sek(100), b: sek(250), sum: sek(350), diff: sek(-150)},
		{name: "zeros", a: sek(0), b: sek(0), sum: sek(0), diff: sek(0)},
		{name: "reach max", a: sek(MaxMinor - 1), b: sek(1), sum: sek(MaxMinor), diff: sek(MaxMinor - 2)},
		{name: "reach min", a: sek(-MaxMinor + 1), b: sek(-1), sum: sek(-MaxMinor), diff: sek(-MaxMinor + 2)},
		{name: "past max", a: sek(MaxMinor), b: sek(1), sumErr: ErrOverflow, diff: sek(MaxMinor - 1)},
		{name: "past min", a: sek(-MaxMinor), b: sek(1), sum: sek(-MaxMinor + 1), diffErr: ErrOverflow},
		{name: "max and max", a: sek(MaxMinor), b: sek(MaxMinor), sumErr: ErrOverflow, diff: sek(0)},
		{name: "max minus min", a: sek(MaxMinor), b: sek(-MaxMinor), sum: sek(0), diffErr: ErrOverflow},
		// Operands beyond the bound would wrap int64 around in a plain sum.
		{name: "operand beyond bound", a: sek(math.MaxInt64), b: sek(-1), sumErr: ErrOverflow, diffErr: ErrOverflow},
		{name: "operands at int64 limits", a: sek(math.MaxInt64), b: sek(math.MinInt64), sumErr: ErrOverflow, diffErr: ErrOverflow},
		{
			name: "different currencies", a: sek(100), b: Amount{Minor: 100, Currency: "EUR"},
			sumErr: ErrCurrencyMismatch, diffErr: ErrCurrencyMismatch,
		},
		{
			name: "mismatch before overflow", a: sek(MaxMinor), b: Amount{Minor: MaxMinor, Currency: "NOK"},
			sumErr: ErrCurrencyMismatch, diffErr: ErrCurrencyMismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := tt.a.Add(tt.b)
			if !errors.Is(err, tt.sumErr) || (tt.sumErr == nil && err != nil) {
				t.Errorf("Add error = %v; want %v", err, tt.sumErr)
			}
			if sum != tt.sum {
				t.Errorf("Add = %+v; want %+v", sum, tt.sum)
			}
			diff, err := tt.a.Sub(tt.b)
			if !errors.Is(err, tt.diffErr) || (tt.diffErr == nil && err != nil) {
				t.Errorf("Sub error = %v; want %v", err, tt.diffErr)
			}
			if diff != tt.diff {
				t.Errorf("Sub = %+v; want %+v", diff, tt.diff)
			}
		})
	}
}

func TestCurrencyMismatchNamesBoth(t *testing.T) {
	_, err := Amount{1, "SEK"}.Add(Amount{1, "EUR"})
	if want := "money: different currencies: SEK and EUR"; err == nil || err.Error() != want {
		t.Errorf("error = %v; want %q", err, want)
	}
}

func TestSigns(t *testing.T) {
	tests := []struct {
		minor                  int64
		wantNegative, wantZero bool
	}{
		{minor: 0, wantZero: true},
		{minor: 1},
		{minor: -1, wantNegative: true},
		{minor: MaxMinor},
		{minor: -MaxMinor, wantNegative: true},
	}
	for _, tt := range tests {
		a := Amount{Minor: tt.minor, Currency: "SEK"}
		if got := a.IsNegative(); got != tt.wantNegative {
			t.Errorf("%v.IsNegative() = %v", a, got)
		}
		if got := a.IsZero(); got != tt.wantZero {
			t.Errorf("%v.IsZero() = %v", a, got)
		}
		if got, want := a.Neg(), (Amount{Minor: -tt.minor, Currency: "SEK"}); got != want {
			t.Errorf("%v.Neg() = %+v; want %+v", a, got, want)
		}
	}
}
