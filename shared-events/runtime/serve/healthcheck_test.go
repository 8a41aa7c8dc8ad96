package serve_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/runtime/serve"
)

// TestHealthcheck asks /healthz on the loopback at HTTP_ADDR's port: 200 is
// healthy; another status, nothing listening or an address without a port is
// an error that says which.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := context.Background()
	if err := serve.Healthcheck(ctx, ":"+port); err != nil {
		t.Errorf("a process answering 200: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := serve.Healthcheck(ctx, ":"+port); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a process answering 503: %v, want an error naming the status", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	_, gone, _ := net.SplitHostPort(closed.Listener.Addr().String())
	closed.Close()
	if err := serve.Healthcheck(ctx, "0.0.0.0:"+gone); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("nothing listening: %v, want an error saying so", err)
	}
	if err := serve.Healthcheck(ctx, "8082"); err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Errorf("an HTTP_ADDR without a port: %v, want an error naming it", err)
	}
}
