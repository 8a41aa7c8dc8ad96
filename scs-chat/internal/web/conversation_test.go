package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestConversationPage(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)

	r := ada.get("/chat/conversations/" + id)
	if r.status != http.StatusOK {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
	if got := text(find(t, r.body, "partner")); got != "Bob" {
		t.Errorf("Ada's partner is %q, want Bob", got)
	}
	if got := text(find(t, r.body, "distance")); got != "about 2 km away" {
		t.Errorf("distance %q, want about 2 km away", got)
	}
	for _, where := range []string{adaLat, adaLon, bobLat, bobLon, "52.520", "52.538", "13.404"} {
		if strings.Contains(r.body, where) {
			t.Errorf("the page gives away a location: it holds %q", where)
		}
	}
	section := find(t, r.body, "conversation")
	if attr(section, "data-live") != "/chat/live?conversation="+id || attr(section, "data-me") != ada.id {
		t.Errorf("live %q, me %q", attr(section, "data-live"), attr(section, "data-me"))
	}
	if find(t, r.body, "compose") == nil || !hasAttr(find(t, r.body, "ended"), "hidden") {
		t.Errorf("an active conversation shows the compose form and hides the ended notice")
	}
	if got := text(find(t, bob.get("/chat/conversations/"+id).body, "partner")); got != "Ada" {
		t.Errorf("Bob's partner is %q, want Ada", got)
	}

	t.Run("renames show up", func(t *testing.T) {
		if _, err := s.db.ExecContext(context.Background(), `UPDATE users_replica SET display_name = 'Robert' WHERE user_id = $1`, bob.id); err != nil {
			t.Fatal(err)
		}
		r := ada.get("/chat/conversations/" + id)
		if got := text(find(t, r.body, "partner")); got != "Robert" {
			t.Errorf("after the rename Ada's partner is %q, want Robert", got)
		}
		if got := text(find(t, r.body, "block")); got != "Block Robert" {
			t.Errorf("block button %q", got)
		}
		if got := text(find(t, bob.get("/chat/conversations/"+id).body, "nav-user")); got != "Robert" {
			t.Errorf("Bob's navigation names %q, want Robert", got)
		}
	})
}
