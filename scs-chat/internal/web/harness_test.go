package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/chat/chattest"
	"github.com/scs-platform/scs-chat/internal/live"
	"github.com/scs-platform/scs-chat/internal/web"
)

// The places the tests join from. Bob is 2.0 km north of Ada; Carol is far
// from both.
const (
	adaLat, adaLon = "52.5200417", "13.4049540"
	bobLat, bobLon = "52.5380417", "13.4049540"
)

// site is scs-chat's routes on a real SQLite database, with the chat telling
// its pages what happened through a real hub (without a broker), served over
// HTTP at the origin its tokens are for.
type site struct {
	*httptest.Server
	t    *testing.T
	db   *sqldb.DB
	chat *chat.Service
	hub  *live.Hub
	key  ed25519.PrivateKey
	kid  string
	// version numbers the users events the tests apply.
	version int64
	client  *http.Client
}

// newSite builds the site; configure may change the chat before it serves.
func newSite(t *testing.T, configure ...func(*chat.Service)) *site {
	t.Helper()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	svc, _ := chattest.NewService(t, db)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc.Logger = logger
	for _, c := range configure {
		c(svc)
	}
	hub, err := live.NewHub(live.Config{Backend: web.Backend{Chat: svc}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	svc.Notify = web.Notifier{Hub: hub}

	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, db: db, chat: svc, hub: hub, key: private, kid: "test-key"}
	now := time.Now()
	if _, err := db.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, public_key, not_before_us, not_after_us) VALUES ($1, $2, $3, $4, $5)`,
		s.kid, contracts.AlgorithmEdDSA, base64.RawURLEncoding.EncodeToString(public),
		now.Add(-time.Hour).UnixMicro(), now.Add(time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}

	s.Server = httptest.NewUnstartedServer(nil)
	origin := "http://" + s.Listener.Addr().String()
	shutdown, stop := context.WithCancel(context.Background())
	routes := web.Routes(web.Deps{
		Logger:    logger,
		Ready:     health.Live(),
		Metrics:   health.Live(),
		Durations: health.NewRequestDurations(routing.Pattern),
		Chat:      svc,
		Hub:       hub,
		Users:     usersreplica.Store{DB: db},
		Verifier:  usersreplica.NewVerifier(db, origin),
		Cookie:    authn.CookieName,
		Origin:    origin,
		Shutdown:  shutdown,
	})
	// The server does not wait for hijacked connections (the websockets), so
	// the test does: their handlers use the database, which closes after them.
	var handlers sync.WaitGroup
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		routes.ServeHTTP(w, r)
	})
	s.Start()
	// Cleanups run last first: the log on failure, then shutdown closes the
	// websockets, the server closes, and the handlers are waited for.
	t.Cleanup(handlers.Wait)
	t.Cleanup(s.Close)
	t.Cleanup(stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the site's log:\n%s", logs.String())
		}
	})
	s.client = s.Client()
	s.client.Timeout = 10 * time.Second
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if s.URL != origin {
		t.Fatalf("the server is at %s, not at %s", s.URL, origin)
	}
	return s
}

// lockedBuffer is a log that goroutines may write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tokensValidAfter is every test user's tokens_valid_after: an hour ago.
var tokensValidAfter = time.Now().Add(-time.Hour).Truncate(time.Microsecond)

// addUser puts an active user named name into the users replica, as the users
// consumer would, and returns the id.
func (s *site) addUser(name string) string {
	s.t.Helper()
	id := newUUID(s.t)
	if _, err := s.db.ExecContext(context.Background(), `INSERT INTO users_replica (user_id, display_name, role, status, tokens_valid_after_us)
		VALUES ($1, $2, $3, $4, $5)`, id, name, string(contracts.RoleUser), string(contracts.StatusActive), tokensValidAfter.UnixMicro()); err != nil {
		s.t.Fatal(err)
	}
	return id
}

// token signs a session token for userID, valid from issued to expires.
func (s *site) token(userID string, issued, expires time.Time) string {
	s.t.Helper()
	tok, err := authn.Sign(s.key, authn.Claims{
		KeyID:     s.kid,
		UserID:    userID,
		SessionID: newUUID(s.t),
		Role:      contracts.RoleUser,
		Audience:  s.URL,
		IssuedAt:  issued,
		ExpiresAt: expires,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// browser is one user's browser: it sends the user's session cookie, does not
// follow redirects, and says, as a browser would, that its requests come from
// the site itself.
type browser struct {
	t     *testing.T
	site  *site
	id    string
	name  string
	token string
}

// user adds a user named name and returns their logged-in browser.
func (s *site) user(t *testing.T, name string) *browser {
	t.Helper()
	id := s.addUser(name)
	now := time.Now()
	return &browser{t: t, site: s, id: id, name: name, token: s.token(id, now, now.Add(10*time.Minute))}
}

// visitor is a browser without a session.
func (s *site) visitor(t *testing.T) *browser { return &browser{t: t, site: s} }

// response is what a request answered.
type response struct {
	status   int
	header   http.Header
	body     string
	location string
}

// do sends a request with body (a form unless a Content-Type header says
// otherwise); headers are name, value pairs, and an empty value removes the
// header.
func (b *browser) do(method, path, body string, headers ...string) response {
	b.t.Helper()
	var r io.Reader
	if body != "" || method == http.MethodPost {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.site.URL+path, r)
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if b.token != "" {
		req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: b.token})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := b.site.client.Do(req)
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

func (b *browser) get(path string) response { b.t.Helper(); return b.do(http.MethodGet, path, "") }

// post sends the form of the name, value pairs kv.
func (b *browser) post(path string, kv ...string) response {
	b.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return b.do(http.MethodPost, path, form.Encode())
}

// join sends the start form.
func (b *browser) join(lat, lon, rangeKm string) response {
	b.t.Helper()
	return b.post("/chat/join", "lat", lat, "lon", lon, "range", rangeKm)
}

// send sends a message with the conversation page's form, as a browser does:
// the page's client_id and the text.
func (b *browser) send(conversation, text string) response {
	b.t.Helper()
	page := b.get("/chat/conversations/" + conversation)
	clientID, ok := inputValue(b.t, page.body, "client_id")
	if !ok {
		b.t.Fatalf("the conversation page has no client_id:\n%s", page.body)
	}
	return b.post("/chat/conversations/"+conversation+"/messages", "client_id", clientID, "text", text)
}

// pair matches Ada and Bob, 2 km apart, through the start form and returns
// their browsers and the conversation's id.
func (s *site) pair(t *testing.T) (ada, bob *browser, conversation string) {
	t.Helper()
	ada, bob = s.user(t, "Ada"), s.user(t, "Bob")
	if r := ada.join(adaLat, adaLon, "5"); r.status != http.StatusSeeOther || r.location != "/chat/waiting" {
		t.Fatalf("Ada's join: %d to %q, want 303 to /chat/waiting\n%s", r.status, r.location, r.body)
	}
	r := bob.join(bobLat, bobLon, "5")
	id, ok := strings.CutPrefix(r.location, "/chat/conversations/")
	if r.status != http.StatusSeeOther || !ok || uuid.Validate(id) != nil {
		t.Fatalf("Bob's join: %d to %q, want 303 to a conversation\n%s", r.status, r.location, r.body)
	}
	return ada, bob, id
}

// messages are the messages stored in conversation, as its member sees them.
func (s *site) messages(member, conversation string) []chat.Message {
	s.t.Helper()
	list, err := s.chat.Since(context.Background(), member, conversation, 0, 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	return list
}

func (s *site) status(userID string) chat.Status {
	s.t.Helper()
	st, err := s.chat.Status(context.Background(), userID)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s *site) conversation(member, id string) chat.Conversation {
	s.t.Helper()
	c, err := s.chat.Conversation(context.Background(), member, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// count runs a SELECT count(*) query.
func (s *site) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// updateUser applies a users.user.updated.v1 event for the user through chat's
// users handlers, in a transaction, as the users consumer does.
func (s *site) updateUser(userID, name string, status contracts.Status, changes ...contracts.UserChange) {
	s.t.Helper()
	s.version++
	ev, err := contracts.NewEvent(contracts.UserUpdatedV1{
		UserSnapshot: contracts.UserSnapshot{UserID: userID, DisplayName: name, Role: contracts.RoleUser, Status: status, TokensValidAfter: tokensValidAfter},
		Changes:      changes,
	}, s.version)
	if err != nil {
		s.t.Fatal(err)
	}
	handle := s.chat.UsersHandlers()[contracts.TypeUserUpdatedV1]
	ctx := context.Background()
	if err := s.db.InTx(ctx, func(tx *sql.Tx) error { return handle(ctx, tx, ev) }); err != nil {
		s.t.Fatal(err)
	}
}

// socket is a websocket to /chat/live as the browser's page opens it.
type socket struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialLive opens a websocket to path. It returns the response instead when the
// upgrade is refused.
func (b *browser) dialLive(path string, headers ...string) (*socket, *http.Response) {
	b.t.Helper()
	h := http.Header{"Origin": {b.site.URL}}
	if b.token != "" {
		h.Set("Cookie", (&http.Cookie{Name: authn.CookieName, Value: b.token}).String())
	}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.site.URL, "http")+path, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp == nil {
			b.t.Fatalf("dial %s: %v", path, err)
		}
		return nil, resp
	}
	b.t.Cleanup(func() { _ = ws.CloseNow() })
	return &socket{t: b.t, ws: ws}, resp
}

// live opens the page's websocket to path and waits until the hub counts it,
// so that nothing delivered from now on is missed.
func (b *browser) live(path string) *socket {
	b.t.Helper()
	before := b.site.hub.Connections(b.id)
	s, resp := b.dialLive(path)
	if s == nil {
		b.t.Fatalf("dial %s: %s", path, resp.Status)
	}
	servicetest.Eventually(b.t, 5*time.Second, "the hub to count the websocket", func() bool {
		return b.site.hub.Connections(b.id) > before
	})
	return s
}

// frame is a frame the server sent.
type frame map[string]any

func (f frame) str(key string) string { s, _ := f[key].(string); return s }

func (f frame) num(key string) int64 { n, _ := f[key].(float64); return int64(n) }

// expect reads frames until one of type typ, for at most a few seconds.
func (s *socket) expect(typ string) frame {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []string
	for {
		_, data, err := s.ws.Read(ctx)
		if err != nil {
			s.t.Fatalf("waiting for a %q frame (after %v): %v", typ, seen, err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			s.t.Fatalf("frame %s: %v", data, err)
		}
		if f.str("type") == typ {
			return f
		}
		seen = append(seen, string(data))
	}
}

// write sends v as a frame.
func (s *socket) write(v any) {
	s.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ws.Write(ctx, websocket.MessageText, data); err != nil {
		s.t.Fatal(err)
	}
}

// closed reads until the server closes the websocket and returns the close
// frame's status and reason.
func (s *socket) closed() (websocket.StatusCode, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := s.ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			s.t.Fatalf("the websocket ended without a close frame: %v", err)
		}
		return ce.Code, ce.Reason
	}
}

// find returns the first element whose data-testid is id, or nil.
func find(t *testing.T, body, id string) *html.Node {
	t.Helper()
	all := findAll(t, body, id)
	if len(all) == 0 {
		return nil
	}
	return all[0]
}

// findAll returns every element whose data-testid is id.
func findAll(t *testing.T, body, id string) []*html.Node {
	t.Helper()
	return elements(t, body, func(n *html.Node) bool { return attr(n, "data-testid") == id })
}

// elements returns the elements for which match holds. The page is parsed as
// a browser without scripts would, so that what <noscript> holds is elements.
func elements(t *testing.T, body string, match func(*html.Node) bool) []*html.Node {
	t.Helper()
	doc, err := html.ParseWithOptions(strings.NewReader(body), html.ParseOptionEnableScripting(false))
	if err != nil {
		t.Fatal(err)
	}
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
	}
	return out
}

// inputValue returns the value attribute of the input named name.
func inputValue(t *testing.T, body, name string) (string, bool) {
	t.Helper()
	in := elements(t, body, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == name })
	if len(in) == 0 {
		return "", false
	}
	return attr(in[0], "value"), true
}

// textareaValue returns what the textarea named name holds, as typed.
func textareaValue(t *testing.T, body, name string) (string, bool) {
	t.Helper()
	in := elements(t, body, func(n *html.Node) bool { return n.Data == "textarea" && attr(n, "name") == name })
	if len(in) == 0 {
		return "", false
	}
	var b strings.Builder
	for d := range in[0].Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String(), true
}

// metaRefresh returns the content of the page's meta refresh, and whether it
// is inside <noscript> (for browsers without scripts only).
func metaRefresh(t *testing.T, body string) (content string, noscript, ok bool) {
	t.Helper()
	metas := elements(t, body, func(n *html.Node) bool {
		return n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh")
	})
	if len(metas) == 0 {
		return "", false, false
	}
	for p := metas[0].Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "noscript" {
			noscript = true
		}
	}
	return attr(metas[0], "content"), noscript, true
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

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// text is the text of n with runs of white space folded.
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
