package password

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The password policy follows OWASP ASVS 5, V6.2: a minimum and a maximum
// length, a list of common passwords, no composition rules (no "must have a
// digit"), any Unicode allowed, spaces included. Lengths count Unicode code
// points after Normalize.
const (
	// MinLength is the fewest characters a password may have.
	MinLength = 8
	// SuggestedLength is what the sign-up form suggests.
	SuggestedLength = 15
	// MaxLength is the most characters a password may have. ASVS asks that
	// at least 64 be allowed; the cap keeps request sizes sane.
	MaxLength = 128
)

// minPersonalLength is the shortest personal word Check compares a password
// with, so that a short name does not refuse a password of that name padded
// with spaces.
const minPersonalLength = 4

// PolicyError is a password that Check refuses.
type PolicyError struct {
	// Reason is a plain sentence for the user, shown next to the field.
	Reason string
}

// Error returns the Reason.
func (e *PolicyError) Error() string { return e.Reason }

// Check returns nil if password may be chosen, or a *PolicyError saying why
// not. personal are words about the user (their email address, its local
// part, their display name): the password may not be one of them, ignoring
// case and surrounding spaces. Personal words shorter than 4 characters are
// ignored.
//
// A password that is nothing but spaces is refused, whatever its length.
// Spaces elsewhere are the user's choice: they count towards the length, and
// are kept when hashing.
func Check(password string, personal ...string) error {
	pw := Normalize(password)
	switch n := utf8.RuneCountInString(pw); {
	case n < MinLength:
		return &PolicyError{Reason: fmt.Sprintf("Use at least %d characters; %d or more is better.", MinLength, SuggestedLength)}
	case n > MaxLength:
		return &PolicyError{Reason: fmt.Sprintf("Use at most %d characters.", MaxLength)}
	}
	trimmed := strings.TrimSpace(pw)
	if trimmed == "" {
		return &PolicyError{Reason: "Use at least one character that is not a space."}
	}
	if IsCommon(trimmed) {
		return &PolicyError{Reason: "This password is one of the most common ones and easy to guess. Choose another."}
	}
	for _, w := range personal {
		w = strings.TrimSpace(Normalize(w))
		if utf8.RuneCountInString(w) >= minPersonalLength && strings.EqualFold(trimmed, w) {
			return &PolicyError{Reason: "Don't use your email address or your name as your password."}
		}
	}
	return nil
}

// Normalize returns password in Unicode normalisation form NFKC, so that the
// same password typed on two devices that compose characters differently
// ("é" as one code point or as "e" and a combining accent) is the same
// password. Hash, Verify and Check apply it.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}

// IsCommon reports whether password, normalised, lower-cased and trimmed of
// surrounding spaces, is on the embedded list of common passwords.
func IsCommon(password string) bool {
	_, ok := commonPasswords()[commonKey(password)]
	return ok
}

func commonKey(password string) string {
	return strings.ToLower(strings.TrimSpace(Normalize(password)))
}

// commonPasswordsFile is the first 10,000 entries of at least 8 characters
// (MinLength: shorter ones are refused anyway) of the passwords list in
// zxcvbn-ts' @zxcvbn-ts/language-common 4.1.3 (src/passwords.json, ordered by
// frequency), lower-cased and deduplicated, one per line, after a header of
// "#" lines. The list is under the MIT licence; common-passwords.LICENSE has
// its notice.
//
//go:embed common-passwords.txt
var commonPasswordsFile string

// commonPasswords is the set of commonKey of every entry in
// commonPasswordsFile, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[commonKey(line)] = struct{}{}
	}
	return set
})
