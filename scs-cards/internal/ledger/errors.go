package ledger

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scs-platform/shared-events/contracts"
)

// Errors meant for the user: the web layer shows them in plain words.
var (
	// ErrNoAccount is an action of a user who has no card account.
	ErrNoAccount = errors.New("you have no card account yet")
	// ErrHasAccount is a second account for one user.
	ErrHasAccount = errors.New("you have a card account already")
	// ErrNotFound is a card or statement that does not exist or is not the
	// user's: the two are never told apart.
	ErrNotFound = errors.New("there is no such card or statement")
	// ErrClosed is a change to a closed account.
	ErrClosed = errors.New("this card account is closed")
)

// UserError is a refusal whose message may be shown to the user as it is.
type UserError struct {
	// Field is the form field it is about, or "".
	Field   string
	Message string
}

func (e *UserError) Error() string { return e.Message }

// Refuse returns a UserError about field ("" for none).
func Refuse(field, format string, args ...any) error {
	return &UserError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// forTheUser reports whether err is meant for the user as it is.
func forTheUser(err error) bool {
	if _, ok := errors.AsType[*UserError](err); ok {
		return true
	}
	for _, e := range []error{ErrNoAccount, ErrHasAccount, ErrNotFound, ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Wrap adds what failed to an error that is not meant for the user.
func Wrap(what string, err error) error {
	if err == nil || forTheUser(err) {
		return err
	}
	return fmt.Errorf("cards: %s: %w", what, err)
}

// Text checks that v, trimmed, has 1 to maxChars characters and returns it;
// otherwise it refuses field, which label names in the message.
func Text(field, label, v string, maxChars int) (string, error) {
	v = strings.TrimSpace(v)
	n := len([]rune(v))
	switch {
	case n == 0:
		return "", Refuse(field, "Enter %s.", label)
	case n > maxChars:
		return "", Refuse(field, "%s may have at most %d characters; this has %d.", capitalise(label), maxChars, n)
	}
	// Other people read it (the account's name, a card's history): an
	// invisible override would show them something else than was typed.
	if r, found := contracts.DisguisingCharacter(v); found {
		return "", Refuse(field, "The %s contains an invisible character that reverses text direction (%U); remove it.", field, r)
	}
	return v, nil
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
