// Package feed serves an owner's event history over HTTP and reads it back, so
// that a consumer with an empty replica can catch up without touching the owner's
// database: GET <feed URL>?after=<sequence>&limit=<n>&nonce=<random> with a
// bearer token answers {"events": [CloudEvent...], "head": <highest sequence>,
// "signature": ...}.
//
// Each event carries its owner's signature, which says that it is genuine but
// not that the page holds every event, nor that the page is today's. So the
// owner also signs each page: the consumer's nonce, the sequence asked after,
// the head and the id of every event in it. Whoever sits between the two can
// then neither leave an event out of a page, nor end the feed early with an
// empty page, nor answer with a page recorded before (another nonce).
package feed

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
)

var noncePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

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
	// Head is the highest sequence the owner has stored: the feed ends there.
	Head int64 `json:"head"`
	// Signature is the owner's over the page (see pageStatement).
	Signature string `json:"signature"`
}

// pagePurpose names what a page's signature is for (eventsig.SignStatement).
const pagePurpose = "feed page"

// pageStatement is what the owner signs of a page: the consumer's nonce, the
// sequence it asked after, the head and the events' ids in order.
func pageStatement(nonce string, after, head int64, ids []string) []byte {
	return []byte(fmt.Sprintf("nonce %s\nafter %d\nhead %d\nevents %s\n", nonce, after, head, strings.Join(ids, " ")))
}

// Handler serves src to callers presenting one of tokens as a bearer token,
// each page signed by signer.
func Handler(src Source, signer *eventsig.Signer, logger *slog.Logger, tokens ...string) http.Handler {
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
		nonce := q.Get("nonce")
		if !noncePattern.MatchString(nonce) {
			writeError(w, http.StatusBadRequest, `query parameter "nonce" must be 16 to 64 letters, digits, "-" or "_", new for each page`)
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
		ids := make([]string, len(events))
		for i, ev := range events {
			ids[i] = ev.ID
		}
		sig := signer.SignStatement(pagePurpose, pageStatement(nonce, after, head, ids))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(Page{Events: events, Head: head, Signature: sig})
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
	// Keys are the owner's pinned keys, which must have signed each page.
	Keys *eventsig.Keys
}

// Page returns the events after the given sequence and the feed's head. Every event
// is decoded strictly; one malformed event fails the page.
func (c *Client) Page(ctx context.Context, after int64) ([]cloudevent.Event, int64, error) {
	if c.Keys == nil {
		return nil, 0, errors.New("feed: no keys to check the owner's pages with")
	}
	nonce := strings.ToLower(rand.Text())
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
	q.Set("nonce", nonce)
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
		Events    []json.RawMessage `json:"events"`
		Head      int64             `json:"head"`
		Signature string            `json:"signature"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, 0, fmt.Errorf("feed %s: malformed page: %w", u.Redacted(), err)
	}
	events := make([]cloudevent.Event, 0, len(raw.Events))
	ids := make([]string, 0, len(raw.Events))
	for _, r := range raw.Events {
		ev, err := cloudevent.Decode(r)
		if err != nil {
			return nil, 0, fmt.Errorf("feed %s: %w", u.Redacted(), err)
		}
		if ev.Sequence <= after {
			return nil, 0, errors.New("feed answered an event at or before the requested sequence")
		}
		events = append(events, ev)
		ids = append(ids, ev.ID)
	}
	if err := c.Keys.VerifyStatement(pagePurpose, pageStatement(nonce, after, raw.Head, ids), raw.Signature); err != nil {
		return nil, 0, fmt.Errorf("feed %s: %w", u.Redacted(), err)
	}
	return events, raw.Head, nil
}
