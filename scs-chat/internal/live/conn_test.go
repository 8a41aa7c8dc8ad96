package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestASentMessageIsAckedAndDeliveredToEveryMember(t *testing.T) {
	t.Parallel()
	backend := newFakeBackend(map[string][]string{"c1": {"alice", "bob"}})
	ts := startServer(t, Config{Backend: backend})
	alice := ts.dial(t, "alice")
	aliceTab2 := ts.dial(t, "alice")
	bob := ts.dial(t, "bob")
	carol := ts.dial(t, "carol")
	servicetest.Eventually(t, readTimeout, "the connections", func() bool {
		return ts.hub.Connections("alice") == 2 && ts.hub.Connections("bob") == 1 && ts.hub.Connections("carol") == 1
	})

	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k-1", Text: "hello <bob> & \u00e9"})
	// The backend delivers before it returns, so the message comes first.
	want := serverFrame{Type: "message", Conversation: "c1", Seq: 1, From: "alice", ClientID: "k-1", Text: "hello <bob> & \u00e9", SentAt: "2025-06-01T12:00:00.123456789Z"}
	alice.expect(want)
	alice.expect(serverFrame{Type: "ack", ClientID: "k-1", Seq: 1})
	aliceTab2.expect(want)
	bob.expect(want)
	// carol is in no conversation: the next thing she hears is her own pong.
	carol.pingPong()
	if n := metricValue(t, ts.hub, "chat_live_connections"); n != 4 {
		t.Errorf("chat_live_connections = %v, want 4", n)
	}
}

func TestResendingAClientIDGetsTheSameAck(t *testing.T) {
	t.Parallel()
	backend := newFakeBackend(map[string][]string{"c1": {"alice", "bob"}})
	ts := startServer(t, Config{Backend: backend})
	alice := ts.dial(t, "alice")
	servicetest.Eventually(t, readTimeout, "alice to connect", func() bool { return ts.hub.Connections("alice") == 1 })

	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k-1", Text: "once"})
	alice.expect(serverFrame{Type: "message", Conversation: "c1", Seq: 1, From: "alice", ClientID: "k-1", Text: "once", SentAt: "2025-06-01T12:00:00.123456789Z"})
	alice.expect(serverFrame{Type: "ack", ClientID: "k-1", Seq: 1})
	// The resend, as after a lost ack: the same ack, nothing stored or delivered.
	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k-1", Text: "once"})
	alice.expect(serverFrame{Type: "ack", ClientID: "k-1", Seq: 1})
	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k-2", Text: "twice"})
	alice.expect(serverFrame{Type: "message", Conversation: "c1", Seq: 2, From: "alice", ClientID: "k-2", Text: "twice", SentAt: "2025-06-01T12:00:01.123456789Z"})
	alice.expect(serverFrame{Type: "ack", ClientID: "k-2", Seq: 2})
	if backend.sends != 2 {
		t.Errorf("the backend stored %d messages, want 2", backend.sends)
	}
}

func TestBackendErrorsReachTheSenderInPlainWords(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	backend := newFakeBackend(map[string][]string{"c1": {"alice", "bob"}, "broken": {"alice"}})
	ts := startServer(t, Config{Backend: backend, Logger: logs.logger()})
	alice := ts.dial(t, "alice")
	bob := ts.dial(t, "bob")

	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "long", Text: strings.Repeat("é", 2001)})
	alice.expect(serverFrame{Type: "error", Error: "a message can be at most 2000 characters", ClientID: "long"})
	alice.write(ClientFrame{Type: FrameSend, Conversation: "c2", ClientID: "stranger", Text: "hi"})
	alice.expect(serverFrame{Type: "error", Error: "you are not in this conversation", ClientID: "stranger"})
	alice.write(ClientFrame{Type: FrameSend, Conversation: "broken", ClientID: "fire", Text: "hi"})
	alice.expect(serverFrame{Type: "error", Error: "the message could not be sent; please send it again", ClientID: "fire"})
	if l := logs.String(); !strings.Contains(l, "database is on fire") || !strings.Contains(l, "user=alice") {
		t.Errorf("the log should have the cause and the user, got:\n%s", l)
	}
	// Nothing was delivered.
	bob.pingPong()
}

