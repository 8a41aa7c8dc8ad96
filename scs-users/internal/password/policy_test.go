package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	const (
		tooShort = "Use at least 8 characters; 15 or more is better."
		tooLong  = "Use at most 128 characters."
		spaces   = "Use at least one character that is not a space."
		common   = "This password is one of the most common ones and easy to guess. Choose another."
		personal = "Don't use your email address or your name as your password."
	)
	me := []string{"alice.smith@example.com", "alice.smith", "Alice Smith"}
	for _, tc := range []struct {
		name     string
		password string
		personal []string
		want     string // the Reason; "" for nil
	}{
		{"empty", "", nil, tooShort},
		{"7 characters", "kq7vzr2", nil, tooShort},
		{"8 characters", "kq7vzr2m", nil, ""},
		{"64 characters", strings.Repeat("kq7vzr2m", 8), nil, ""},
		{"128 characters", strings.Repeat("kq7vzr2m", 16), nil, ""},
		{"129 characters", strings.Repeat("kq7vzr2m", 16) + "x", nil, tooLong},
		{"7 emoji are 7 characters, though 28 bytes", strings.Repeat("🔒", 7), nil, tooShort},
		{"8 emoji", strings.Repeat("🔒", 8), nil, ""},
		{"128 emoji", strings.Repeat("🔒", 128), nil, ""},
		{"129 emoji", strings.Repeat("🔒", 129), nil, tooLong},
		{"8 CJK characters", "パスワードは秘密", nil, ""},
		{"an accent decomposed counts once", strings.Repeat("e\u0301", 7), nil, tooShort},
		{"a ligature counts as its letters", strings.Repeat("\ufb01", 4), nil, ""}, // "ﬁ" is "fi" in NFKC
		{"spaces inside", "tram lamp", nil, ""},
		{"a long random phrase", "violet tractor juggles seventeen marmalade lighthouses", nil, ""},
		{"8 spaces", strings.Repeat(" ", 8), nil, spaces},
		{"tabs and spaces", " \t \t \t \t", nil, spaces},
		{"3 spaces", "   ", nil, tooShort},
		{"password1", "password1", nil, common},
		{"Password1, ignoring case", "Password1", nil, common},
		{"PASSWORD1 in full-width letters", "ＰＡＳＳＷＯＲＤ１", nil, common},
		{"password1 with a trailing space", "password1 ", nil, common},
		{"iloveyou", "iloveyou", nil, common},
		{"the email address", "alice.smith@example.com", me, personal},
		{"the email address in capitals", "ALICE.SMITH@EXAMPLE.COM", me, personal},
		{"the local part", "alice.smith", me, personal},
		{"the name padded with spaces", "  Alice Smith ", me, personal},
		{"the name, its personal word padded", "alice smith", []string{"  Alice Smith  "}, personal},
		{"containing the name is allowed", "Alice Smith rides a red bicycle", me, ""},
		{"a personal word shorter than 4 is ignored", "   bob    ", []string{"Bob"}, ""},
		{"a personal word of 4 is not", "    anna    ", []string{"Anna"}, personal},
		{"no personal words", "alice.smith", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.password, tc.personal...)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil", tc.password, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v, want a *PolicyError", tc.password, err)
			}
			if pe.Reason != tc.want || err.Error() != tc.want {
				t.Errorf("Check(%q): Reason %q, Error() %q; want %q", tc.password, pe.Reason, err.Error(), tc.want)
			}
		})
	}
}

func TestIsCommon(t *testing.T) {
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"PassWord", true},
		{"12345678", true},
		{"iloveyou", true},
		{"dalmatio", true}, // the list's last entry
		{"123456", false},  // on the source list, but shorter than MinLength
		{"kq7vzr2m", false},
		{"", false},
	} {
		t.Run(tc.password, func(t *testing.T) {
			if got := IsCommon(tc.password); got != tc.want {
				t.Errorf("IsCommon(%q) = %v, want %v", tc.password, got, tc.want)
			}
		})
	}
}

// The embedded list is what its doc comment says it is; this fails if a
// regenerated list is not.
func TestCommonPasswordsFile(t *testing.T) {
	var entries int
	seen := map[string]bool{}
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			if entries > 0 {
				t.Errorf("comment %q after the first entry", line)
			}
			continue
		}
		entries++
		switch {
		case utf8.RuneCountInString(line) < MinLength:
			t.Errorf("entry %q is shorter than %d characters", line, MinLength)
		case commonKey(line) != line:
			t.Errorf("entry %q is not normalised, lower-cased and trimmed", line)
		case seen[line]:
			t.Errorf("entry %q is there twice", line)
		}
		seen[line] = true
	}
	if entries != 10000 {
		t.Errorf("%d entries, want 10000", entries)
	}
	if n := len(commonPasswords()); n != entries {
		t.Errorf("commonPasswords has %d entries, want %d", n, entries)
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"composes", "e\u0301", "\u00e9"},
		{"keeps composed", "\u00e9", "\u00e9"},
		{"folds compatibility forms", "\ufb01ＡＢ", "fiAB"},
		{"keeps case and spaces", " Pass word ", " Pass word "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
