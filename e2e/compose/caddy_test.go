package compose

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scs-platform/shared-events/testkit/programtest"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/frontdoor"
	"github.com/scs-platform/e2e/platform"
)

func caddyBinary(t *testing.T) string {
	t.Helper()
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		servicetest.Unavailable(t, "caddy", err)
	}
	return caddy
}

func TestCaddyfileIsValidAndFormatted(t *testing.T) {
	caddy := caddyBinary(t)
	cmd := exec.Command(caddy, "validate", "--config", platform.Caddyfile(), "--adapter", "caddyfile")
	// Caddy keeps its state under these; none of it belongs in a home.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Valid configuration") {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	formatted, err := exec.Command(caddy, "fmt", platform.Caddyfile()).Output()
	if err != nil {
		t.Fatalf("caddy fmt: %v", err)
	}
	if string(formatted) != readFile(t, "deploy/Caddyfile") {
		t.Error("deploy/Caddyfile is not as caddy fmt writes it (caddy fmt --overwrite deploy/Caddyfile)")
	}
}

// seen is what a system behind a front door was sent.
type seen struct {
	System, Instance, URI, Host, Forwarded, Proto string
}

// systemStub stands in for an instance of a system: it answers with what it
// was sent, and accepts a websocket at any path, echoing its frames.
func systemStub(t *testing.T, system, instance string) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			_ = c.Write(r.Context(), websocket.MessageText, []byte(r.URL.RequestURI()))
			for {
				typ, b, err := c.Read(r.Context())
				if err != nil {
					return
				}
				if err := c.Write(r.Context(), typ, b); err != nil {
					return
				}
			}
		}
		w.Header().Set("X-System", system)
		_ = json.NewEncoder(w).Encode(seen{system, instance, r.URL.RequestURI(), r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto")})
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

func stubs(t *testing.T) map[string][]*url.URL {
	backends := map[string][]*url.URL{}
	for name := range systems {
		backends[name] = []*url.URL{systemStub(t, name, "1")}
	}
	return backends
}

// caddy runs deploy/Caddyfile in front of backends and returns its base URL.
func caddy(t *testing.T, backends map[string][]*url.URL) string {
	t.Helper()
	return caddyWith(t, backends, frontdoor.CaddyOptions{})
}

// caddyWith is caddy with the operator's choices.
func caddyWith(t *testing.T, backends map[string][]*url.URL, opts frontdoor.CaddyOptions) string {
	t.Helper()
	caddyBinary(t)
	addr := programtest.FreeAddr(t)
	platform.Caddy(t, addr, backends, opts)
	return "http://" + addr
}

// outcome is what a browser gets for a path from a front door: the
// answer's status and Location, and what a system saw of the request.
type outcome struct {
	Status   int
	Location string
	Seen     *seen
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, base, path string, header http.Header) outcome {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	o := outcome{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
	if resp.Header.Get("X-System") != "" {
		o.Seen = &seen{}
		if err := json.NewDecoder(resp.Body).Decode(o.Seen); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return o
}

// TestCaddyRoutesAsTheDevFrontDoor holds deploy/Caddyfile to the dev front
// door, which the tests ran on until now: the same paths reach the same
// systems unchanged (with the browser's Host), / redirects to the same start
// page, and the same paths are not found. Go's mux answers a path that is
// not clean with a redirect to the clean one where Caddy matches the cleaned
// path at once; for those the comparison follows the mux's redirect.
func TestCaddyRoutesAsTheDevFrontDoor(t *testing.T) {
	backends := stubs(t)
	dev := httptest.NewServer(frontdoor.New(backends))
	t.Cleanup(dev.Close)
	real := caddy(t, backends)

	paths := []string{
		"/", "/?next=%2Fchat%2F",
		"/users", "/users/", "/users/login?next=%2Fchat%2F", "/users/account",
		"/chat", "/chat/", "/chat/conversations/42", "/chat/live?conversation=42",
		"/cards", "/cards/", "/cards/static/site.css", "/cards/api/v1/authorisations", "/cards/fragments/summary/v1",
		"/healthz", "/readyz", "/metrics", "/users/healthz",
		"/users/internal", "/users/internal/", "/users/internal/events/feed", "/users/internal/events/feed?after=0",
		"/users//internal/events/feed", "/users/./internal/events/feed", "/users/x/../internal/events/feed",
		"/cards/../healthz", "/chat/../metrics",
		"/chatroom", "/usersx/", "/USERS/", "/Chat/", "/favicon.ico", "/robots.txt",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			want := get(t, dev.URL, path, nil)
			if want.Status == http.StatusMovedPermanently || want.Status == http.StatusTemporaryRedirect || want.Status == http.StatusPermanentRedirect {
				want = get(t, dev.URL, want.Location, nil)
			}
			got := get(t, real, path, nil)
			if want.Seen != nil {
				// Each door is its own origin: the system sees that door's
				// host, and the address it came from.
				want.Seen.Host = strings.TrimPrefix(real, "http://")
			}
			if got.Status != want.Status || got.Location != want.Location || (got.Seen == nil) != (want.Seen == nil) ||
				got.Seen != nil && *got.Seen != *want.Seen {
				t.Errorf("caddy: %s, dev front door: %s", describe(got), describe(want))
			}
		})
	}
}

func describe(o outcome) string {
	b, _ := json.Marshal(o)
	return string(b)
}

// Caddy matches the unescaped, cleaned path: what would reach scs-users'
// feed, or a system's root endpoints, by a path spelt otherwise is refused
// at the door, where the dev front door hands some of it on.
func TestCaddyRefusesTheFeedAndTheRootEndpointsSpeltOtherwise(t *testing.T) {
	real := caddy(t, stubs(t))
	for _, path := range []string{
		"/users/internal%2fevents/feed", "/users/%69nternal/events/feed", "/users/INTERNAL/events/feed",
		"/users%2finternal/events/feed", "/chat/%2e%2e/healthz", "/cards/%2e%2e/metrics", "/users/..%2f..%2freadyz",
	} {
		t.Run(path, func(t *testing.T) {
			if got := get(t, real, path, nil); got.Status != http.StatusNotFound || got.Seen != nil {
				t.Errorf("caddy answered %s, want 404 from the door itself", describe(got))
			}
		})
	}
}

// scs-users counts its rate limits by the address the front door writes in
// X-Forwarded-For (TRUSTED_PROXIES): one that the client wrote itself must
// never reach it.
func TestCaddyForwardsTheClientsAddressNotItsClaim(t *testing.T) {
	real := caddy(t, stubs(t))
	got := get(t, real, "/users/login", http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}})
	if got.Seen == nil {
		t.Fatalf("scs-users did not get the request: %s", describe(got))
	}
	if got.Seen.Forwarded != "127.0.0.1" {
		t.Errorf("scs-users saw X-Forwarded-For %q, want only the client's address 127.0.0.1", got.Seen.Forwarded)
	}
	if got.Seen.Proto != "http" {
		t.Errorf("scs-users saw X-Forwarded-Proto %q, want what the client used (http)", got.Seen.Proto)
	}
	if want := strings.TrimPrefix(real, "http://"); got.Seen.Host != want {
		t.Errorf("scs-users saw Host %q, want the browser's %q (cross-origin protection compares them)", got.Seen.Host, want)
	}
}

