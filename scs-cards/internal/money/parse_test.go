package money

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		currency Currency
		want     int64
		wantErr  string
	}{
		{name: "whole", in: "12", currency: "SEK", want: 1200},
		{name: "one decimal", in: "12.5", currency: "SEK", want: 1250},
		{name: "two decimals", in: "12.50", currency: "SEK", want: 1250},
		{name: "decimal comma", in: "12,50", currency: "SEK", want: 1250},
		{name: "zero", in: "0", currency: "SEK", want: 0},
		{name: "zero decimals", in: "0.00", currency: "SEK", want: 0},
		{name: "one öre", in: "0.01", currency: "SEK", want: 1},
		{name: "leading zeros", in: "007.5", currency: "SEK", want: 750},
		{name: "no whole digits", in: ".5", currency: "SEK", want: 50},
		{name: "no decimal digits", in: "12.", currency: "SEK", want: 1200},
		{name: "surrounding spaces", in: " \t12.50\n ", currency: "SEK", want: 1250},
		{name: "grouped by spaces", in: "1 234 567,50", currency: "SEK", want: 123456750},
		{name: "grouped by no-break space", in: "1\u00a0234,50", currency: "SEK", want: 123450},
		{name: "grouped by thin space", in: "1\u2009234", currency: "SEK", want: 123400},
		{name: "grouped by narrow no-break space", in: "1\u202f234.5", currency: "SEK", want: 123450},
		{name: "grouped the Indian way", in: "1 00 000", currency: "INR", want: 10000000},
		{name: "yen", in: "1000", currency: "JPY", want: 1000},
		{name: "yen with empty decimals", in: "1000.", currency: "JPY", want: 1000},
		{name: "dinar", in: "1.234", currency: "KWD", want: 1234},
		{name: "dinar one decimal", in: "1,5", currency: "BHD", want: 1500},
		{name: "four decimals", in: "0.0001", currency: "CLF", want: 1},
		{name: "max", in: "10000000000000", currency: "SEK", want: MaxMinor},
		{name: "max with decimals", in: "10 000 000 000 000.00", currency: "SEK", want: MaxMinor},
		{name: "max yen", in: "1000000000000000", currency: "JPY", want: MaxMinor},
		{name: "max dinar", in: "1000000000000.000", currency: "KWD", want: MaxMinor},
		{name: "max with many leading zeros", in: "000000000000000000000010000000000000", currency: "SEK", want: MaxMinor},

		{name: "too many decimals", in: "12.345", currency: "SEK", wantErr: "SEK has 2 decimals; 12.345 has 3"},
		{name: "comma thousands", in: "1,234", currency: "SEK", wantErr: "SEK has 2 decimals; 1,234 has 3"},
		{name: "yen decimals", in: "12.5", currency: "JPY", wantErr: "JPY has no decimals; 12.5 has 1"},
		{name: "yen zero decimals", in: "1000.00", currency: "JPY", wantErr: "JPY has no decimals; 1000.00 has 2"},
		{name: "dinar decimals", in: "1.2345", currency: "KWD", wantErr: "KWD has 3 decimals; 1.2345 has 4"},
		{name: "empty", in: "", currency: "SEK", wantErr: "the amount is empty"},
		{name: "only spaces", in: " \u00a0 ", currency: "SEK", wantErr: "the amount is empty"},
		{name: "only separator", in: ",", currency: "SEK", wantErr: "the amount has no digits"},
		{name: "negative", in: "-12", currency: "SEK", wantErr: "cannot be negative"},
		{name: "negative with minus sign", in: "\u221212", currency: "SEK", wantErr: "cannot be negative"},
		{name: "minus later", in: "12-", currency: "SEK", wantErr: `the amount has '-' in it`},
		{name: "plus", in: "+12", currency: "SEK", wantErr: "without a plus sign"},
		{name: "letters", in: "12abc", currency: "SEK", wantErr: "the amount has letters in it"},
		{name: "currency typed", in: "SEK 12", currency: "SEK", wantErr: "without a currency"},
		{name: "exponent notation", in: "1e3", currency: "SEK", wantErr: "letters"},
		{name: "symbol", in: "$12", currency: "USD", wantErr: `the amount has '$' in it`},
		{name: "control character", in: "1\x002", currency: "SEK", wantErr: `the amount has '\x00' in it`},
		{name: "invalid UTF-8", in: "1\xff2", currency: "SEK", wantErr: `the amount has '�' in it`},
		{name: "underscore", in: "1_000", currency: "SEK", wantErr: `the amount has '_' in it`},
		{name: "tab inside", in: "1\t000", currency: "SEK", wantErr: `the amount has '\t' in it`},
		{name: "two points", in: "1.2.3", currency: "SEK", wantErr: "more than one '.' or ','"},
		{name: "point thousands comma decimals", in: "1.234,50", currency: "SEK", wantErr: "more than one '.' or ','"},
		{name: "comma thousands point decimals", in: "1,234.50", currency: "SEK", wantErr: "more than one '.' or ','"},
		{name: "two spaces", in: "1  234", currency: "SEK", wantErr: "a space out of place"},
		{name: "space before separator", in: "12 .50", currency: "SEK", wantErr: "a space out of place"},
		{name: "space after separator", in: "12. 50", currency: "SEK", wantErr: "a space out of place"},
		{name: "space in decimals", in: "0.12 3", currency: "KWD", wantErr: "a space out of place"},
		{name: "above max", in: "10000000000000.01", currency: "SEK", wantErr: "the amount is more than SEK 10,000,000,000,000.00, the most we handle"},
		{name: "above max yen", in: "1000000000000001", currency: "JPY", wantErr: "more than JPY 1,000,000,000,000,000"},
		{name: "beyond int64", in: "99999999999999999999999999", currency: "SEK", wantErr: "the amount is more than SEK"},
		{name: "beyond int64 after scaling", in: "92233720368547758", currency: "CLF", wantErr: "the amount is more than CLF"},
		{name: "unknown currency", in: "12", currency: "XYZ", wantErr: "XYZ is not a currency we know"},
		{name: "lower-case currency", in: "12", currency: "sek", wantErr: "sek is not a currency we know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.currency)
			checkErr(t, err, tt.wantErr)
			want := Amount{Minor: tt.want, Currency: tt.currency}
			if tt.wantErr != "" {
				want = Amount{}
			}
			if got != want {
				t.Errorf("Parse(%q, %s) = %+v; want %+v", tt.in, tt.currency, got, want)
			}
		})
	}
}

