package web

import "testing"

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"52.52", 52.52, true},
		{" 52,52 ", 52.52, true},
		{"-0.5", -0.5, true},
		{"+13", 13, true},
		{"1e2", 100, true},
		{"", 0, false},
		{"52,5,2", 0, false},
		{"52,5.2", 0, false},
		{"NaN", 0, false},
		{"inf", 0, false},
		{"-Infinity", 0, false},
		{"1e400", 0, false},
		{"0x1p5", 0, false},
		{"1_000", 0, false},
		{"52.52abc", 0, false},
		{"100000000000000000000000000000000", 0, false}, // 33 characters
	} {
		errs := map[string]string{}
		got := parseNumber(tc.in, "lat", "Latitude", errs)
		if ok := len(errs) == 0; ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseNumber(%q) = %g, errors %v; want %g, ok %v", tc.in, got, errs, tc.want, tc.ok)
		}
	}
}
