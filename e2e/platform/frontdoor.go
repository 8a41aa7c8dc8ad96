package platform

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/programtest"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/frontdoor"
)

// FrontDoor starts the front door on addr (a loopback host:port) in front of
// backends, the instances of each system by name, until the test ends. It is
// Caddy running deploy/Caddyfile, the front door of compose, so that every
// journey goes through the configuration that ships. Only where Caddy is not
// installed, and CI is not set, the dev front door stands in; under CI=true a
// missing Caddy fails the test.
func FrontDoor(t *testing.T, addr string, backends map[string][]*url.URL, opts frontdoor.CaddyOptions) {
	t.Helper()
	if _, err := exec.LookPath("caddy"); err != nil && os.Getenv("CI") != "true" {
		if len(opts.TrustedProxies) > 0 || opts.HSTS != "" {
			// The dev front door knows nothing of them: the test would prove
			// nothing about deploy/Caddyfile.
			servicetest.Unavailable(t, "caddy (the front door of deploy/Caddyfile, with options)", err)
		}
		t.Logf("caddy is not installed (%v): the dev front door stands in for deploy/Caddyfile (under CI=true this fails)", err)
		devFrontDoor(t, addr, backends)
		return
	}
	Caddy(t, addr, backends, opts)
}

// Caddy runs deploy/Caddyfile on addr (a loopback host:port) in front of
// backends, with the operator's opts, and returns once it answers; it stops
// when the test ends and shows its log if the test failed. Without caddy the
// test is skipped, or fails under CI=true.
func Caddy(t *testing.T, addr string, backends map[string][]*url.URL, opts frontdoor.CaddyOptions) {
	t.Helper()
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		servicetest.Unavailable(t, "caddy (the front door of deploy/Caddyfile)", err)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("front door address %q: %v", addr, err)
	}
	_, healthPort, _ := net.SplitHostPort(programtest.FreeAddr(t))
	instances := map[string][]string{}
	for name, urls := range backends {
		for _, u := range urls {
			instances[name] = append(instances[name], u.Host)
		}
	}
	// The test's own directory for Caddy's state keeps parallel tests and the
	// developer's home apart.
	env := frontdoor.CaddyEnv(port, healthPort, t.TempDir(), instances, opts)
	proc := startProcess(t, "frontdoor", caddy, []string{"run", "--config", Caddyfile(), "--adapter", "caddyfile"}, env)
	base := "http://" + addr
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// "/" is answered by Caddy itself, whatever the systems do: its redirect
	// says the configuration is loaded. (The port is Caddy's: the process
	// above would have exited on a port in use.)
	servicetest.Eventually(t, 30*time.Second, "caddy to answer at "+base, func() bool {
		select {
		case <-proc.done:
			t.Fatalf("caddy exited while starting:\n%s", proc.out.String())
		default:
		}
		resp, err := client.Get(base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound && resp.Header.Get("Location") == "/users/"
	})
}

// Caddyfile is the path of deploy/Caddyfile in this repository.
func Caddyfile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "Caddyfile")
}

func devFrontDoor(t *testing.T, addr string, backends map[string][]*url.URL) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: frontdoor.New(backends), ReadHeaderTimeout: 10 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
}