// Behind a TLS proxy that the operator trusts (FRONT_DOOR_TRUSTED_PROXIES),
// the door passes on the address that proxy appended, and nothing to its left,
// which the client wrote; anyone else still gets their own connection's
// address, whatever they claim. The systems believe the door alone, so the
// door must hand them exactly one address: the client's.
func TestCaddyBelievesOnlyItsTrustedProxy(t *testing.T) {
	// The proxy connects from an address of its own on the loopback, so that
	// the door can tell it from a client on 127.0.0.1.
	const proxy = "127.0.0.9"
	servicetest.LoopbackAddrs(t, proxy)
	real := caddyWith(t, stubs(t), frontdoor.CaddyOptions{TrustedProxies: []string{proxy + "/32"}})
	for _, tt := range []struct {
		name, from string
		xff        []string
		want       string
	}{
		{"the trusted proxy, for a client", proxy, []string{"198.51.100.2"}, "198.51.100.2"},
		{"the trusted proxy, for a client who wrote a claim", proxy, []string{"203.0.113.7, 198.51.100.2"}, "198.51.100.2"},
		{"the trusted proxy, in two headers", proxy, []string{"203.0.113.7", "198.51.100.2"}, "198.51.100.2"},
		{"the trusted proxy, with no header", proxy, nil, proxy},
		{"a client with a claim", "127.0.0.1", []string{"203.0.113.7"}, "127.0.0.1"},
		{"a client with two claims", "127.0.0.1", []string{"203.0.113.7, 198.51.100.2"}, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}}).DialContext,
			}}
			req, _ := http.NewRequest(http.MethodGet, real+"/users/login", nil)
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got seen
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Forwarded != tt.want {
				t.Errorf("scs-users saw X-Forwarded-For %q, want %q", got.Forwarded, tt.want)
			}
		})
	}
}

