package terminal

import (
	"context"
	"encoding/json"
	"testing"
)

// TestInFlightKey answers 409 for a key that this process is handling now,
// at once, instead of queueing behind it (on SQLite, where transactions
// take turns, a duplicate would otherwise wait and replay).
func TestInFlightKey(t *testing.T) {
	s := &Service{}
	s.inflight.Store("terminal\nkey-1", struct{}{})
	reply, err := s.Authorise(context.Background(), "terminal", "key-1", AuthoriseRequest{CardID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	var e APIError
	if reply.Outcome != Conflicting || json.Unmarshal(reply.Body, &e) != nil || e.Error.Code != "request_in_progress" {
		t.Errorf("a key in flight: %d %s, want Conflicting request_in_progress", reply.Outcome, reply.Body)
	}
}