func TestParseDecimalRoundTrip(t *testing.T) {
	currencies := make([]Currency, 0, len(exponents))
	for c := range exponents {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	rng := rand.New(rand.NewPCG(4217, 1))
	for range 100_000 {
		c := currencies[rng.IntN(len(currencies))]
		var minor int64
		// Spread the sizes evenly over the digit counts; uniform values
		// would almost all have fifteen or sixteen digits.
		switch digits := rng.IntN(17); digits {
		case 0:
			minor = 0
		case 16:
			minor = MaxMinor - rng.Int64N(1000)
		default:
			limit := int64(1)
			for range digits {
				limit *= 10
			}
			minor = rng.Int64N(limit)
		}
		a := Amount{Minor: minor, Currency: c}
		got, err := Parse(a.Decimal(), c)
		if err != nil || got != a {
			t.Fatalf("Parse(%q, %s) = %+v, %v; want %+v", a.Decimal(), c, got, err, a)
		}
	}
}

// fuzzCurrencies covers every exponent in the table.
var fuzzCurrencies = []Currency{"SEK", "JPY", "KWD", "CLF", "EUR", "ISK", "BHD"}

func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		in       string
		currency uint8
	}{
		{"12.50", 0},
		{"1 234,5", 0},
		{"1000", 1},
		{"1.234", 2},
		{"0.0001", 3},
		{"10000000000000.00", 0},
		{"10000000000000.01", 0},
		{"99999999999999999999", 1},
		{"1.234,50", 4},
		{"\u00a01\u202f000\u2009", 5},
		{"-3", 6},
		{".", 0},
	} {
		f.Add(seed.in, seed.currency)
	}
	f.Fuzz(func(t *testing.T, in string, pick uint8) {
		c := fuzzCurrencies[int(pick)%len(fuzzCurrencies)]
		a, err := Parse(in, c)
		if err != nil {
			if a != (Amount{}) {
				t.Fatalf("Parse(%q, %s) = %+v with error %v; want the zero Amount", in, c, a, err)
			}
			return
		}
		if a.Currency != c || a.Minor < 0 || a.Minor > MaxMinor {
			t.Fatalf("Parse(%q, %s) = %+v; out of [0, MaxMinor] or wrong currency", in, c, a)
		}
		back, err := Parse(a.Decimal(), c)
		if err != nil || back != a {
			t.Fatalf("Parse(%q, %s) = %+v, but Parse(%q) = %+v, %v", in, c, a, a.Decimal(), back, err)
		}
	})
}
