package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/cloudevent"
	"github.com/scs-platform/shared-events/feed"
)

type fakeSource struct {
	events []cloudevent.Event
	err    error
}

func (f fakeSource) Read(_ context.Context, after int64, limit int) ([]cloudevent.Event, int64, error) {
	if f.err != nil {
		return nil, 0, f.err
	}
	var out []cloudevent.Event
	for _, ev := range f.events {
		if ev.Sequence > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, int64(len(f.events)), nil
}

func events(t *testing.T, n int) []cloudevent.Event {
	var out []cloudevent.Event
	for i := range n {
		ev, err := cloudevent.New("/scs-users", "users.user.updated.v1", "u1", int64(i+1), map[string]int{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		ev.Sequence = int64(i + 1)
		out = append(out, ev)
	}
	return out
}

func TestHandlerAnswersBadRequestsInPlainWords(t *testing.T) {
	h := feed.Handler(fakeSource{events: events(t, 3)}, slog.New(slog.DiscardHandler), "tok")
	for _, tc := range []struct {
		query, auth string
		status      int
		message     string
	}{
		{"", "", http.StatusUnauthorized, "bearer token"},
		{"", "Bearer nope", http.StatusUnauthorized, "bearer token"},
		{"", "Basic tok", http.StatusUnauthorized, "bearer token"},
		{"?after=-1", "Bearer tok", http.StatusBadRequest, `"after" must be a whole number`},
		{"?after=x", "Bearer tok", http.StatusBadRequest, `"after" must be a whole number`},
		{"?limit=0", "Bearer tok", http.StatusBadRequest, `"limit" must be a whole number from 1 to 1000`},
		{"?limit=1001", "Bearer tok", http.StatusBadRequest, `"limit"`},
	} {
		t.Run(tc.query+tc.auth, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/feed"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", rec.Body, err)
			}
			if rec.Code != tc.status || !strings.Contains(body.Error, tc.message) {
				t.Errorf("got %d %q, want %d with %q", rec.Code, body.Error, tc.status, tc.message)
			}
		})
	}
}

func TestClientPagesThroughTheFeed(t *testing.T) {
	src := fakeSource{events: events(t, 7)}
	srv := httptest.NewServer(feed.Handler(src, slog.New(slog.DiscardHandler), "tok"))
	defer srv.Close()
	c := &feed.Client{URL: srv.URL, Token: "tok", Limit: 3}
	var got []int64
	var after int64
	for {
		page, head, err := c.Page(context.Background(), after)
		if err != nil {
			t.Fatal(err)
		}
		if head != 7 {
			t.Errorf("head %d, want 7", head)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			got = append(got, ev.Sequence)
		}
		after = page[len(page)-1].Sequence
	}
	if want := "[1 2 3 4 5 6 7]"; strings.TrimSpace(strings.ReplaceAll(jsonOf(got), ",", " ")) != want {
		t.Errorf("sequences %v, want %s", got, want)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestUnavailableSourceIs503(t *testing.T) {
	h := feed.Handler(fakeSource{err: errors.New("disk on fire")}, slog.New(slog.DiscardHandler), "tok")
	req := httptest.NewRequest(http.MethodGet, "/feed", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("got %d %s, want 503 without the internal cause", rec.Code, rec.Body)
	}
}