// Chat's live socket is under /chat/: it goes through with its path and
// query, and stays open for as long as it is used.
func TestCaddyCarriesChatsWebsocket(t *testing.T) {
	real := caddy(t, stubs(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, strings.Replace(real, "http", "ws", 1)+"/chat/live?conversation=42", nil)
	if err != nil {
		t.Fatalf("websocket through caddy: %v (%v)", err, resp)
	}
	defer ws.CloseNow()
	if _, b, err := ws.Read(ctx); err != nil || string(b) != "/chat/live?conversation=42" {
		t.Fatalf("chat saw the socket at %q (%v), want /chat/live?conversation=42", b, err)
	}
	for _, frame := range []string{`{"type":"resume"}`, `{"type":"send","text":"hello"}`, `{"type":"send","text":"again"}`} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if _, b, err := ws.Read(ctx); err != nil || string(b) != frame {
			t.Fatalf("frame %s came back as %q (%v)", frame, b, err)
		}
	}
}

// Several instances of a system get the requests in turn, as from the dev
// front door; one that refuses connections is passed over.
func TestCaddyTakesInstancesInTurn(t *testing.T) {
	backends := stubs(t)
	backends["chat"] = []*url.URL{systemStub(t, "chat", "1"), systemStub(t, "chat", "2")}
	real := caddy(t, backends)
	var order []string
	for range 6 {
		got := get(t, real, "/chat/", nil)
		if got.Seen == nil {
			t.Fatalf("no instance answered: %s", describe(got))
		}
		order = append(order, got.Seen.Instance)
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			t.Fatalf("the instances served %v, want them in turn", order)
		}
	}

	stopped := freePort(t)
	backends["chat"] = []*url.URL{systemStub(t, "chat", "1"), stopped}
	real = caddy(t, backends)
	for range 4 {
		if got := get(t, real, "/chat/", nil); got.Seen == nil || got.Seen.Instance != "1" {
			t.Fatalf("with instance 2 stopped caddy answered %s, want instance 1", describe(got))
		}
	}
}

// A system that is down gets a 502 under its prefix, in plain words, and the
// others are served (as compose runs them: the front door depends on none).
func TestCaddyAnswers502ForASystemThatIsDown(t *testing.T) {
	backends := stubs(t)
	backends["chat"] = []*url.URL{freePort(t)}
	real := caddy(t, backends)
	resp, err := noRedirects.Get(real + "/chat/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "not answering") {
		t.Errorf("GET /chat/ with chat down = %d %q, want 502 saying the system is not answering", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("the 502 is %q, want text/plain", ct)
	}
	if got := get(t, real, "/cards/", nil); got.Seen == nil || got.Seen.System != "cards" {
		t.Errorf("with chat down, /cards/ answered %s", describe(got))
	}
}

// No system takes a body of more than a few KiB; the door stops larger ones.
func TestCaddyRefusesAnOversizedBody(t *testing.T) {
	real := caddy(t, stubs(t))
	resp, err := http.Post(real+"/cards/api/v1/authorisations", "application/json", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB body got %d, want 413", resp.StatusCode)
	}
}

// runCaddy runs deploy/Caddyfile with env (and its own state directory) and
// returns its log, once the health port answers.
func runCaddy(t *testing.T, env ...string) (health string, log *programtest.Log) {
	t.Helper()
	caddy := caddyBinary(t)
	_, health, _ = net.SplitHostPort(programtest.FreeAddr(t))
	cmd := exec.Command(caddy, "run", "--config", platform.Caddyfile(), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "FRONT_DOOR_HEALTH_PORT="+health, "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	log = &programtest.Log{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("caddy's log:\n%s", log.String())
		}
	})
	servicetest.Eventually(t, 30*time.Second, "caddy's health port to answer", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return health, log
}

// The container's healthcheck asks the health port; it answers on loopback
// only, whatever the systems do.
func TestCaddyHealthPortAnswersOnLoopbackOnly(t *testing.T) {
	_, port, _ := net.SplitHostPort(programtest.FreeAddr(t))
	// No system runs: the health port must not care.
	health, _ := runCaddy(t, "FRONT_DOOR_ADDR=:"+port,
		"USERS_UPSTREAMS=127.0.0.1:1", "CHAT_UPSTREAMS=127.0.0.1:1", "CARDS_UPSTREAMS=127.0.0.1:1")
	resp, err := http.Get("http://127.0.0.1:" + health + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("the health port answered %d %q, want 200 ok", resp.StatusCode, body)
	}
	for _, ip := range localAddrs(t) {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, health), time.Second); err == nil {
			c.Close()
			t.Errorf("the health port answers on %s, not only on loopback", ip)
		}
	}
}

