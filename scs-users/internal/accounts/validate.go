package accounts

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/scs-platform/shared-events/contracts"
)

// Limits of what users type.
const (
	MaxEmailLength       = 254                                // RFC 5321's limit of a path, less the angle brackets
	MaxDisplayNameLength = contracts.UserMaxDisplayNameLength // in the events, so the contract's
)

// normaliseEmail is the form an address is stored and looked up in. Only case
// is folded: the local part's dots and "+tags" belong to the mail provider.
func normaliseEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// checkEmail returns the normalised address, or what is wrong with it.
func checkEmail(email string) (string, string) {
	e := normaliseEmail(email)
	switch {
	case e == "":
		return "", "Enter your email address."
	case len(e) > MaxEmailLength:
		return "", "This email address is too long."
	}
	a, err := mail.ParseAddress(e)
	// ParseAddress also takes "Name <a@b>" and comments; the field wants the
	// bare address, with a dot in its domain.
	if err != nil || a.Address != e || a.Name != "" {
		return "", "Enter an email address like name@example.com."
	}
	_, domain, _ := strings.Cut(e, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", "Enter an email address like name@example.com."
	}
	return e, ""
}

// checkDisplayName returns the name as stored, or what is wrong with it.
func checkDisplayName(name string) (string, string) {
	if msg := disguising("name", name); msg != "" {
		return "", msg
	}
	n, ok := cleanText(name)
	switch {
	case !ok:
		return "", "Use letters, digits, spaces and punctuation only."
	case n == "":
		return "", "Enter the name other people will see."
	case utf8.RuneCountInString(n) > MaxDisplayNameLength:
		return "", "Use at most 50 characters."
	}
	return n, ""
}

// cleanText is a line of text as stored: NFC, trimmed, inner runs of white
// space collapsed to one space. It is not ok if it is not UTF-8, or holds control or format
// characters (such as right-to-left overrides), which would let a name pose as
// another or break the pages it is shown on.
func cleanText(s string) (string, bool) {
	if !utf8.ValidString(s) {
		// Only a broken client sends it, and PostgreSQL would refuse it.
		return "", false
	}
	t := strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	for _, r := range t {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", false
		}
	}
	return t, true
}

// disguising says, in plain words that name the character, that text other
// people will see holds an invisible character that reorders it on their
// screens (contracts.DisguisingCharacter), or "" if it holds none. cleanText
// refuses these too, among every format character; this says which and why.
func disguising(what, text string) string {
	if r, found := contracts.DisguisingCharacter(text); found {
		return fmt.Sprintf("The %s contains an invisible character that reverses text direction (%U); remove it.", what, r)
	}
	return ""
}
