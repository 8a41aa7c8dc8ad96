package web_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestLeave(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id

	r := ada.post(page + "/leave")
	if r.status != http.StatusSeeOther || r.location != page+"?done=left" {
		t.Fatalf("leave: %d to %q, want 303 to %s?done=left", r.status, r.location, page)
	}
	if s.conversation(ada.id, id).Active() {
		t.Fatal("the conversation is still active")
	}
	r = ada.get(r.location)
	ended := find(t, r.body, "ended")
	if r.status != http.StatusOK || ended == nil || hasAttr(ended, "hidden") || !strings.Contains(text(ended), "You left") {
		t.Errorf("Ada's page: %d, ended %q (hidden %v)", r.status, text(ended), hasAttr(ended, "hidden"))
	}
	if text(find(t, r.body, "done")) != "You left the conversation." {
		t.Errorf("done %q", text(find(t, r.body, "done")))
	}
	for _, b := range []*browser{ada, bob} {
		r := b.get(page)
		if find(t, r.body, "compose") != nil || find(t, r.body, "leave") != nil || attr(find(t, r.body, "conversation"), "data-live") != "" {
			t.Errorf("%s's page of an ended conversation still offers to write, leave or go live", b.name)
		}
		if ended := find(t, r.body, "ended"); hasAttr(ended, "hidden") {
			t.Errorf("%s's page hides the ended notice", b.name)
		}
	}
	if got := text(find(t, bob.get(page).body, "ended")); !strings.Contains(got, "Ada left this conversation") {
		t.Errorf("Bob's ended notice %q", got)
	}
	if r := bob.post(page+"/messages", "client_id", "late", "text", "still there?"); r.status != http.StatusConflict {
		t.Errorf("a message to an ended conversation: %d, want 409", r.status)
	}
	if n := len(s.messages(bob.id, id)); n != 0 {
		t.Errorf("%d messages stored in an ended conversation", n)
	}
	if r := ada.post(page + "/leave"); r.status != http.StatusSeeOther {
		t.Errorf("leaving again: %d, want 303", r.status)
	}
	if r := ada.get("/chat/"); r.status != http.StatusOK || find(t, r.body, "join-form") == nil {
		t.Errorf("the start page after leaving: %d to %q, want the join form", r.status, r.location)
	}
}
