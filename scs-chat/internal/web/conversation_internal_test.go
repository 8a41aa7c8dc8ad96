package web

import "testing"

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
