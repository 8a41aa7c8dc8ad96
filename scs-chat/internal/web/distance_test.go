package web

import (
	"testing"
	"time"
)

func TestAboutDistance(t *testing.T) {
	for km, want := range map[float64]string{
		0:      "less than 1 km away",
		0.99:   "less than 1 km away",
		1:      "about 1 km away",
		2.0015: "about 2 km away",
		2.6:    "about 3 km away",
		9.4:    "about 9 km away",
		12.4:   "about 10 km away",
		12.6:   "about 15 km away",
		97:     "about 95 km away",
		99.9:   "about 100 km away",
		104:    "about 100 km away",
		106:    "about 110 km away",
		499.9:  "about 500 km away",
	} {
		if got := aboutDistance(km); got != want {
			t.Errorf("aboutDistance(%g) = %q, want %q", km, got, want)
		}
	}
}

func TestWaitedFor(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "less than a minute",
		59 * time.Second:                "less than a minute",
		time.Minute:                     "1 minute",
		119 * time.Second:               "1 minute",
		2 * time.Minute:                 "2 minutes",
		14*time.Minute + 59*time.Second: "14 minutes",
	} {
		if got := waitedFor(d); got != want {
			t.Errorf("waitedFor(%s) = %q, want %q", d, got, want)
		}
	}
}

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