// Every request is one JSON line in the access log, without the session
// cookie or a bearer token.
func TestCaddyLogsRequestsAsJSONWithoutCredentials(t *testing.T) {
	users := systemStub(t, "users", "1")
	addr := programtest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	_, log := runCaddy(t, "FRONT_DOOR_ADDR=:"+port, "USERS_UPSTREAMS="+users.Host)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/users/account?from=log-test", nil)
	req.Header.Set("Cookie", "scs_session=session-token-in-a-cookie")
	req.Header.Set("Authorization", "Bearer bearer-token-in-a-header")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var entry map[string]any
	servicetest.Eventually(t, 10*time.Second, "the request in caddy's access log", func() bool {
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, "log-test") {
				return json.Unmarshal([]byte(line), &entry) == nil
			}
		}
		return false
	})
	if entry["msg"] != "handled request" || entry["status"] != float64(http.StatusOK) {
		t.Errorf("the access log line is %v, want a handled request with its status", entry)
	}
	for _, secret := range []string{"session-token-in-a-cookie", "bearer-token-in-a-header"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("caddy's log holds %q", secret)
		}
	}
}

// localAddrs are this machine's addresses other than loopback.
func localAddrs(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// freePort is an address where nothing listens: a stopped instance.
func freePort(t *testing.T) *url.URL {
	t.Helper()
	return &url.URL{Scheme: "http", Host: programtest.FreeAddr(t)}
}

// The door names no server (nothing to tell a scanner which version to try),
// on any answer: a system's page, its own 404, the redirect of /, the 413 of
// an oversized body and the 502 of a system that is down. It sends
// Strict-Transport-Security only when the operator says the browser reaches
// it over https (FRONT_DOOR_HSTS), then on every answer.
func TestCaddySendsNoServerBannerAndHSTSOnlyWhenConfigured(t *testing.T) {
	const hsts = "max-age=31536000; includeSubDomains"
	requests := []struct {
		name, method, path string
		body               string
		status             int
	}{
		{"a system's page", http.MethodGet, "/users/login", "", http.StatusOK},
		{"the door's redirect", http.MethodGet, "/", "", http.StatusFound},
		{"the door's 404", http.MethodGet, "/favicon.ico", "", http.StatusNotFound},
		{"the feed refused", http.MethodGet, "/users/internal/events/feed", "", http.StatusNotFound},
		{"a system that is down", http.MethodGet, "/chat/", "", http.StatusBadGateway},
		{"an oversized body", http.MethodPost, "/cards/api/v1/authorisations", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge},
	}
	for _, door := range []struct {
		name string
		opts frontdoor.CaddyOptions
		hsts string
	}{
		{"by default", frontdoor.CaddyOptions{}, ""},
		{"with FRONT_DOOR_HSTS", frontdoor.CaddyOptions{HSTS: hsts}, hsts},
	} {
		t.Run(door.name, func(t *testing.T) {
			backends := stubs(t)
			backends["chat"] = []*url.URL{freePort(t)}
			// A system's own Server header must not pass either.
			backends["users"] = []*url.URL{bannerStub(t)}
			real := caddyWith(t, backends, door.opts)
			for _, rq := range requests {
				t.Run(rq.name, func(t *testing.T) {
					req, _ := http.NewRequest(rq.method, real+rq.path, strings.NewReader(rq.body))
					resp, err := noRedirects.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != rq.status {
						t.Fatalf("status %d, want %d", resp.StatusCode, rq.status)
					}
					if v, ok := resp.Header["Server"]; ok {
						t.Errorf("Server: %q, want no Server header", v)
					}
					if got := resp.Header.Values("Strict-Transport-Security"); door.hsts == "" && len(got) != 0 ||
						door.hsts != "" && (len(got) != 1 || got[0] != door.hsts) {
						t.Errorf("Strict-Transport-Security: %q, want %q", got, door.hsts)
					}
				})
			}
		})
	}
	_, port, _ := net.SplitHostPort(programtest.FreeAddr(t))
	health, _ := runCaddy(t, "USERS_UPSTREAMS=127.0.0.1:1", "CHAT_UPSTREAMS=127.0.0.1:1", "CARDS_UPSTREAMS=127.0.0.1:1",
		"FRONT_DOOR_ADDR=:"+port)
	resp, err := http.Get("http://127.0.0.1:" + health + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v, ok := resp.Header["Server"]; ok {
		t.Errorf("the health port sends Server: %q", v)
	}
}

// bannerStub is scs-users answering with a Server header of its own.
func bannerStub(t *testing.T) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "scs-users/1.0")
		w.Header().Set("X-System", "users")
		_ = json.NewEncoder(w).Encode(seen{System: "users"})
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}
