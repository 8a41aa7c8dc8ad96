package money

import (
	"strings"
	"testing"
)

func TestExponent(t *testing.T) {
	tests := []struct {
		currency Currency
		want     int
	}{
		{"AED", 2}, {"AUD", 2}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CNY", 2},
		{"CZK", 2}, {"DKK", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2},
		{"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"MXN", 2}, {"MYR", 2}, {"NOK", 2},
		{"NZD", 2}, {"PHP", 2}, {"PLN", 2}, {"RON", 2}, {"SAR", 2}, {"SEK", 2},
		{"SGD", 2}, {"THB", 2}, {"TRY", 2}, {"TWD", 2}, {"USD", 2}, {"ZAR", 2},
		{"CLP", 0}, {"ISK", 0}, {"JPY", 0}, {"KRW", 0}, {"UGX", 0}, {"VND", 0},
		{"BHD", 3}, {"JOD", 3}, {"KWD", 3}, {"OMR", 3}, {"TND", 3},
		{"CLF", 4},
	}
	for _, tt := range tests {
		t.Run(string(tt.currency), func(t *testing.T) {
			got, ok := tt.currency.Exponent()
			if !ok || got != tt.want {
				t.Errorf("Exponent() = %d, %v; want %d, true", got, ok, tt.want)
			}
		})
	}
}

func TestExponentUnknown(t *testing.T) {
	// Withdrawn codes, units without minor units, lower case and the empty
	// string are not currencies an amount can be in.
	for _, c := range []Currency{"", "XYZ", "HRK", "ZWL", "XAU", "XXX", "sek", "SEK "} {
		t.Run(string(c), func(t *testing.T) {
			if e, ok := c.Exponent(); ok {
				t.Errorf("Exponent() = %d, true; want unknown", e)
			}
		})
	}
}

func TestExponentTable(t *testing.T) {
	for c, e := range exponents {
		if len(c) != 3 || strings.ToUpper(string(c)) != string(c) {
			t.Errorf("%q is not a three-letter upper-case code", c)
		}
		if e < 0 || e > 4 {
			t.Errorf("%s has exponent %d", c, e)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Currency
		wantErr string
	}{
		{name: "upper", in: "SEK", want: "SEK"},
		{name: "lower", in: "sek", want: "SEK"},
		{name: "mixed", in: "eUr", want: "EUR"},
		{name: "spaces around", in: "  jpy\t\n", want: "JPY"},
		{name: "unknown", in: "xyz", wantErr: "XYZ is not a currency we know; use an ISO 4217 code such as SEK or EUR"},
		{name: "withdrawn", in: "HRK", wantErr: "HRK is not a currency we know"},
		{name: "empty", in: "", wantErr: "no currency given; use an ISO 4217 code"},
		{name: "only spaces", in: "   ", wantErr: "no currency given"},
		{name: "space inside", in: "S EK", wantErr: "S EK is not a currency we know"},
		{name: "symbol", in: "kr", wantErr: "KR is not a currency we know"},
		{name: "long s is not s", in: "ſek", wantErr: "ſEK is not a currency we know"},
		{name: "kelvin sign is not k", in: "\u212aWD", wantErr: "\u212aWD is not a currency we know"},
		{name: "long input not repeated", in: "Swedish kronor please", wantErr: "that is not a currency we know"},
		{name: "control characters not repeated", in: "SE\x00K", wantErr: "that is not a currency we know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCurrency(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("ParseCurrency(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// checkErr fails t unless err contains want, or is nil when want is empty.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error; want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
