package money

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		amount      Amount
		wantFormat  string
		wantDecimal string
	}{
		{Amount{0, "SEK"}, "SEK 0.00", "0.00"},
		{Amount{5, "SEK"}, "SEK 0.05", "0.05"},
		{Amount{50, "SEK"}, "SEK 0.50", "0.50"},
		{Amount{123450, "SEK"}, "SEK 1,234.50", "1234.50"},
		{Amount{99999, "SEK"}, "SEK 999.99", "999.99"},
		{Amount{100000, "SEK"}, "SEK 1,000.00", "1000.00"},
		{Amount{-300, "EUR"}, "−EUR 3.00", "-3.00"},
		{Amount{-1, "EUR"}, "−EUR 0.01", "-0.01"},
		{Amount{MaxMinor, "SEK"}, "SEK 10,000,000,000,000.00", "10000000000000.00"},
		{Amount{-MaxMinor, "SEK"}, "−SEK 10,000,000,000,000.00", "-10000000000000.00"},
		{Amount{0, "JPY"}, "JPY 0", "0"},
		{Amount{1000, "JPY"}, "JPY 1,000", "1000"},
		{Amount{999, "JPY"}, "JPY 999", "999"},
		{Amount{-1234567, "KRW"}, "−KRW 1,234,567", "-1234567"},
		{Amount{MaxMinor, "JPY"}, "JPY 1,000,000,000,000,000", "1000000000000000"},
		{Amount{-MaxMinor, "JPY"}, "−JPY 1,000,000,000,000,000", "-1000000000000000"},
		{Amount{1, "KWD"}, "KWD 0.001", "0.001"},
		{Amount{1234567, "KWD"}, "KWD 1,234.567", "1234.567"},
		{Amount{-10, "BHD"}, "−BHD 0.010", "-0.010"},
		{Amount{MaxMinor, "KWD"}, "KWD 1,000,000,000,000.000", "1000000000000.000"},
		{Amount{-MaxMinor, "TND"}, "−TND 1,000,000,000,000.000", "-1000000000000.000"},
		{Amount{12345, "CLF"}, "CLF 1.2345", "1.2345"},
		// Beyond MaxMinor nothing should be made, but printing it must not
		// lie or panic.
		{Amount{math.MinInt64, "SEK"}, "−SEK 92,233,720,368,547,758.08", "-92233720368547758.08"},
		{Amount{math.MaxInt64, "JPY"}, "JPY 9,223,372,036,854,775,807", "9223372036854775807"},
		// A currency the table does not know gets no decimals.
		{Amount{1234, "XYZ"}, "XYZ 1,234", "1234"},
		{Amount{-5, ""}, "−5", "-5"},
	}
	for _, tt := range tests {
		t.Run(tt.wantFormat, func(t *testing.T) {
			if got := tt.amount.Format(); got != tt.wantFormat {
				t.Errorf("Format() = %q; want %q", got, tt.wantFormat)
			}
			if got := tt.amount.String(); got != tt.wantFormat {
				t.Errorf("String() = %q; want %q", got, tt.wantFormat)
			}
			if got := tt.amount.Decimal(); got != tt.wantDecimal {
				t.Errorf("Decimal() = %q; want %q", got, tt.wantDecimal)
			}
		})
	}
}
