package web_test

import (
	"net/http"
	"testing"
)

func TestStopWaiting(t *testing.T) {
	s := newSite(t)
	ada := s.user(t, "Ada")
	ada.join(adaLat, adaLon, "5")

	r := ada.post("/chat/waiting/stop")
	if r.status != http.StatusSeeOther || r.location != "/chat/?done=stopped" {
		t.Fatalf("stop: %d to %q, want 303 to /chat/?done=stopped", r.status, r.location)
	}
	if s.status(ada.id).Waiting {
		t.Fatal("still waiting after stopping")
	}
	r = ada.get(r.location)
	if r.status != http.StatusOK || find(t, r.body, "join-form") == nil || text(find(t, r.body, "done")) != "You are no longer waiting." {
		t.Errorf("the start page after stopping: %d, done %q", r.status, text(find(t, r.body, "done")))
	}
	if r := ada.get("/chat/waiting"); r.status != http.StatusSeeOther || r.location != "/chat/?done=expired" {
		t.Errorf("the waiting page after stopping: %d to %q", r.status, r.location)
	}
	// Nobody is matched with a user who stopped.
	if r := s.user(t, "Bob").join(bobLat, bobLon, "5"); r.location != "/chat/waiting" {
		t.Errorf("Bob's join after Ada stopped: %d to %q, want the waiting room", r.status, r.location)
	}
	// Stopping when not waiting is harmless.
	if r := ada.post("/chat/waiting/stop"); r.status != http.StatusSeeOther {
		t.Errorf("stopping again: %d", r.status)
	}
}
