package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/runtime/health"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/web"
)

// terminalToken is the test site's terminal credential.
const terminalToken = "test-terminal-credential"

// site is scs-cards' routes on a real database, served over HTTP at the
// origin its tokens are for.
type site struct {
	*httptest.Server
	t      testing.TB
	db     *sqldb.DB
	sys    *cardstest.System
	clock  *cardstest.Clock
	key    ed25519.PrivateKey
	client *http.Client
}

func newSite(t testing.TB, db *sqldb.DB) *site {
	t.Helper()
	sys, clock := cardstest.NewSystem(t, db)
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := db.Exec(`INSERT INTO signing_keys (kid, algorithm, public_key, not_before_us, not_after_us) VALUES ($1, $2, $3, $4, $5)`,
		"k1", contracts.AlgorithmEdDSA, base64.RawURLEncoding.EncodeToString(public), now.Add(-time.Hour).UnixMicro(), now.Add(time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, db: db, sys: sys, clock: clock, key: private}
	s.Server = httptest.NewUnstartedServer(nil)
	origin := "http://" + s.Listener.Addr().String()
	s.Config.Handler = web.Routes(web.Deps{
		Logger:        slog.New(slog.DiscardHandler),
		Ready:         health.Live(),
		Metrics:       health.Live(),
		Durations:     health.NewRequestDurations(routing.Pattern),
		Cards:         sys.Cards,
		Ledger:        sys.Ledger,
		Terminal:      sys.Terminal,
		Verifier:      usersreplica.NewVerifier(db, origin),
		Cookie:        authn.CookieName,
		Origin:        origin,
		TerminalToken: terminalToken,
	})
	s.Start()
	t.Cleanup(s.Close)
	s.client = s.Client()
	s.client.Timeout = 10 * time.Second
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return s
}

// browser is one logged-in user's browser: it sends the session cookie, does
// not follow redirects, and says its forms come from the site itself.
type browser struct {
	site  *site
	id    string
	token string
}

// user adds a user to the replica and returns their browser.
func (s *site) user(name string, role contracts.Role) *browser {
	s.t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	if _, err := s.db.Exec(`INSERT INTO users_replica (user_id, display_name, role, status, tokens_valid_after_us) VALUES ($1, $2, $3, 'active', $4)`,
		id, name, string(role), time.Now().Add(-time.Hour).UnixMicro()); err != nil {
		s.t.Fatal(err)
	}
	now := time.Now()
	tok, err := authn.Sign(s.key, authn.Claims{KeyID: "k1", UserID: id, SessionID: uuid.Must(uuid.NewV7()).String(), Role: role,
		Audience: s.URL, IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{site: s, id: id, token: tok}
}

// do sends a request and returns the status, the headers and the body.
func (b *browser) do(method, path string, form url.Values) (int, http.Header, string) {
	b.site.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.URL+path, body)
	if err != nil {
		b.site.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.site.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if b.token != "" {
		req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: b.token})
	}
	return b.site.send(req)
}

func (b *browser) get(path string) (int, string) {
	status, _, body := b.do(http.MethodGet, path, nil)
	return status, body
}

func (b *browser) post(path string, form url.Values) (int, http.Header, string) {
	if form == nil {
		form = url.Values{}
	}
	return b.do(http.MethodPost, path, form)
}

func (s *site) send(req *http.Request) (int, http.Header, string) {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// api sends a terminal request with the credential and key.
func (s *site) api(path, key, body string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+terminalToken)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return s.send(req)
}

// openAccount opens b's account through the page and returns its first card.
func (b *browser) openAccount() cards.Card {
	b.site.t.Helper()
	if status, h, body := b.post("/cards/account", url.Values{"name": {"Ada's Engines AB"}}); status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=opened" {
		b.site.t.Fatalf("open an account: %d to %q: %s", status, h.Get("Location"), body)
	}
	o, err := b.site.sys.Cards.Overview(context.Background(), b.id, 0, 1)
	if err != nil {
		b.site.t.Fatal(err)
	}
	return o.Cards[0]
}

func newKey() string { return uuid.Must(uuid.NewV7()).String() }
