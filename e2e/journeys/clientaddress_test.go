package journeys

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/frontdoor"
	"github.com/scs-platform/e2e/platform"
)

// TestClientsBehindATLSProxyGetLoginBucketsOfTheirOwn runs the platform as an
// operator deploys it: a TLS proxy in front of the front door (Caddy running
// deploy/Caddyfile, trusting that proxy through FRONT_DOOR_TRUSTED_PROXIES), in
// front of scs-users, which believes the door alone (TRUSTED_PROXIES). Every
// party has an address of its own on the loopback, so that each sees the real
// connections. scs-users counts failed logins per client address
// (LIMIT_LOGIN_PER_IP): two clients behind the proxy are two addresses, and
// nobody can choose theirs by writing X-Forwarded-For: not through the proxy,
// not at the door, not at scs-users' own port. (The rule scs-users applies is
// unit-tested in scs-users/internal/web: TestClientIP.)
func TestClientsBehindATLSProxyGetLoginBucketsOfTheirOwn(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		servicetest.Unavailable(t, "caddy (the front door of deploy/Caddyfile)", err)
	}
	const (
		proxyAddr = "127.0.0.9"
		alice     = "127.0.0.2"
		bob       = "127.0.0.3"
		// Neither behind the proxy: one at the door, one at scs-users' port.
		mallory = "127.0.0.4"
		trudy   = "127.0.0.5"
		burst   = 3
	)
	servicetest.LoopbackAddrs(t, proxyAddr, alice, bob, mallory, trudy)
	p := platform.Start(t, platform.Options{
		Env:       map[string]string{"LIMIT_LOGIN_PER_IP": fmt.Sprintf("%d/1h", burst)},
		FrontDoor: frontdoor.CaddyOptions{TrustedProxies: []string{proxyAddr + "/32"}},
	})
	door, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy appends the address it saw to what the client sent, as many
	// do: what the client wrote reaches the door, which must not believe it.
	proxy := httptest.NewUnstartedServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(door)
			r.Out.Header["X-Forwarded-For"] = r.In.Header["X-Forwarded-For"]
			r.SetXForwarded()
		},
		Transport: from(proxyAddr, nil),
	})
	proxy.StartTLS()
	t.Cleanup(proxy.Close)
	proxyTLS := proxy.Client().Transport.(*http.Transport)

	attempts := 0
	login := func(c *http.Client, base, claim string) int {
		t.Helper()
		// A new address each time: the per-account limit stays out of it.
		attempts++
		form := url.Values{"email": {fmt.Sprintf("nobody-%d@example.com", attempts)}, "password": {"not the password"}}
		req, err := http.NewRequest(http.MethodPost, base+"/users/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if claim != "" {
			req.Header.Set("X-Forwarded-For", claim)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s/users/login: %v", base, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	exhaust := func(who string, c *http.Client, base string) {
		t.Helper()
		for i := range burst {
			// A different claim each time: were any believed, the bucket
			// would never fill.
			if status := login(c, base, fmt.Sprintf("198.51.100.%d", i+1)); status != http.StatusUnauthorized {
				t.Fatalf("%s's login %d: %d, want 401 (wrong password) within the limit", who, i+1, status)
			}
		}
		if status := login(c, base, ""); status != http.StatusTooManyRequests {
			t.Fatalf("%s's login %d: %d, want 429 past LIMIT_LOGIN_PER_IP", who, burst+1, status)
		}
	}

	viaProxy := func(addr string) *http.Client {
		return &http.Client{Timeout: 30 * time.Second, Transport: from(addr, proxyTLS)}
	}
	exhaust("alice (behind the proxy)", viaProxy(alice), proxy.URL)
	if status := login(viaProxy(alice), proxy.URL, "203.0.113.50"); status != http.StatusTooManyRequests {
		t.Errorf("alice, claiming another address through the proxy: %d, want 429 (her own bucket)", status)
	}
	if status := login(viaProxy(bob), proxy.URL, ""); status != http.StatusUnauthorized {
		t.Errorf("bob (behind the same proxy): %d, want 401: a bucket of his own", status)
	}

	direct := func(addr string) *http.Client {
		return &http.Client{Timeout: 30 * time.Second, Transport: from(addr, nil)}
	}
	exhaust("mallory (at the door)", direct(mallory), p.URL)
	if status := login(direct(mallory), p.URL, bob); status != http.StatusTooManyRequests {
		t.Errorf("mallory at the door, claiming bob's address: %d, want 429 (her own bucket)", status)
	}

	exhaust("trudy (at scs-users' port)", direct(trudy), p.Direct["users"][0])
	if status := login(direct(trudy), p.Direct["users"][0], "203.0.113.51"); status != http.StatusTooManyRequests {
		t.Errorf("trudy at scs-users' port, claiming another address: %d, want 429 (her own bucket)", status)
	}
}

// from is a transport whose connections come from addr, a loopback address,
// with base's TLS settings (nil: plain HTTP).
func from(addr string, base *http.Transport) *http.Transport {
	tr := &http.Transport{}
	if base != nil {
		tr = base.Clone()
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		return d.DialContext(ctx, network, address)
	}
	return tr
}
