package web_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestBlock(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id

	r := ada.post(page + "/block")
	if r.status != http.StatusSeeOther || r.location != page+"?done=blocked" {
		t.Fatalf("block: %d to %q, want 303 to %s?done=blocked", r.status, r.location, page)
	}
	r = ada.get(r.location)
	if !strings.Contains(text(find(t, r.body, "done")), "Blocked") || hasAttr(find(t, r.body, "ended"), "hidden") {
		t.Errorf("Ada's page after blocking: done %q", text(find(t, r.body, "done")))
	}
	if s.conversation(bob.id, id).Active() {
		t.Error("blocking did not end the conversation")
	}
	// The two are never matched again.
	ada.join(adaLat, adaLon, "5")
	if r := bob.join(bobLat, bobLon, "5"); r.location != "/chat/waiting" {
		t.Errorf("Bob's join after the block: %d to %q, want the waiting room", r.status, r.location)
	}
}
