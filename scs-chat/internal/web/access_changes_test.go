package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-chat/internal/live"
	"github.com/scs-platform/scs-chat/internal/web"
)

// TestWatchAccess: a users event that bans a user closes their websockets with
// 4001, and the partner's page hears that the conversation ended.
func TestWatchAccess(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	carol := s.user(t, "Carol")

	after, err := s.chat.LastAccessChange(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- web.WatchAccess(ctx, s.chat, s.hub, slog.New(slog.DiscardHandler), after) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchAccess: %v", err)
		}
	})

	// A change right after the start is seen: the watcher starts where the
	// caller read the changes to be.
	carolWS := carol.live("/chat/live")
	s.updateUser(carol.id, "Caroline", contracts.StatusActive, contracts.UserChangeDisplayName)
	if code, _ := carolWS.closed(); code != live.StatusSessionEnded {
		t.Errorf("Carol's websocket closed with %d, want %d", code, live.StatusSessionEnded)
	}

	adaWS := ada.live("/chat/live?conversation=" + id)
	bobWS := bob.live("/chat/live?conversation=" + id)

	// A rename reloads the renamed user's pages and shows on the partner's.
	s.updateUser(bob.id, "Robert", contracts.StatusActive, contracts.UserChangeDisplayName)
	if code, _ := bobWS.closed(); code != live.StatusSessionEnded {
		t.Errorf("Bob's websocket closed with %d after his rename, want %d", code, live.StatusSessionEnded)
	}
	if f := adaWS.expect("renamed"); f.str("conversation") != id || f.str("name") != "Robert" {
		t.Errorf("Ada got %v, want Robert's new name", f)
	}
	bobWS = bob.live("/chat/live?conversation=" + id)

	s.updateUser(ada.id, "Ada", contracts.StatusBanned, contracts.UserChangeStatus)

	code, reason := adaWS.closed()
	if code != live.StatusSessionEnded || reason == "" {
		t.Errorf("Ada's websocket closed with %d %q, want %d with a reason", code, reason, live.StatusSessionEnded)
	}
	if f := bobWS.expect("ended"); f.str("conversation") != id {
		t.Errorf("Bob got %v", f)
	}
	if s.conversation(bob.id, id).Active() {
		t.Error("the ban did not end the conversation")
	}
	// The page reloads; the gate sends Ada to log in.
	if r := ada.get("/chat/conversations/" + id); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/users/login?") {
		t.Errorf("Ada's reload: %d to %q, want the login", r.status, r.location)
	}
	if ws, resp := ada.dialLive("/chat/live?conversation=" + id); ws != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Ada's new websocket: %s, want 401", resp.Status)
	}
}
