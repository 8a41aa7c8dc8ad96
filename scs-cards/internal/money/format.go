package money

import (
	"strconv"
	"strings"
)

// minusSign is U+2212, the real minus sign, which unlike '-' does not break a
// line away from the number and is as wide as a digit.
const minusSign = "\u2212"

// Format writes a for people, in one locale-neutral format: the currency
// code, whole units grouped by three with ',', and '.' before the minor
// units, e.g. "SEK 1,234.50", "JPY 1,000", "−EUR 3.00" (U+2212 minus). An
// amount in a currency the table does not know is written with no decimals.
func (a Amount) Format() string {
	whole, frac, negative := a.parts()
	var b strings.Builder
	if negative {
		b.WriteString(minusSign)
	}
	if a.Currency != "" {
		b.WriteString(string(a.Currency))
		b.WriteByte(' ')
	}
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// String is Format.
func (a Amount) String() string {
	return a.Format()
}

// Decimal returns the amount without currency or grouping, e.g. "1234.50",
// for form values that Parse reads back exactly. A negative amount starts
// with an ASCII '-' (which Parse refuses, as it refuses every negative
// amount).
func (a Amount) Decimal() string {
	whole, frac, negative := a.parts()
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if negative {
		s = "-" + s
	}
	return s
}

// parts splits the magnitude of a into its whole-unit digits and exactly
// Exponent minor-unit digits.
func (a Amount) parts() (whole, frac string, negative bool) {
	exp, _ := a.Currency.Exponent()
	// Through uint64 so that even math.MinInt64 has a magnitude.
	magnitude := uint64(a.Minor)
	if a.Minor < 0 {
		magnitude = -magnitude
	}
	digits := strconv.FormatUint(magnitude, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	cut := len(digits) - exp
	return digits[:cut], digits[cut:], a.Minor < 0
}
