package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/platform"
)

// person is a user driven over HTTP: a cookie jar and a client that shows
// redirects instead of following them.
type person struct {
	t      *testing.T
	name   string
	jar    *cookiejar.Jar
	client *http.Client
}

func newPerson(t *testing.T, name string) *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: t, name: name, jar: jar, client: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// post sends a form and returns the status and the Location.
func (p *person) post(target string, form url.Values) (int, string) {
	p.t.Helper()
	resp, err := p.client.PostForm(target, form)
	if err != nil {
		p.t.Fatalf("%s: POST %s: %v", p.name, target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		p.t.Fatalf("%s: POST %s = %d:\n%s", p.name, target, resp.StatusCode, body)
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

func (p *person) signUp(base string) {
	p.t.Helper()
	p.post(base+"/users/signup", url.Values{
		"email": {strings.ToLower(p.name) + "@example.com"}, "display_name": {p.name}, "password": {"correct horse battery " + p.name},
	})
}

// known waits until chat (at base) knows the person's account.
func (p *person) known(base string) {
	p.t.Helper()
	servicetest.Eventually(p.t, 15*time.Second, "chat to know "+p.name, func() bool {
		resp, err := p.client.Get(base + "/chat/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// dial opens the live websocket at base (an instance, directly).
func (p *person) dial(base, query string) *websocket.Conn {
	p.t.Helper()
	u, _ := url.Parse(base)
	h := http.Header{}
	for _, c := range p.jar.Cookies(u) {
		h.Add("Cookie", c.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/chat/live"+query, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		p.t.Fatalf("%s: websocket at %s: %v", p.name, base, err)
	}
	p.t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// frame is what the live websocket sends.
type frame struct {
	Type         string `json:"type"`
	URL          string `json:"url"`
	Conversation string `json:"conversation"`
	Text         string `json:"text"`
	From         string `json:"from"`
	ClientID     string `json:"client_id"`
	Seq          int64  `json:"seq"`
}

// next reads frames until one of typ arrives, within a wait long enough for
// a machine under load (a frame that comes is read at once).
func next(t *testing.T, ws *websocket.Conn, typ string) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a %q frame: %v", typ, err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

// nextMessage reads frames until the message with text arrives; the member's
// own messages come back too, and are skipped.
func nextMessage(t *testing.T, ws *websocket.Conn, text string) frame {
	t.Helper()
	for {
		if f := next(t, ws, "message"); f.Text == text {
			return f
		}
	}
}

func send(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

var conversationPath = regexp.MustCompile(`^/chat/conversations/([0-9a-f-]{36})$`)

// TestTwoChatInstancesActAsOne runs two scs-chat processes on one PostgreSQL
// database. Ada waits through instance 1, with her websocket there; Bob joins
// through instance 2 and is matched with her (the waiting room is one), and
// Ada's page on instance 1 hears of it. Their messages cross between the
// instances over the broker, both ways.
func TestTwoChatInstancesActAsOne(t *testing.T) {
	p := platform.Start(t, platform.Options{ChatInstances: 2})
	one, two := p.Direct["chat"][0], p.Direct["chat"][1]
	ada, bob := newPerson(t, "Ada"), newPerson(t, "Bob")
	ada.signUp(p.URL)
	bob.signUp(p.URL)
	ada.known(one)
	bob.known(two)
	p.WaitReady(t)

	if _, loc := ada.post(one+"/chat/join", url.Values{"lat": {"52.5219"}, "lon": {"13.4132"}, "range": {"5"}}); loc != "/chat/waiting" {
		t.Fatalf("ada's join went to %q, want the waiting room", loc)
	}
	adaWaiting := ada.dial(one, "")
	// The dial returns with the upgrade, a moment before instance 1 counts the
	// connection; a match in between would miss it (the waiting page has
	// nothing to resume), so bob joins once it counts.
	servicetest.Eventually(t, 30*time.Second, "instance 1 to count ada's waiting websocket", func() bool {
		return strings.Contains(get(t, one+"/metrics"), "\nchat_live_connections 1\n")
	})
	_, loc := bob.post(two+"/chat/join", url.Values{"lat": {"52.5219"}, "lon": {"13.4427"}, "range": {"5"}})
	m := conversationPath.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("bob's join through instance 2 went to %q, want a conversation with ada, who waits through instance 1", loc)
	}
	id := m[1]
	if f := next(t, adaWaiting, "matched"); f.URL != loc {
		t.Errorf("ada's waiting page on instance 1 was sent to %q, want %q", f.URL, loc)
	}

	adaLive := ada.dial(one, "?conversation="+id)
	bobLive := bob.dial(two, "?conversation="+id)
	// The subscriptions need a moment after the dial; a message that misses
	// one is not lost, and the resume that a page sends on connecting finds it.
	send(t, adaLive, map[string]any{"type": "resume", "conversation": id, "after": 0})
	send(t, bobLive, map[string]any{"type": "resume", "conversation": id, "after": 0})
	for i := range 3 {
		text := fmt.Sprintf("hello %d from instance 1", i)
		send(t, adaLive, map[string]any{"type": "send", "conversation": id, "client_id": fmt.Sprintf("a%d", i), "text": text})
		if f := nextMessage(t, bobLive, text); f.Seq != int64(2*i+1) {
			t.Fatalf("bob on instance 2 got %+v, want seq %d", f, 2*i+1)
		}
		reply := fmt.Sprintf("reply %d from instance 2", i)
		send(t, bobLive, map[string]any{"type": "send", "conversation": id, "client_id": fmt.Sprintf("b%d", i), "text": reply})
		if f := nextMessage(t, adaLive, reply); f.Seq != int64(2*i+2) {
			t.Fatalf("ada on instance 1 got %+v, want seq %d", f, 2*i+2)
		}
	}
	// Bob leaves through instance 2; ada hears it on instance 1.
	if _, loc := bob.post(two+"/chat/conversations/"+id+"/leave", nil); !strings.HasPrefix(loc, "/chat/conversations/"+id) {
		t.Errorf("bob's leave went to %q", loc)
	}
	if f := next(t, adaLive, "ended"); f.Conversation != id {
		t.Errorf("ada was told %+v, want the end of %s", f, id)
	}
}
