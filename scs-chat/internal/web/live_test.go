package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-chat/internal/chat"
)

func TestLiveMessages(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	adaWS := ada.live("/chat/live?conversation=" + id)

	// A message sent with the form arrives on the partner's open page.
	if r := bob.send(id, "hello from the form"); r.status != http.StatusSeeOther {
		t.Fatalf("Bob's form: %d", r.status)
	}
	f := adaWS.expect("message")
	if f.str("text") != "hello from the form" || f.str("from") != bob.id || f.str("conversation") != id || f.num("seq") != 1 {
		t.Errorf("Ada got %v", f)
	}

	// A message sent over the websocket is acked and arrives on the partner's.
	bobWS := bob.live("/chat/live?conversation=" + id)
	send := map[string]string{"type": "send", "conversation": id, "client_id": "k1", "text": "hi <b>Bob</b>"}
	adaWS.write(send)
	if f := adaWS.expect("ack"); f.str("client_id") != "k1" || f.num("seq") != 2 {
		t.Errorf("ack %v, want k1 at seq 2", f)
	}
	f = bobWS.expect("message")
	if f.str("text") != "hi <b>Bob</b>" || f.str("from") != ada.id || f.num("seq") != 2 || f.str("client_id") != "k1" {
		t.Errorf("Bob got %v", f)
	}
	// Sent again (a reconnecting page does), it is stored once.
	adaWS.write(send)
	if f := adaWS.expect("ack"); f.num("seq") != 2 {
		t.Errorf("the resend's ack %v, want seq 2", f)
	}
	if n := len(s.messages(ada.id, id)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	// The page shows it after a reload, escaped.
	if r := bob.get("/chat/conversations/" + id); len(findAll(t, r.body, "message")) != 2 || strings.Contains(r.body, "<b>Bob</b>") {
		t.Errorf("Bob's page after the live message:\n%s", r.body)
	}

	// A frame the chat refuses gets an error, and nothing is stored.
	adaWS.write(map[string]string{"type": "send", "conversation": id, "client_id": "k2", "text": strings.Repeat("x", 2001)})
	if f := adaWS.expect("error"); f.str("client_id") != "k2" {
		t.Errorf("error %v, want one about k2", f)
	}
	if n := len(s.messages(ada.id, id)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	// So does a frame whose text would read otherwise on Bob's screen, in
	// words that name the character.
	adaWS.write(map[string]string{"type": "send", "conversation": id, "client_id": "k3", "text": "pay me \u202e01$"})
	want := "The message contains an invisible character that reverses text direction (U+202E); remove it."
	if f := adaWS.expect("error"); f.str("client_id") != "k3" || f.str("error") != want {
		t.Errorf("error %v, want one about k3 saying %q", f, want)
	}
	if n := len(s.messages(ada.id, id)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}

func TestLiveEnded(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	adaWS := ada.live("/chat/live?conversation=" + id)
	if r := bob.post("/chat/conversations/" + id + "/leave"); r.status != http.StatusSeeOther {
		t.Fatalf("Bob's leave: %d", r.status)
	}
	if f := adaWS.expect("ended"); f.str("conversation") != id || f.str("by") != "partner" {
		t.Errorf("ended %v", f)
	}
}

func TestLiveNeedsASession(t *testing.T) {
	s := newSite(t)
	_, _, id := s.pair(t)
	banned := s.user(t, "Mallory")
	if _, err := s.db.ExecContext(context.Background(), `UPDATE users_replica SET status = 'banned' WHERE user_id = $1`, banned.id); err != nil {
		t.Fatal(err)
	}
	expired := s.user(t, "Eve")
	expired.token = s.token(expired.id, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	for name, b := range map[string]*browser{"no cookie": s.visitor(t), "banned": banned, "expired": expired} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/chat/live", "/chat/live?conversation=" + id} {
				ws, resp := b.dialLive(path)
				if ws != nil || resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("websocket to %s: %s, want 401", path, resp.Status)
				}
			}
		})
	}
}

// TestLiveRefusesOtherOrigins: the browser sends the session cookie with any
// site's websocket, so another origin must not get one (cross-site websocket
// hijacking).
func TestLiveRefusesOtherOrigins(t *testing.T) {
	s := newSite(t)
	ada, _, id := s.pair(t)
	ws, resp := ada.dialLive("/chat/live?conversation="+id, "Origin", "https://evil.example")
	if ws != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a websocket from another origin: %s, want 403", resp.Status)
	}
	if n := s.hub.Connections(ada.id); n != 0 {
		t.Errorf("%d connections", n)
	}
}

func TestLiveWaitingHearsOfItsMatch(t *testing.T) {
	s := newSite(t)
	ada, bob := s.user(t, "Ada"), s.user(t, "Bob")
	ada.join(adaLat, adaLon, "5")
	ws := ada.live("/chat/live")

	r := bob.join(bobLat, bobLon, "5")
	if !strings.HasPrefix(r.location, "/chat/conversations/") {
		t.Fatalf("Bob's join: %d to %q", r.status, r.location)
	}
	if f := ws.expect("matched"); f.str("url") != r.location {
		t.Errorf("matched %v, want the url %s", f, r.location)
	}
}

// TestLiveWaitingSocketIsASignOfLife: while the waiting page's websocket is
// open, the user counts as there, and the sweep leaves them waiting.
func TestLiveWaitingSocketIsASignOfLife(t *testing.T) {
	var clock atomic.Int64
	start := time.Now().Truncate(time.Microsecond)
	clock.Store(start.UnixMicro())
	s := newSite(t, func(svc *chat.Service) {
		svc.Now = func() time.Time { return time.UnixMicro(clock.Load()) }
	})
	ada, carol := s.user(t, "Ada"), s.user(t, "Carol")
	ada.join(adaLat, adaLon, "5")
	carol.join("-33.86", "151.21", "5")

	later := start.Add(s.chat.Grace + time.Minute)
	clock.Store(later.UnixMicro())
	ada.live("/chat/live")
	servicetest.Eventually(t, 20*time.Second, "the websocket's heartbeat", func() bool {
		return s.count(`SELECT count(*) FROM waiting WHERE user_id = $1 AND seen_at_us = $2`, ada.id, later.UnixMicro()) == 1
	})
	if n, err := s.chat.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("Sweep ended %d (%v), want Carol's wait only", n, err)
	}
	if !s.status(ada.id).Waiting || s.status(carol.id).Waiting {
		t.Errorf("after the sweep Ada waits: %v, Carol waits: %v; want Ada only", s.status(ada.id).Waiting, s.status(carol.id).Waiting)
	}
}
