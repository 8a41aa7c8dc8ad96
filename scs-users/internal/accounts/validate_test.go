package accounts

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCheckDisplayName: whatever is typed, a name that is accepted is stored
// in a form that passes the check again unchanged, is at most 50 characters,
// and holds no control or format characters.
func FuzzCheckDisplayName(f *testing.F) {
	for _, s := range []string{"Ada", "  Ada   Lovelace ", "Ada\u202e", "e\u0301", "\xff\xfe", strings.Repeat("é", 50), "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, msg := checkDisplayName(in)
		if msg != "" {
			if name != "" {
				t.Fatalf("checkDisplayName(%q) refused with %q but returned %q", in, msg, name)
			}
			return
		}
		if again, msg := checkDisplayName(name); msg != "" || again != name {
			t.Fatalf("the stored name %q does not pass again: %q, %q", name, again, msg)
		}
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxDisplayNameLength || name != strings.TrimSpace(name) {
			t.Fatalf("checkDisplayName(%q) accepted %q", in, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("checkDisplayName(%q) let %U through", in, r)
			}
		}
	})
}

// FuzzCheckEmail: an accepted address is lower case, trimmed, at most 254
// bytes, has one @ with a dotted domain, and passes the check again unchanged.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", " ADA@Example.COM ", "a@b", "Ada <ada@example.com>", "\"a b\"@example.com", "a@b..c", "@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		email, msg := checkEmail(in)
		if msg != "" {
			return
		}
		if again, msg := checkEmail(email); msg != "" || again != email {
			t.Fatalf("the stored address %q does not pass again: %q, %q", email, again, msg)
		}
		local, domain, ok := strings.Cut(email, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || email != strings.ToLower(email) || len(email) > MaxEmailLength ||
			strings.ContainsAny(email, " \t\r\n<>") {
			t.Fatalf("checkEmail(%q) accepted %q", in, email)
		}
	})
}
