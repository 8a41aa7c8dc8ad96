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

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
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
	t.Parallel()
	h := feed.Handler(fakeSource{events: events(t, 3)}, eventsig.DevelopmentSigner("users"), slog.New(slog.DiscardHandler), "tok")
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
		{"", "Bearer tok", http.StatusBadRequest, `"nonce" must be 16 to 64 letters`},
		{"?nonce=short", "Bearer tok", http.StatusBadRequest, `"nonce"`},
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
	t.Parallel()
	src := fakeSource{events: events(t, 7)}
	srv := httptest.NewServer(feed.Handler(src, eventsig.DevelopmentSigner("users"), slog.New(slog.DiscardHandler), "tok"))
	defer srv.Close()
	c := &feed.Client{URL: srv.URL, Token: "tok", Limit: 3, Keys: eventsig.DevelopmentKeys("users")}
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
	t.Parallel()
	h := feed.Handler(fakeSource{err: errors.New("disk on fire")}, eventsig.DevelopmentSigner("users"), slog.New(slog.DiscardHandler), "tok")
	req := httptest.NewRequest(http.MethodGet, "/feed?nonce=0123456789abcdef", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("got %d %s, want 503 without the internal cause", rec.Code, rec.Body)
	}
}

// TestAPageSomeoneBetweenChangedIsRefused plays whoever sits between a
// consumer and the owner's feed: each event keeps its own signature, but a
// page with one left out, a page that ends the feed early, or a page recorded
// for another request does not carry the owner's signature for this request.
func TestAPageSomeoneBetweenChangedIsRefused(t *testing.T) {
	t.Parallel()
	owner := feed.Handler(fakeSource{events: events(t, 5)}, eventsig.DevelopmentSigner("users"), slog.New(slog.DiscardHandler), "tok")
	var recorded []byte
	for name, tc := range map[string]struct {
		change func(page map[string]json.RawMessage, body []byte) []byte
		want   string
	}{
		"an event left out": {func(page map[string]json.RawMessage, _ []byte) []byte {
			var events []json.RawMessage
			_ = json.Unmarshal(page["events"], &events)
			page["events"], _ = json.Marshal(append(events[:1], events[2:]...))
			b, _ := json.Marshal(page)
			return b
		}, "signature does not match it"},
		"the feed ended early": {func(page map[string]json.RawMessage, _ []byte) []byte {
			page["events"] = json.RawMessage(`[]`)
			b, _ := json.Marshal(page)
			return b
		}, "signature does not match it"},
		"a page recorded before": {func(_ map[string]json.RawMessage, body []byte) []byte {
			if recorded == nil {
				recorded = body
			}
			return recorded
		}, "signature does not match it"},
		"no signature": {func(page map[string]json.RawMessage, _ []byte) []byte {
			delete(page, "signature")
			b, _ := json.Marshal(page)
			return b
		}, "the feed page is not signed"},
	} {
		t.Run(name, func(t *testing.T) {
			between := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				owner.ServeHTTP(rec, r)
				var page map[string]json.RawMessage
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					t.Error(err)
				}
				_, _ = w.Write(tc.change(page, rec.Body.Bytes()))
			}))
			defer between.Close()
			c := &feed.Client{URL: between.URL, Token: "tok", Keys: eventsig.DevelopmentKeys("users")}
			if name == "a page recorded before" {
				// The first answer is genuine and recorded; the second request,
				// with a nonce of its own, gets the recording.
				if _, _, err := c.Page(context.Background(), 0); err != nil {
					t.Fatalf("the genuine page is refused: %v", err)
				}
			}
			_, _, err := c.Page(context.Background(), 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Page = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}
