package money

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse reads a non-negative amount a person typed in currency c, such as a
// limit or a purchase amount: digits, optionally one '.' or ',' followed by
// at most c's Exponent digits. Single spaces (also no-break, thin and narrow
// no-break spaces) between digits of the whole units group them and are
// ignored: "1 234,50". Neither '.' nor ',' groups thousands, because
// "1,234" and "1.234" would then mean two different things; with two
// decimals allowed, "1,234" is refused for having three.
//
// The error, when there is one, says in plain words what is wrong with the
// amount, for showing next to the form field.
func Parse(s string, c Currency) (Amount, error) {
	exp, ok := c.Exponent()
	if !ok {
		return Amount{}, unknownCurrency(string(c))
	}
	in := strings.TrimFunc(s, unicode.IsSpace)
	whole, frac, err := splitDigits(in)
	if err != nil {
		return Amount{}, err
	}
	if len(frac) > exp {
		return Amount{}, tooManyDecimals(c, exp, in, len(frac))
	}

	// Appending a digit never makes the value smaller, so once it exceeds
	// MaxMinor the amount is too large; checking after every digit keeps
	// v*10+9 far below the int64 limit.
	var v int64
	for _, d := range []string{whole, frac, strings.Repeat("0", exp-len(frac))} {
		for i := range len(d) {
			v = v*10 + int64(d[i]-'0')
			if v > MaxMinor {
				return Amount{}, fmt.Errorf("the amount is more than %s, the most we handle", Amount{MaxMinor, c})
			}
		}
	}
	return Amount{Minor: v, Currency: c}, nil
}

// splitDigits checks the characters of a trimmed amount and returns the
// digits before and after its decimal separator.
func splitDigits(in string) (whole, frac string, err error) {
	if in == "" {
		return "", "", errors.New("the amount is empty; enter a number such as 100")
	}
	switch in[0] {
	case '-':
		return "", "", errors.New("the amount cannot be negative; enter it without a minus sign")
	case '+':
		return "", "", errors.New("enter the amount without a plus sign")
	}
	if strings.HasPrefix(in, minusSign) {
		return "", "", errors.New("the amount cannot be negative; enter it without a minus sign")
	}

	var w, f strings.Builder
	separators := 0
	prev := rune(0)
	for i, r := range in {
		switch {
		case '0' <= r && r <= '9':
			if separators == 0 {
				w.WriteRune(r)
			} else {
				f.WriteRune(r)
			}
		case r == '.' || r == ',':
			separators++
			if separators > 1 {
				return "", "", errors.New("the amount has more than one '.' or ','; " +
					"use one only before the decimals, and group thousands with spaces if at all")
			}
		case isGroupSpace(r):
			next, _ := utf8.DecodeRuneInString(in[i+utf8.RuneLen(r):])
			if separators > 0 || !isDigit(prev) || !isDigit(next) {
				return "", "", errors.New("the amount has a space out of place; " +
					"spaces may only separate groups of digits before the decimals, as in 1 234 567.50")
			}
		case unicode.IsLetter(r):
			return "", "", errors.New("the amount has letters in it; enter only the number, without a currency")
		default:
			return "", "", fmt.Errorf("the amount has %q in it; use only digits and one '.' or ',' before the decimals", r)
		}
		prev = r
	}
	if w.Len() == 0 && f.Len() == 0 {
		return "", "", errors.New("the amount has no digits; enter a number such as 100")
	}
	return w.String(), f.String(), nil
}

func tooManyDecimals(c Currency, exp int, in string, got int) error {
	switch exp {
	case 0:
		return fmt.Errorf("%s has no decimals; %s has %d", c, in, got)
	case 1:
		return fmt.Errorf("%s has 1 decimal; %s has %d", c, in, got)
	}
	return fmt.Errorf("%s has %d decimals; %s has %d", c, exp, in, got)
}

func isDigit(r rune) bool {
	return '0' <= r && r <= '9'
}

// isGroupSpace reports whether r is a space people put between groups of
// digits: a plain space, or the no-break, figure, thin and narrow no-break
// spaces that word processors and locales (sv-SE, fr-FR) use.
func isGroupSpace(r rune) bool {
	switch r {
	case ' ', '\u00a0', '\u2007', '\u2009', '\u202f':
		return true
	}
	return false
}
