package ratelimit_test

import (
	"testing"
	"time"

	"github.com/scs-platform/shared-events/httpkit/ratelimit"
)

func TestMemoryLimitsEachKeyAndForgetsDrainedOnes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &ratelimit.Memory{Rate: ratelimit.Rate{Burst: 3, Every: time.Second}, Now: func() time.Time { return now }}
	for i := range 3 {
		if ok, _ := m.Take("ada"); !ok {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := m.Take("ada")
	if ok || wait != time.Second {
		t.Errorf("fourth take = %v, wait %v; want refused, wait 1s", ok, wait)
	}
	if ok, _ := m.Take("bob"); !ok {
		t.Error("another key was refused: buckets are not per key")
	}
	now = now.Add(time.Second)
	if ok, _ := m.Take("ada"); !ok {
		t.Error("a take one interval later was refused")
	}
	// Long after, both buckets have drained; the next take sweeps them.
	now = now.Add(time.Hour)
	m.Take("carol")
	if n := m.Len(); n != 1 {
		t.Errorf("after an hour %d buckets are held, want 1 (only carol's)", n)
	}
}
