package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	s := newSite(t)

	t.Run("a valid session gets the page", func(t *testing.T) {
		if r := s.user(t, "Ada").get("/chat/"); r.status != http.StatusOK || find(t, r.body, "join-form") == nil {
			t.Fatalf("GET /chat/ answered %d\n%s", r.status, r.body)
		}
	})
	t.Run("no cookie goes to the login", func(t *testing.T) {
		r := s.visitor(t).get("/chat/")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to /users/login?next=%%2Fchat%%2F", r.status, r.location)
		}
		r = s.visitor(t).get("/chat/conversations")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2Fconversations" {
			t.Fatalf("%d to %q, want the login returning to /chat/conversations", r.status, r.location)
		}
	})
	t.Run("a form without a cookie goes to the login, back to the start", func(t *testing.T) {
		r := s.visitor(t).post("/chat/join", "lat", adaLat, "lon", adaLon, "range", "5")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login returning to /chat/", r.status, r.location)
		}
	})
	t.Run("a banned user goes to the login", func(t *testing.T) {
		ada := s.user(t, "Ada")
		if _, err := s.db.ExecContext(context.Background(), `UPDATE users_replica SET status = 'banned' WHERE user_id = $1`, ada.id); err != nil {
			t.Fatal(err)
		}
		r := ada.get("/chat/")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login", r.status, r.location)
		}
	})
	t.Run("a user the replica does not know yet sees one moment", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.get("/chat/")
		if r.status != http.StatusServiceUnavailable || find(t, r.body, "error-page") == nil {
			t.Fatalf("%d, want 503 with an error page\n%s", r.status, r.body)
		}
		if !strings.Contains(r.body, "One moment") || r.header.Get("Retry-After") != "1" {
			t.Errorf("not the one-moment page (Retry-After %q)\n%s", r.header.Get("Retry-After"), r.body)
		}
		if href := attr(find(t, r.body, "retry"), "href"); href != "/chat/?lag=1" {
			t.Errorf("retry link %q, want /chat/?lag=1", href)
		}
		if content, noscript, ok := metaRefresh(t, r.body); !ok || noscript || content != "1; url=/chat/?lag=1" {
			t.Errorf("meta refresh %q (in noscript: %v, present: %v), want the retry after 1 s for every browser", content, noscript, ok)
		}
	})
	t.Run("one moment tries a few times by itself, then goes to the login", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		path := "/chat/conversations"
		for attempt := 1; ; attempt++ {
			r := b.get(path)
			if r.status == http.StatusSeeOther {
				if r.location != "/users/login?next=%2Fchat%2Fconversations" || attempt != 6 {
					t.Fatalf("attempt %d: 303 to %q, want the login after 5 attempts", attempt, r.location)
				}
				break
			}
			content, _, ok := metaRefresh(t, r.body)
			next, found := strings.CutPrefix(content, "1; url=")
			if r.status != http.StatusServiceUnavailable || !ok || !found || attempt > 5 {
				t.Fatalf("attempt %d: %d, meta refresh %q; want 503 refreshing to the next attempt", attempt, r.status, content)
			}
			if want := "/chat/conversations?lag=" + strconv.Itoa(attempt); next != want || attr(find(t, r.body, "retry"), "href") != want {
				t.Fatalf("attempt %d refreshes to %q, links to %q; want %q", attempt, next, attr(find(t, r.body, "retry"), "href"), want)
			}
			path = next
		}
	})
	t.Run("one moment never leads to another site", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		for _, path := range []string{"//evil.example/", "///evil.example/chat/", "/%2F%2Fevil.example/"} {
			r := b.get(path)
			content, _, _ := metaRefresh(t, r.body)
			retry := attr(find(t, r.body, "retry"), "href")
			if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(retry, "/chat/") || !strings.HasPrefix(content, "1; url=/chat/") {
				t.Errorf("GET %s: %d, retry link %q, meta refresh %q; want both under /chat/", path, r.status, retry, content)
			}
		}
	})
	t.Run("a form from a user the replica does not know yet is not retried", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.join(adaLat, adaLon, "5")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Send the form again") {
			t.Fatalf("%d, want 503 asking to send the form again\n%s", r.status, r.body)
		}
		if _, _, ok := metaRefresh(t, r.body); ok || find(t, r.body, "retry") != nil {
			t.Errorf("the page would send the form again by itself")
		}
	})
	t.Run("a user who never arrives goes to the login after a few tries", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.get("/chat/?lag=5")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login", r.status, r.location)
		}
	})
	t.Run("an expired token goes to the refresh", func(t *testing.T) {
		ada := s.user(t, "Ada")
		now := time.Now()
		ada.token = s.token(ada.id, now.Add(-20*time.Minute), now.Add(-10*time.Minute))
		r := ada.get("/chat/conversations")
		if r.status != http.StatusSeeOther || r.location != "/users/session/refresh?next=%2Fchat%2Fconversations" {
			t.Fatalf("%d to %q, want 303 to the refresh returning to /chat/conversations", r.status, r.location)
		}
	})
}
