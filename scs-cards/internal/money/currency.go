package money

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Currency is an ISO 4217 alphabetic code, e.g. "SEK".
type Currency string

// Exponent returns the number of minor-unit digits (SEK 2, JPY 0, KWD 3, ...)
// and whether the currency is known. Only upper-case codes are known; use
// ParseCurrency for what a person typed.
func (c Currency) Exponent() (int, bool) {
	e, ok := exponents[c]
	return e, ok
}

// ParseCurrency accepts a known code, case-insensitively with surrounding
// spaces trimmed, and returns it upper-case.
func ParseCurrency(s string) (Currency, error) {
	code := strings.TrimFunc(s, unicode.IsSpace)
	if code == "" {
		return "", errors.New("no currency given; use an ISO 4217 code such as SEK or EUR")
	}
	// Upper-case ASCII only: strings.ToUpper would turn "ſek" (long s) into
	// "SEK", and a code that only looks right must not pass.
	upper := []byte(code)
	for i, b := range upper {
		if 'a' <= b && b <= 'z' {
			upper[i] = b - 'a' + 'A'
		}
	}
	c := Currency(upper)
	if _, ok := c.Exponent(); !ok {
		return "", unknownCurrency(string(c))
	}
	return c, nil
}

// unknownCurrency repeats the code the person gave only when it is short and
// printable, so that a pasted paragraph or control characters never end up in
// a message shown on a page.
func unknownCurrency(code string) error {
	const advice = "use an ISO 4217 code such as SEK or EUR"
	if len(code) > 8 || strings.IndexFunc(code, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("that is not a currency we know; %s", advice)
	}
	return fmt.Errorf("%s is not a currency we know; %s", code, advice)
}

// exponents holds the minor-unit digits of every active ISO 4217 code that
// has minor units (list one of the ISO 4217 maintenance agency, 2025). Codes
// whose minor units are "N.A." (XAU, XAG, XPD, XPT, XDR, XSU, XUA, the XB?
// bond units, XTS and XXX) are left out: they cannot be written as a count of
// minor units.
var exponents = map[Currency]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,

	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,

	// Ten-thousandths: the Chilean and Uruguayan units of account.
	"CLF": 4, "UYW": 4,

	// Hundredths.
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2,
	"AUD": 2, "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2,
	"BMD": 2, "BND": 2, "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2,
	"BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2,
	"CHW": 2, "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUC": 2, "CUP": 2,
	"CVE": 2, "CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2,
	"ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2,
	"GIP": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2,
	"HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IRR": 2, "JMD": 2, "KES": 2,
	"KGS": 2, "KHR": 2, "KPW": 2, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2,
	"LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2,
	"MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2,
	"MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2,
	"NOK": 2, "NPR": 2, "NZD": 2, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2,
	"PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "SAR": 2,
	"SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2,
	"SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2,
	"THB": 2, "TJS": 2, "TMT": 2, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2,
	"TZS": 2, "UAH": 2, "USD": 2, "USN": 2, "UYU": 2, "UZS": 2, "VED": 2,
	"VES": 2, "WST": 2, "XCD": 2, "XCG": 2, "YER": 2, "ZAR": 2, "ZMW": 2,
	"ZWG": 2,
}
