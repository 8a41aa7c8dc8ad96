package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// userErr is a Backend error meant for the user.
type userErr string

func (e userErr) Error() string       { return string(e) }
func (e userErr) UserMessage() string { return string(e) }

// fakeStore keeps conversations in memory, with the Backend's rules: members
// only, at most 2000 characters, idempotent by (user, conversation, client id).
type fakeStore struct {
	mu       sync.Mutex
	members  map[string][]string
	messages map[string][]Message
	byClient map[string]Message
	sinceLog []int64 // the after of every Since call
	sends    int     // Send calls that stored a message
}

// fakeBackend is one instance's Backend over a fakeStore: it delivers what it
// stores through its hub, which startServer sets.
type fakeBackend struct {
	*fakeStore
	hub *Hub
}

func newFakeBackend(conversations map[string][]string) *fakeBackend {
	return &fakeBackend{fakeStore: &fakeStore{members: conversations, messages: map[string][]Message{}, byClient: map[string]Message{}}}
}

// sameStore is a Backend for another instance over the same store.
func (b *fakeBackend) sameStore() *fakeBackend { return &fakeBackend{fakeStore: b.fakeStore} }

func (b *fakeStore) isMember(user, conversation string) bool {
	for _, m := range b.members[conversation] {
		if m == user {
			return true
		}
	}
	return false
}

func (b *fakeBackend) Send(ctx context.Context, user, conversation, clientID, text string) (Message, error) {
	m, stored, err := b.store(user, conversation, clientID, text)
	if err != nil {
		return Message{}, err
	}
	if stored && b.hub != nil {
		if err := b.hub.Deliver(context.WithoutCancel(ctx), b.members[conversation], MessageFrame(m)); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

func (b *fakeStore) store(user, conversation, clientID, text string) (m Message, stored bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if conversation == "broken" {
		return Message{}, false, errors.New("database is on fire")
	}
	if !b.isMember(user, conversation) {
		return Message{}, false, userErr("you are not in this conversation")
	}
	if len([]rune(text)) > 2000 {
		return Message{}, false, userErr("a message can be at most 2000 characters")
	}
	key := user + "|" + conversation + "|" + clientID
	if m, ok := b.byClient[key]; ok {
		return m, false, nil
	}
	m = Message{
		Conversation: conversation,
		Seq:          int64(len(b.messages[conversation]) + 1),
		From:         user,
		ClientID:     clientID,
		Text:         text,
		SentAt:       time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC).Add(time.Duration(len(b.messages[conversation])) * time.Second),
	}
	b.messages[conversation] = append(b.messages[conversation], m)
	b.byClient[key] = m
	b.sends++
	return m, true, nil
}

func (b *fakeStore) Since(ctx context.Context, user, conversation string, after int64, limit int) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sinceLog = append(b.sinceLog, after)
	if !b.isMember(user, conversation) {
		return nil, userErr("you are not in this conversation")
	}
	var page []Message
	for _, m := range b.messages[conversation] {
		if m.Seq > after && len(page) < limit {
			page = append(page, m)
		}
	}
	return page, nil
}

func (b *fakeStore) sinceCalls() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.sinceLog...)
}

// served is how one Serve call ended.
type served struct {
	user string
	err  error
}

// testServer is a Hub behind an httptest server; "?user=" names the user.
type testServer struct {
	hub   *Hub
	srv   *httptest.Server
	ended chan served
	// shutdown ends the ctx given to Serve.
	shutdown context.CancelFunc
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Backend == nil {
		cfg.Backend = newFakeBackend(nil)
	}
	hub, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := cfg.Backend.(*fakeBackend); ok {
		b.hub = hub
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{hub: hub, ended: make(chan served, 100), shutdown: cancel}
	var handlers sync.WaitGroup
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		user := r.URL.Query().Get("user")
		err := hub.Serve(ctx, w, r, user)
		select {
		case ts.ended <- served{user, err}:
		default: // a test with many connections does not look
		}
	}))
	t.Cleanup(ts.srv.Close)
	t.Cleanup(func() {
		cancel()
		handlers.Wait()
	})
	return ts
}

// nextEnded waits for a Serve call to return.
func (ts *testServer) nextEnded(t *testing.T, timeout time.Duration) served {
	t.Helper()
	select {
	case s := <-ts.ended:
		return s
	case <-time.After(timeout):
		t.Fatalf("no connection ended within %s", timeout)
		return served{}
	}
}

// client is a websocket client of a testServer.
type client struct {
	t    *testing.T
	user string
	ws   *websocket.Conn
}

func (ts *testServer) dial(t *testing.T, user string) *client {
	t.Helper()
	return dialURL(t, ts.srv.URL, user, nil)
}

func dialURL(t *testing.T, serverURL, user string, opts *websocket.DialOptions) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(serverURL, "http")+"/?user="+user, opts)
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, user: user, ws: ws}
}

// serverFrame is any frame the server sends; decoding refuses unknown fields so
// that the tests notice a frame growing.
type serverFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation,omitempty"`
	Seq          int64  `json:"seq,omitempty"`
	From         string `json:"from,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	Text         string `json:"text,omitempty"`
	SentAt       string `json:"sent_at,omitempty"`
	Error        string `json:"error,omitempty"`
	URL          string `json:"url,omitempty"`
	By           string `json:"by,omitempty"`
}

func (c *client) writeRaw(typ websocket.MessageType, data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("%s: write: %v", c.user, err)
	}
}

func (c *client) write(f ClientFrame) {
	c.t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeRaw(websocket.MessageText, b)
}

// readTimeout is how long a test waits for a frame it expects: long, because a
// frame that comes is read at once, and a machine under load (the race
// detector, other test binaries) can stall for seconds.
const readTimeout = 20 * time.Second

// read returns the next frame, failing the test if none comes within
// readTimeout.
func (c *client) read() serverFrame {
	c.t.Helper()
	f, err := c.tryRead(readTimeout)
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.user, err)
	}
	return f
}

func (c *client) tryRead(timeout time.Duration) (serverFrame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return serverFrame{}, err
	}
	if typ != websocket.MessageText {
		return serverFrame{}, fmt.Errorf("a %v message", typ)
	}
	var f serverFrame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return serverFrame{}, fmt.Errorf("decode %s: %w", data, err)
	}
	return f, nil
}

// expect reads the next frame and checks it is want.
func (c *client) expect(want serverFrame) {
	c.t.Helper()
	if got := c.read(); got != want {
		c.t.Fatalf("%s got\n\t%+v\nwant\n\t%+v", c.user, got, want)
	}
}

// pingPong checks that the connection answers.
func (c *client) pingPong() {
	c.t.Helper()
	c.write(ClientFrame{Type: FramePing})
	c.expect(serverFrame{Type: "pong"})
}

// expectClosed reads until the connection ends and checks its close status.
func (c *client) expectClosed(code websocket.StatusCode, reason string) {
	c.t.Helper()
	for {
		_, err := c.tryRead(readTimeout)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("%s: read ended with %v, want close status %d", c.user, err, code)
		}
		if ce.Code != code || ce.Reason != reason {
			c.t.Fatalf("%s: closed with %d %q, want %d %q", c.user, ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