func TestMalformedFramesGetAnErrorAndTheConnectionStaysUsable(t *testing.T) {
	t.Parallel()
	backend := newFakeBackend(map[string][]string{"c1": {"alice"}})
	ts := startServer(t, Config{Backend: backend})
	alice := ts.dial(t, "alice")

	const send = `{"type":"send","conversation":"c1","client_id":"k1",`
	tests := []struct {
		name     string
		binary   bool
		frame    string
		want     string
		clientID string
	}{
		{name: "not JSON", frame: `hello`, want: "the frame is not valid JSON"},
		{name: "cut short", frame: `{"type":"ping"`, want: "the frame is not valid JSON"},
		{name: "not an object", frame: `["ping"]`, want: "the frame must be a JSON object"},
		{name: "no type", frame: `{}`, want: `the frame has no "type"`},
		{name: "unknown type", frame: `{"type":"shout"}`, want: `unknown frame type "shout": it must be "send", "resume" or "ping"`},
		{name: "type not a string", frame: `{"type":1}`, want: `"type" must be a string`},
		{name: "missing client_id", frame: `{"type":"send","conversation":"c1","text":"hi"}`, want: `a "send" frame needs the field "client_id"`},
		{name: "missing text", frame: `{"type":"send","conversation":"c1","client_id":"k1"}`, want: `a "send" frame needs the field "text"`, clientID: "k1"},
		{name: "negative after", frame: `{"type":"resume","conversation":"c1","after":-1}`, want: `"after" must be a whole number, 0 or more`},
		{name: "fractional after", frame: `{"type":"resume","conversation":"c1","after":1.5}`, want: `"after" must be a whole number, 0 or more`},
		{name: "after as a string", frame: `{"type":"resume","conversation":"c1","after":"3"}`, want: `"after" must be a whole number, 0 or more`},
		{name: "after too large", frame: `{"type":"resume","conversation":"c1","after":9223372036854775808}`, want: `"after" must be a whole number, 0 or more`},
		{name: "huge client_id", frame: `{"type":"send","conversation":"c1","client_id":"` + strings.Repeat("a", 65) + `","text":"hi"}`, want: `"client_id" must be 1 to 64 letters, digits, '-' or '_'`},
		{name: "client_id with a space", frame: `{"type":"send","conversation":"c1","client_id":"a b","text":"hi"}`, want: `"client_id" must be 1 to 64 letters, digits, '-' or '_'`},
		{name: "null client_id", frame: `{"type":"send","conversation":"c1","client_id":null,"text":"hi"}`, want: `"client_id" must be a string`},
		{name: "bad conversation", frame: `{"type":"resume","conversation":"../x","after":0}`, want: `"conversation" must be 1 to 64 letters, digits, '-' or '_'`},
		{name: "trailing garbage", frame: `{"type":"ping"} xyz`, want: "there is more data after the frame"},
		{name: "two frames", frame: `{"type":"ping"}{"type":"ping"}`, want: "there is more data after the frame"},
		{name: "unknown field", frame: send + `"text":"hi","urgent":true}`, want: `unknown field "urgent"`, clientID: "k1"},
		{name: "field of another type", frame: send + `"text":"hi","after":3}`, want: `a "send" frame has no field "after"`, clientID: "k1"},
		{name: "repeated field", frame: send + `"text":"hi","text":"ho"}`, want: `the field "text" appears twice`},
		{name: "text not a string", frame: send + `"text":42}`, want: `"text" must be a string`, clientID: "k1"},
		{name: "text with a lone surrogate", frame: send + `"text":"a\ud800b"}`, want: "the text is not valid Unicode", clientID: "k1"},
		{name: "invalid UTF-8", frame: send + "\"text\":\"a\xffb\"}", want: "the frame is not valid UTF-8"},
		{name: "binary message", binary: true, frame: `{"type":"ping"}`, want: "frames must be JSON in text messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			alice.t = t
			typ := websocket.MessageText
			if tt.binary {
				typ = websocket.MessageBinary
			}
			alice.writeRaw(typ, []byte(tt.frame))
			alice.expect(serverFrame{Type: "error", Error: tt.want, ClientID: tt.clientID})
			alice.pingPong()
		})
	}
	alice.t = t
	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k1", Text: "still here"})
	alice.expect(serverFrame{Type: "message", Conversation: "c1", Seq: 1, From: "alice", ClientID: "k1", Text: "still here", SentAt: "2025-06-01T12:00:00.123456789Z"})
	alice.expect(serverFrame{Type: "ack", ClientID: "k1", Seq: 1})
}

