package contracts_test

import (
	"testing"

	"github.com/scs-platform/shared-events/contracts"
)

func TestDisguisingCharacter(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		want    rune
	}{
		{"plain text", "Kafé Java", 0},
		{"empty", "", 0},
		{"right-to-left letters", "مقهى جافا", 0},
		{"left-to-right mark", "Ada\u200e (admin)", 0},
		{"right-to-left mark", "שלום\u200f!", 0},
		{"Arabic letter mark", "\u061c123", 0},
		{"other invisible format characters are not its business", "a\u200bb\u200dc", 0},
		{"LRE", "a\u202ab", '\u202a'},
		{"RLE", "a\u202bb", '\u202b'},
		{"PDF", "a\u202cb", '\u202c'},
		{"LRO", "a\u202db", '\u202d'},
		{"RLO", "Kafé \u202eamoc.evil", '\u202e'},
		{"LRI", "\u2066a", '\u2066'},
		{"RLI", "\u2067a", '\u2067'},
		{"FSI", "\u2068a", '\u2068'},
		{"PDI", "a\u2069", '\u2069'},
		{"the first of several", "a\u2067b\u202ec", '\u2067'},
		{"next to the range", "\u2029\u202f\u2065\u206a", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, found := contracts.DisguisingCharacter(tc.s)
			if found != (tc.want != 0) || r != tc.want {
				t.Errorf("DisguisingCharacter(%+q) = %U, %v; want %U, %v", tc.s, r, found, tc.want, tc.want != 0)
			}
		})
	}
}
