// Package programtest starts a system's real program in a test, the way its
// main does, through the run function every system's main package has. A test
// then talks to it over HTTP on a free port and stops it as a signal would.
package programtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// RunFunc is a system's run: it serves until ctx ends.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Process is the program started by run in the background.
type Process struct {
	// Base is the program's URL, such as "http://127.0.0.1:41885".
	Base   string
	cancel context.CancelFunc
	done   chan error
	logs   *Log
}

// Output is what the program has written to its stdout and stderr so far.
func (p *Process) Output() string { return p.logs.String() }

// Start runs the program named name with env on a free port (HTTP_ADDR) and
// waits until it answers /healthz. Its log is shown if the test fails, and it is
// stopped when the test ends.
//
// env must hold an AMQP_URL that is not the local broker's default virtual
// host (where a program without one connects): the test's own
// (servicetest.AMQPURL), or a broker that is down (port 1).
func Start(t *testing.T, run RunFunc, name string, env map[string]string) *Process {
	t.Helper()
	if u := env["AMQP_URL"]; u == "" || servicetest.DefaultVHost(u) {
		t.Fatalf("programtest: %s's AMQP_URL is unset or the broker's default virtual host, where make run's platform and other tests are: give it servicetest.AMQPURL(t), or amqp://guest:guest@127.0.0.1:1/ for a broker that is down", name)
	}
	addr := FreeAddr(t)
	env["HTTP_ADDR"] = addr
	logs := &Log{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("program log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{Base: "http://" + addr, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { p.done <- run(ctx, []string{name}, func(k string) string { return env[k] }, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	servicetest.Eventually(t, 10*time.Second, "the program to answer /healthz", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		resp, err := http.Get(p.Base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return p
}

// Stop cancels the program's context and checks that it ends cleanly within
// timeout.
func (p *Process) Stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Errorf("run returned %v after cancellation, want nil", err)
		}
	case <-time.After(timeout):
		t.Fatalf("run did not return within %s of cancellation", timeout)
	}
}

// NoRedirect is a client that returns redirects instead of following them.
var NoRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Get fetches url with NoRedirect and returns the status and the body.
func Get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := NoRedirect.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// Grep returns the lines of s that contain substr, to keep a failure message
// short.
func Grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// FreeAddr is a free TCP address on the loopback interface, for a program to
// listen on.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Log collects a program's output from several goroutines.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Log) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Log) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
