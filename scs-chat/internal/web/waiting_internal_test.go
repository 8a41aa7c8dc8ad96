package web

import (
	"testing"
	"time"
)

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
