package health_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestLive(t *testing.T) {
	status, body := serve(t, health.Live(), "/healthz")
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("Live = %d %q, want 200 \"ok\\n\"", status, body)
	}
}

func TestReady(t *testing.T) {
	pass := health.Check{Name: "fine", Probe: func(context.Context) error { return nil }}
	fail := health.Check{Name: "database", Probe: func(context.Context) error { return errors.New("connection refused") }}
	// A probe that hangs far longer than Ready may wait: Ready answers without it.
	const hangs = 30 * time.Second
	hang := health.Check{Name: "slow", Probe: func(context.Context) error { time.Sleep(hangs); return nil }}
	tests := []struct {
		name       string
		checks     []health.Check
		wantStatus int
		wantLines  []string
	}{
		{"no checks", nil, http.StatusOK, []string{"ready"}},
		{"all pass", []health.Check{pass, pass}, http.StatusOK, []string{"ready"}},
		{"one fails", []health.Check{pass, fail}, http.StatusServiceUnavailable, []string{"database: connection refused"}},
		{"one hangs", []health.Check{hang, fail}, http.StatusServiceUnavailable, []string{"slow: no answer within 1s", "database: connection refused"}},
		{"broker down", []health.Check{health.Broker(&broker.Runner{Name: "chat-relay"}, &broker.Runner{Name: "chat-from-users"})},
			http.StatusServiceUnavailable, []string{"broker: not connected (chat-relay, chat-from-users)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started := time.Now()
			status, body := serve(t, health.Ready(tt.checks...), "/readyz")
			// Only whether Ready waited for the hanging probe: a bound near
			// CheckTimeout would fail on a machine under load.
			if took := time.Since(started); took >= hangs/2 {
				t.Errorf("Ready took %s: it waited for the probe that hangs", took)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if got := strings.Split(strings.TrimSuffix(body, "\n"), "\n"); strings.Join(got, "|") != strings.Join(tt.wantLines, "|") {
				t.Errorf("body lines = %q, want %q", got, tt.wantLines)
			}
		})
	}
}

func TestDatabaseAndOutboxChecks(t *testing.T) {
	db := servicetest.SQLite(t)
	ctx := context.Background()
	o := outbox.New(db, eventsig.DevelopmentSigner("users"))
	if err := o.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ready := health.Ready(health.Database(db), health.Outbox(o, time.Minute))
	if status, body := serve(t, ready, "/readyz"); status != http.StatusOK {
		t.Fatalf("empty outbox: %d %q, want 200", status, body)
	}

	fresh := event(t, time.Now())
	old := event(t, time.Now().Add(-2*time.Minute))
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return o.Append(ctx, tx, fresh) }); err != nil {
		t.Fatal(err)
	}
	if status, body := serve(t, ready, "/readyz"); status != http.StatusOK {
		t.Fatalf("fresh backlog: %d %q, want 200", status, body)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return o.Append(ctx, tx, old) }); err != nil {
		t.Fatal(err)
	}
	status, body := serve(t, ready, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(body, "outbox: stuck: 2 events unsent, the oldest for 2m") {
		t.Fatalf("old backlog: %d %q, want 503 naming the outbox", status, body)
	}

	db.Close()
	status, body = serve(t, ready, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "database: ") {
		t.Fatalf("closed database: %d %q, want 503 naming the database", status, body)
	}
}

func TestMetrics(t *testing.T) {
	durations := health.NewRequestDurations(func(r *http.Request) string { return r.Pattern })
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "extra_total", Help: "An extra collector."})
	reg, err := health.NewRegistry(durations, extra)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := health.NewRegistry(durations, durations); err == nil {
		t.Error("NewRegistry accepted the same collector twice")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.Handle("GET /metrics", health.Metrics(reg))
	h := durations.Middleware(mux)
	serve(t, h, "/things/1")
	serve(t, h, "/things/2")
	serve(t, h, "/nowhere")
	_, body := serve(t, h, "/metrics")
	for _, want := range []string{
		`http_request_duration_seconds_count{method="GET",route="GET /things/{id}",status="418"} 2`,
		`http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		"extra_total 0",
		"process_start_time_seconds",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func event(t *testing.T, at time.Time) cloudevent.Event {
	t.Helper()
	ev, err := cloudevent.New("/scs-users", "users.user.registered.v1", "u-1", 1, map[string]string{"user_id": "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Time = at
	return ev
}

func serve(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}
