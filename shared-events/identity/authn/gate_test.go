package authn_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/identity/authn"
)

// gateFixture is a Gate in front of a page that names its principal.
func gateFixture(t *testing.T) (*fixture, http.Handler) {
	f := newFixture(t)
	v := authn.NewVerifier(f.replica, audience)
	v.Parser.Now = func() time.Time { return now }
	g := &authn.Gate{
		Verifier: v,
		Cookie:   authn.CookieName,
		Home:     "/chat/",
		Lagging: func(w http.ResponseWriter, r *http.Request, retry string, attempt int) {
			w.Header().Set("X-Retry", retry)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("one moment"))
		},
		Unavailable: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		},
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := authn.PrincipalFrom(r.Context())
		if !ok {
			t.Error("the page ran without a principal")
		}
		_, _ = w.Write([]byte("hello " + p.DisplayName))
	})
	return f, g.Require(page)
}

func TestGate(t *testing.T) {
	t.Parallel()
	f, h := gateFixture(t)
	good := sign(t, f.key, claimsFor(userID))
	expired := claimsFor(userID)
	expired.IssuedAt, expired.ExpiresAt = now.Add(-time.Hour), now.Add(-50*time.Minute)
	for _, tc := range []struct {
		name, method, target, token string
		upgrade                     bool
		status                      int
		location, retry, body       string
	}{
		{name: "a good token", method: "GET", target: "/chat/", token: good, status: 200, body: "hello Ada"},
		{name: "no token", method: "GET", target: "/chat/conversations?x=1", status: 303,
			location: "/users/login?next=%2Fchat%2Fconversations%3Fx%3D1"},
		{name: "no token on a POST goes back home", method: "POST", target: "/chat/join", status: 303,
			location: "/users/login?next=%2Fchat%2F"},
		{name: "an expired token is refreshed", method: "GET", target: "/chat/waiting", token: sign(t, f.key, expired), status: 303,
			location: "/users/session/refresh?next=%2Fchat%2Fwaiting"},
		{name: "a banned user logs in again", method: "GET", target: "/chat/", token: sign(t, f.key, claimsFor(bannedID)), status: 303,
			location: "/users/login?next=%2Fchat%2F"},
		{name: "an unknown user waits a moment", method: "GET", target: "/chat/?a=b", token: sign(t, f.key, claimsFor(strayID)), status: 503,
			retry: "/chat/?a=b&lag=1"},
		{name: "the moment counts up", method: "GET", target: "/chat/?lag=3", token: sign(t, f.key, claimsFor(strayID)), status: 503,
			retry: "/chat/?lag=4"},
		{name: "and ends at the login page", method: "GET", target: "/chat/?lag=5", token: sign(t, f.key, claimsFor(strayID)), status: 303,
			location: "/users/login?next=%2Fchat%2F"},
		{name: "a lagging POST is not retried", method: "POST", target: "/chat/join", token: sign(t, f.key, claimsFor(strayID)), status: 503},
		{name: "a websocket without a token is refused, not redirected", method: "GET", target: "/chat/live", upgrade: true, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.token != "" {
				r.AddCookie(&http.Cookie{Name: authn.CookieName, Value: tc.token})
			}
			if tc.upgrade {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", "websocket")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, tc.status, w.Body.String())
			}
			if got := w.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if got := w.Header().Get("X-Retry"); got != tc.retry {
				t.Errorf("retry %q, want %q", got, tc.retry)
			}
			if tc.body != "" && !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body %q, want %q", w.Body.String(), tc.body)
			}
		})
	}
}

func TestGateTellsAFailingReplicaFromARefusal(t *testing.T) {
	t.Parallel()
	f, h := gateFixture(t)
	good := sign(t, f.key, claimsFor(userID))
	f.replica.fail = errors.New("database is down")
	r := httptest.NewRequest("GET", "/chat/", nil)
	r.AddCookie(&http.Cookie{Name: authn.CookieName, Value: good})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Location") != "" {
		t.Errorf("a failing replica = %d to %q, want 503 and no redirect to log in", w.Code, w.Header().Get("Location"))
	}
}
