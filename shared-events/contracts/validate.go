package contracts

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// These patterns are the ones in the schemas, so that the typed checks and the
// schemas agree on what they accept.
var (
	// Lower case only: ids are compared as strings (subjects, replica keys), and
	// "A" and "a" would make two aggregates of one.
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// time.Parse alone also accepts a one-digit hour, a comma before the fraction
	// and a 24-hour offset, which neither RFC 3339 nor the schemas' date-time do.
	timePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)
	// The shape of a calendar date; checkDate and the schemas' format "date"
	// then refuse a day the month does not have.
	datePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	// A month of the calendar, "YYYY-MM" with MM from 01 to 12.
	monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	// The ISO 4217 alphabetic shape only: whether a code is assigned is the
	// owner's business, and a consumer shows a code it does not know as it is.
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

var errNotRFC3339 = errors.New("not an RFC 3339 timestamp")

func parseTime(s string) (time.Time, error) {
	if !timePattern.MatchString(s) {
		return time.Time{}, errNotRFC3339
	}
	return time.Parse(time.RFC3339Nano, s)
}

// firstError returns the first non-nil error of errs.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkUUID(eventType, field, value string) error {
	if value == "" {
		return &DataError{Type: eventType, Field: field, Reason: "is empty"}
	}
	if !uuidPattern.MatchString(value) {
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("is %q, not a UUID in lower-case hex such as \"01a19b53-741b-74c0-9095-71d6b11f635f\"", value)}
	}
	return nil
}

func checkLength(eventType, field, value string, minChars, maxChars int) error {
	switch n := utf8.RuneCountInString(value); {
	case n == 0 && minChars > 0:
		return &DataError{Type: eventType, Field: field, Reason: "is empty"}
	case n < minChars:
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("has %d characters, fewer than %d", n, minChars)}
	case n > maxChars:
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("has %d characters, more than %d", n, maxChars)}
	}
	return nil
}

func checkPattern(eventType, field, value string, pattern *regexp.Regexp, want string) error {
	if value == "" {
		return &DataError{Type: eventType, Field: field, Reason: "is empty"}
	}
	if !pattern.MatchString(value) {
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("is %q, not %s", value, want)}
	}
	return nil
}

func checkOneOf[T ~string](eventType, field string, value T, allowed ...T) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	list := strings.Join(quoted, ", ")
	if i := strings.LastIndex(list, ", "); i >= 0 {
		list = list[:i] + " or " + list[i+2:]
	}
	if value == "" {
		return &DataError{Type: eventType, Field: field, Reason: "is empty, must be " + list}
	}
	return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("is %q, must be %s", value, list)}
}

func checkTime(eventType, field string, value time.Time) error {
	if value.IsZero() {
		return &DataError{Type: eventType, Field: field, Reason: "is missing"}
	}
	// A year beyond 9999 or an offset of a day or more has no RFC 3339 form,
	// and encoding/json refuses to write it.
	if _, err := value.MarshalText(); err != nil {
		return &DataError{Type: eventType, Field: field, Reason: "has no RFC 3339 form: " + err.Error()}
	}
	return nil
}

func checkNonNegative(eventType, field string, value int64) error {
	if value < 0 {
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("is %d, must not be negative", value)}
	}
	return nil
}

func checkCurrency(eventType, field, value string) error {
	return checkPattern(eventType, field, value, currencyPattern, `an ISO 4217 code of 3 upper-case letters such as "EUR"`)
}

func checkMonth(eventType, field, value string) error {
	return checkPattern(eventType, field, value, monthPattern, `a month "YYYY-MM" such as "2029-11"`)
}

// checkDate accepts a calendar date "YYYY-MM-DD" that exists: not February 30.
func checkDate(eventType, field, value string) error {
	if err := checkPattern(eventType, field, value, datePattern, `a date "YYYY-MM-DD" such as "2026-12-22"`); err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, value); err != nil {
		return &DataError{Type: eventType, Field: field, Reason: fmt.Sprintf("is %q, not a day of the calendar", value)}
	}
	return nil
}
