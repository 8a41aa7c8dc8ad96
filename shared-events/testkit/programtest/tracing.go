package programtest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TracesRequests starts the program named name, without a broker, with its
// spans written to its stdout (OTEL_TRACES_EXPORTER=stdout), and checks that a
// request's X-Request-Id comes back in the response, that a request without one
// gets one, and that once the program stops its output holds the request's
// server span, named by the route pattern, for the service name, and no span of
// the /healthz probes. system names the program's SQLite file, such as "chat";
// page is a path of a page it serves without a broker or a session, which
// is its own route pattern (such as "/users/login"); shutdownTimeout bounds
// the stop.
func TracesRequests(t *testing.T, run RunFunc, name, system, page string, shutdownTimeout time.Duration) {
	t.Helper()
	p := Start(t, run, name, map[string]string{
		"DATABASE_URL":         filepath.Join(t.TempDir(), system+".db"),
		"AMQP_URL":             "amqp://guest:guest@127.0.0.1:1/",
		"OTEL_TRACES_EXPORTER": "stdout",
	})
	req, err := http.NewRequest(http.MethodGet, p.Base+page, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "programtest-1")
	resp, err := NoRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "programtest-1" {
		t.Errorf("GET %s with X-Request-Id programtest-1 answered with X-Request-Id %q", page, got)
	}
	resp, err = NoRedirect.Get(p.Base + page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); len(got) != 32 {
		t.Errorf("GET %s without X-Request-Id answered with X-Request-Id %q, want a trace id", page, got)
	}
	resp, err = NoRedirect.Get(p.Base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The spans are exported in batches; stopping flushes them.
	p.Stop(t, shutdownTimeout)
	out := p.Output()
	for _, want := range []string{`"Name":"GET ` + page + `"`, `"Value":"` + name + `"`, `"programtest-1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the program's spans lack %s; output:\n%s", want, Grep(out, `"Name"`))
		}
	}
	if strings.Contains(out, `"Name":"GET /healthz"`) {
		t.Errorf("the program traced its /healthz probe; output:\n%s", Grep(out, `"Name"`))
	}
}
