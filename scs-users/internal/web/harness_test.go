package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/runtime/health"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/accounts/accountstest"
	"github.com/scs-platform/scs-users/internal/moderation"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/scs-users/internal/signing"
	"github.com/scs-platform/scs-users/internal/web"
)

const pw = accountstest.Password

// site is scs-users' routes on a real database, served over HTTP.
type site struct {
	*httptest.Server
	db       *sqldb.DB
	accounts *accounts.Service
	hasher   *password.Hasher
	events   *outbox.Outbox
	reports  *moderation.Service
	keys     *signing.Keyring
}

func newSite(t *testing.T, open func(testing.TB) *sqldb.DB) *site {
	t.Helper()
	ctx := context.Background()
	db := open(t)
	svc := accountstest.NewService(t, db)
	// Generous limits per address: every test client is 127.0.0.1.
	svc.Limits.LoginPerIP = ratelimit.Rate{Burst: 50, Every: time.Second}
	svc.Limits.SignUpPerIP = ratelimit.Rate{Burst: 50, Every: time.Second}
	logger, events, hasher := svc.Logger, svc.Outbox, svc.Hasher.(*password.Hasher)
	sealer, err := signing.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	keys := &signing.Keyring{DB: db, Outbox: events, Sealer: sealer, Lifetime: 30 * 24 * time.Hour,
		Propagation: time.Minute, TokenTTL: 10 * time.Minute, Logger: logger}
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s := &site{db: db, accounts: svc, hasher: hasher, events: events, keys: keys,
		reports: &moderation.Service{DB: db, Accounts: svc}}
	s.Server = httptest.NewUnstartedServer(nil)
	public, _ := url.Parse("http://" + s.Listener.Addr().String())
	s.Config.Handler = web.Routes(web.Deps{
		Logger:     logger,
		Ready:      health.Live(),
		Metrics:    health.Live(),
		Durations:  health.NewRequestDurations(routing.Pattern),
		Feed:       http.NotFoundHandler(),
		Accounts:   svc,
		Moderation: s.reports,
		Keys:       keys,
		Cookies:    web.NewCookies(public, 10*time.Minute),
	})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// browser is a client with its own cookies that does not follow redirects,
// and says, as a browser would, that its requests come from the site itself.
type browser struct {
	t    *testing.T
	site *site
	http *http.Client
}

func (s *site) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, site: s, http: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a request answered.
type response struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (b *browser) do(method, path string, form url.Values, headers ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(raw), location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) response { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, kv ...string) response {
	b.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return b.do(http.MethodPost, path, form)
}

// signUp signs up through the form and keeps the session cookie.
func (b *browser) signUp(email, name string) {
	b.t.Helper()
	r := b.post("/users/signup", "email", email, "display_name", name, "password", pw)
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("sign up %s: %d\n%s", email, r.status, r.body)
	}
}

func (b *browser) logIn(email string) {
	b.t.Helper()
	r := b.post("/users/login", "email", email, "password", pw)
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("log in %s: %d\n%s", email, r.status, r.body)
	}
}

// admin makes the account of email an admin, as "scs-users admin grant" does.
func (s *site) admin(t *testing.T, email string) {
	t.Helper()
	u, err := s.accounts.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.accounts.SetRole(context.Background(), "", u.ID, contracts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
}

func (s *site) user(t *testing.T, email string) accounts.User {
	t.Helper()
	u, err := s.accounts.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// find returns the first element whose data-testid is id, or nil.
func find(t *testing.T, body, id string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "data-testid") == id {
			return n
		}
	}
	return nil
}

// findAll returns every element whose data-testid is id.
func findAll(t *testing.T, body, id string) []*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "data-testid") == id {
			out = append(out, n)
		}
	}
	return out
}

// inputValue returns the value attribute of the input named name.
func inputValue(t *testing.T, body, name string) (string, bool) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name {
			return attr(n, "value"), true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// byID returns the element whose id is id, or nil.
func byID(t *testing.T, body, id string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && id != "" && attr(n, "id") == id {
			return n
		}
	}
	return nil
}

// hasAttr reports whether n carries the attribute key, whatever its value
// (a boolean attribute such as defer).
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// isInside reports whether n lies inside an element whose data-testid is id.
func isInside(n *html.Node, id string) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && attr(p, "data-testid") == id {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func newUUID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
