// Package feed serves an owner's event history over HTTP and reads it back, so
// that a consumer with an empty replica can catch up without touching the owner's
// database: GET <feed URL>?after=<sequence>&limit=<n> with a bearer token answers
// {"events": [CloudEvent...], "head": <highest sequence>}.
package feed

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/scs-platform/shared-events/cloudevent"
)

// MaxLimit is the largest page the feed serves.
const MaxLimit = 1000

// DefaultLimit is the page size when the request names none.
const DefaultLimit = 500

// Source is where the feed reads events: an *outbox.Outbox.
type Source interface {
	Read(ctx context.Context, after int64, limit int) ([]cloudevent.Event, int64, error)
}

// Page is the feed's response body.
type Page struct {
	Events []cloudevent.Event `json:"events"`
	// Head is the highest sequence the owner has stored, for progress reports.
	Head int64 `json:"head"`
}

// Handler serves src to callers presenting one of tokens as a bearer token.
func Handler(src Source, logger *slog.Logger, tokens ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorised(r, tokens) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="event feed"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required to read the event feed")
			return
		}
		q := r.URL.Query()
		after, err := intParam(q, "after", 0, 0, 1<<62)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		limit, err := intParam(q, "limit", DefaultLimit, 1, MaxLimit)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		events, head, err := src.Read(r.Context(), after, int(limit))
		if err != nil {
			logger.ErrorContext(r.Context(), "feed: read", "after", after, "err", err)
			writeError(w, http.StatusServiceUnavailable, "the event feed is unavailable; try again shortly")
			return
		}
		if events == nil {
			events = []cloudevent.Event{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(Page{Events: events, Head: head})
	})
}

func authorised(r *http.Request, tokens []string) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return false
	}
	got := []byte(h[len(prefix):])
	ok := false
	for _, t := range tokens {
		// Compare with every token, in constant time, so the answer's timing says
		// nothing about how close a guess was.
		if t != "" && subtle.ConstantTimeCompare(got, []byte(t)) == 1 {
			ok = true
		}
	}
	return ok
}

func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("query parameter %q must be a whole number from %d to %d", name, lo, hi)
	}
	return v, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Client reads a feed page by page.
type Client struct {
	URL   string
	Token string
	// Limit is the page size asked for (default DefaultLimit).
	Limit int
	HTTP  *http.Client
}

// Page returns the events after the given sequence and the feed's head. Every event
// is decoded strictly; one malformed event fails the page.
func (c *Client) Page(ctx context.Context, after int64) ([]cloudevent.Event, int64, error) {
	limit := c.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, 0, fmt.Errorf("feed URL %q: %w", c.URL, err)
	}
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("limit", strconv.Itoa(limit))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("feed %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("feed %s: read: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("feed %s answered %s: %s", u.Redacted(), resp.Status, bytes.TrimSpace(body))
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
		Head   int64             `json:"head"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, 0, fmt.Errorf("feed %s: malformed page: %w", u.Redacted(), err)
	}
	events := make([]cloudevent.Event, 0, len(raw.Events))
	for _, r := range raw.Events {
		ev, err := cloudevent.Decode(r)
		if err != nil {
			return nil, 0, fmt.Errorf("feed %s: %w", u.Redacted(), err)
		}
		if ev.Sequence <= after {
			return nil, 0, errors.New("feed answered an event at or before the requested sequence")
		}
		events = append(events, ev)
	}
	return events, raw.Head, nil
}