func TestAFrameOverTheReadLimitClosesTheConnection(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{ReadLimit: 1024})
	alice := ts.dial(t, "alice")
	alice.writeRaw(websocket.MessageText, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 1100)+`"}`))
	alice.expectClosed(websocket.StatusMessageTooBig, "read limited at 1025 bytes")
	if s := ts.nextEnded(t, readTimeout); !errors.Is(s.err, websocket.ErrMessageTooBig) {
		t.Errorf("Serve = %v, want ErrMessageTooBig", s.err)
	}
}

func TestResumeSendsTheMessagesAfterSeqInOrderAndInPages(t *testing.T) {
	t.Parallel()
	backend := newFakeBackend(map[string][]string{"c1": {"alice", "bob"}})
	for i := range 450 {
		if _, _, err := backend.store("bob", "c1", fmt.Sprintf("k%d", i), fmt.Sprintf("message %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, Config{Backend: backend})
	alice := ts.dial(t, "alice")

	alice.write(ClientFrame{Type: FrameResume, Conversation: "c1", After: 10})
	for seq := int64(11); seq <= 450; seq++ {
		f := alice.read()
		if f.Type != "message" || f.Seq != seq || f.Text != fmt.Sprintf("message %d", seq) || f.From != "bob" || f.Conversation != "c1" {
			t.Fatalf("frame %+v, want message %d", f, seq)
		}
	}
	// 440 messages from 10 on: pages after 10, 210 and 410, the last one short.
	if got, want := fmt.Sprint(backend.sinceCalls()), "[10 210 410]"; got != want {
		t.Errorf("Since was called after %s, want %s", got, want)
	}

	// Caught up: nothing comes.
	alice.write(ClientFrame{Type: FrameResume, Conversation: "c1", After: 450})
	servicetest.Eventually(t, readTimeout, "the resume after 450 to ask the backend", func() bool { return len(backend.sinceCalls()) == 4 })
	alice.pingPong()

	alice.write(ClientFrame{Type: FrameResume, Conversation: "c9", After: 0})
	alice.expect(serverFrame{Type: "error", Error: "you are not in this conversation"})
}

func TestCloseEndsOnlyThatUsersConnections(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{})
	alice := ts.dial(t, "alice")
	aliceTab2 := ts.dial(t, "alice")
	bob := ts.dial(t, "bob")
	servicetest.Eventually(t, readTimeout, "three connections", func() bool {
		return ts.hub.Connections("alice") == 2 && ts.hub.Connections("bob") == 1
	})

	ts.hub.Close("alice", "your session ended")
	alice.expectClosed(StatusSessionEnded, "your session ended")
	aliceTab2.expectClosed(StatusSessionEnded, "your session ended")
	for range 2 {
		if s := ts.nextEnded(t, readTimeout); s.user != "alice" || s.err != nil {
			t.Errorf("Serve ended for %s with %v, want alice with nil", s.user, s.err)
		}
	}
	if n := ts.hub.Connections("alice"); n != 0 {
		t.Errorf("alice has %d connections after Close", n)
	}
	bob.pingPong()
	if n := ts.hub.Connections("bob"); n != 1 {
		t.Errorf("bob has %d connections, want 1", n)
	}
}

func TestAnEndingServeContextClosesWithGoingAway(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{})
	alice := ts.dial(t, "alice")
	alice.pingPong()
	ts.shutdown()
	alice.expectClosed(websocket.StatusGoingAway, "the server is restarting")
	if s := ts.nextEnded(t, readTimeout); s.err != nil {
		t.Errorf("Serve = %v, want nil", s.err)
	}
}

func TestOnlyTheSameOriginOrAnAllowedOneMayConnect(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{OriginPatterns: []string{"chat.example.com"}})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	tests := []struct {
		origin string
		want   int
	}{
		{"https://evil.example", http.StatusForbidden},
		{"https://chat.example.com.evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://" + host, http.StatusSwitchingProtocols},
		{"https://chat.example.com", http.StatusSwitchingProtocols},
		{"", http.StatusSwitchingProtocols}, // not a browser: no cookie to abuse
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
			defer cancel()
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.Dial(ctx, "ws://"+host+"/?user=alice", &websocket.DialOptions{HTTPHeader: h})
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, tt.want, err)
			}
			if ws != nil {
				ws.Close(websocket.StatusNormalClosure, "")
			}
			s := ts.nextEnded(t, readTimeout)
			if refused := s.err != nil && strings.Contains(s.err.Error(), "refuse websocket"); refused != (tt.want == http.StatusForbidden) {
				t.Errorf("Serve = %v", s.err)
			}
		})
	}
}

func TestNewHubRefusesAnOriginPatternThatAllowsEveryone(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"*", "[bad"} {
		if _, err := NewHub(Config{Backend: newFakeBackend(nil), OriginPatterns: []string{p}}); err == nil {
			t.Errorf("NewHub accepted origin pattern %q", p)
		}
	}
}

// dialSlow connects a client with a small receive buffer that never reads.
func dialSlow(t *testing.T, ts *testServer, user string) *client {
	t.Helper()
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	t.Cleanup(transport.CloseIdleConnections)
	return dialURL(t, ts.srv.URL, user, &websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}})
}

func TestASlowClientIsDisconnectedWithoutHoldingUpOthers(t *testing.T) {
	t.Parallel()
	// The write timeout is long: this client is ended by its queue overflowing.
	ts := startServer(t, Config{WriteTimeout: time.Minute})
	dialSlow(t, ts, "slow")
	fast := ts.dial(t, "fast")
	servicetest.Eventually(t, readTimeout, "both to connect", func() bool { return ts.hub.Connections("slow") == 1 && ts.hub.Connections("fast") == 1 })

	big := Ended("c1", strings.Repeat("x", 16<<10))
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ts.hub.Connections("slow") > 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client is still connected after %d frames", i)
		}
		if err := ts.hub.Deliver(ctx, []string{"slow"}, big); err != nil {
			t.Fatal(err)
		}
		// Each frame for the fast client must arrive while the slow one is
		// stuck, well within the slow one's write timeout.
		small := Ended(fmt.Sprintf("c%d", i), "partner")
		if err := ts.hub.Deliver(ctx, []string{"fast"}, small); err != nil {
			t.Fatal(err)
		}
		f, err := fast.tryRead(readTimeout)
		if err != nil || f != (serverFrame{Type: "ended", Conversation: fmt.Sprintf("c%d", i), By: "partner"}) {
			t.Fatalf("frame %d for the fast client: %+v, %v", i, f, err)
		}
	}
	if s := ts.nextEnded(t, readTimeout); s.user != "slow" || !errors.Is(s.err, ErrTooSlow) {
		t.Errorf("Serve ended for %s with %v, want slow with ErrTooSlow", s.user, s.err)
	}
	fast.pingPong()
	if n := metricValue(t, ts.hub, "chat_live_slow_client_disconnects_total"); n != 1 {
		t.Errorf("chat_live_slow_client_disconnects_total = %v, want 1", n)
	}
}

func TestAWriteThatTakesTooLongEndsTheConnection(t *testing.T) {
	t.Parallel()
	// Long enough that the fast client's small write never hits it on a
	// machine under load; the slow one's never finishes.
	ts := startServer(t, Config{WriteTimeout: 2 * time.Second})
	dialSlow(t, ts, "slow")
	fast := ts.dial(t, "fast")
	servicetest.Eventually(t, readTimeout, "both to connect", func() bool { return ts.hub.Connections("slow") == 1 && ts.hub.Connections("fast") == 1 })

	// One frame far larger than the socket buffers: its write cannot finish.
	if err := ts.hub.Deliver(context.Background(), []string{"slow"}, Ended("c1", strings.Repeat("x", 8<<20))); err != nil {
		t.Fatal(err)
	}
	if err := ts.hub.Deliver(context.Background(), []string{"fast"}, Ended("c1", "partner")); err != nil {
		t.Fatal(err)
	}
	fast.expect(serverFrame{Type: "ended", Conversation: "c1", By: "partner"})
	if s := ts.nextEnded(t, readTimeout); s.user != "slow" || !errors.Is(s.err, ErrTooSlow) {
		t.Errorf("Serve ended for %s with %v, want slow with ErrTooSlow", s.user, s.err)
	}
}

func TestAClientThatStopsAnsweringPingsIsDisconnected(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond})
	// A client that does not read does not answer pings either.
	ts.dial(t, "alice")
	if s := ts.nextEnded(t, readTimeout); !errors.Is(s.err, ErrNoPong) {
		t.Errorf("Serve = %v, want ErrNoPong", s.err)
	}
}

func TestAClientThatAnswersPingsStaysConnected(t *testing.T) {
	t.Parallel()
	// The pong may take long (a machine under load): a ping waits for its
	// pong before the next is sent, so 20 pings are 20 pongs.
	ts := startServer(t, Config{PingInterval: 20 * time.Millisecond, PongTimeout: 10 * time.Second})
	var pings atomic.Int32
	alice := dialURL(t, ts.srv.URL, "alice", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	// Reading answers the pings. Had one gone unanswered, the pings would have
	// stopped, and the connection ended.
	go alice.ws.Read(context.Background())
	servicetest.Eventually(t, readTimeout, "20 pings", func() bool { return pings.Load() >= 20 })
	select {
	case s := <-ts.ended:
		t.Fatalf("the connection ended: %v", s.err)
	default:
	}
	if n := ts.hub.Connections("alice"); n != 1 {
		t.Errorf("alice has %d connections, want 1", n)
	}
}

func TestDeliverRefusesAFrameThatIsNotAnObjectWithAType(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{})
	for _, frame := range []string{`"hi"`, `{"url":"/x"}`, `{"type":""}`, `{"type":"x"} {}`, "{\"type\":\"x\",\"a\":\"\xff\"}"} {
		if err := ts.hub.Deliver(context.Background(), []string{"alice"}, []byte(frame)); err == nil {
			t.Errorf("Deliver accepted %q", frame)
		}
	}
}

func TestMatchedFrame(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{})
	alice := ts.dial(t, "alice")
	servicetest.Eventually(t, readTimeout, "alice to connect", func() bool { return ts.hub.Connections("alice") == 1 })
	if err := ts.hub.Deliver(context.Background(), []string{"alice", "alice"}, Matched("/chat/conversations/c-42")); err != nil {
		t.Fatal(err)
	}
	alice.expect(serverFrame{Type: "matched", URL: "/chat/conversations/c-42"})
	// Named twice, delivered once.
	alice.pingPong()
}

// metricValue is the value of one of the hub's metrics, checked by a pedantic
// registry on the way.
func metricValue(t *testing.T, hub *Hub, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(hub)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
