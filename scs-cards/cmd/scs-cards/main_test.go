package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/cloudevent"
	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/feed"
	"github.com/scs-platform/shared-events/servicetest"
	"github.com/scs-platform/shared-events/sqldb"
)

// TestRun starts the real program against the real broker, with a stand-in for
// scs-users' feed that holds one registered user, and stops it again.
func TestRun(t *testing.T) {
	amqpURL := servicetest.AMQPURL(t)
	const userID = "01a19b53-741b-74c0-9095-71d6b11f635f"
	registered, err := contracts.NewEvent(contracts.UserRegisteredV1{UserSnapshot: contracts.UserSnapshot{
		UserID: userID, DisplayName: "Ada Lovelace", Role: contracts.RoleUser, Status: contracts.StatusActive,
		TokensValidAfter: time.Now().UTC(),
	}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	registered.Sequence = 1
	usersFeed := httptest.NewServer(feed.Handler(fixedFeed{registered}, slog.New(slog.DiscardHandler), "test-token"))
	defer usersFeed.Close()
	dbPath := filepath.Join(t.TempDir(), "cards.db")

	p := start(t, map[string]string{
		"DATABASE_URL":     dbPath,
		"AMQP_URL":         amqpURL,
		"USERS_FEED_URL":   usersFeed.URL,
		"USERS_FEED_TOKEN": "test-token",
	})

	status, body := get(t, p.base+"/healthz")
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	servicetest.Eventually(t, 15*time.Second, "GET /readyz to answer 200", func() bool {
		status, _ := get(t, p.base+"/readyz")
		return status == http.StatusOK
	})
	status, body = get(t, p.base+"/cards/")
	if status != http.StatusOK || !strings.Contains(body, `data-testid="cards-placeholder"`) {
		t.Errorf("GET /cards/ = %d, want 200 with the placeholder; body:\n%s", status, body)
	}
	if !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, `href="/users/"`) || !strings.Contains(body, `href="/chat/"`) {
		t.Errorf("GET /cards/ lacks the layout (viewport, navigation); body:\n%s", body)
	}
	status, body = get(t, p.base+"/cards/static/site.css")
	if status != http.StatusOK || !strings.Contains(body, "--accent") {
		t.Errorf("GET /cards/static/site.css = %d", status)
	}
	status, body = get(t, p.base+"/metrics")
	for _, metric := range []string{"outbox_backlog", "outbox_oldest_unsent_age_seconds", "consumer_apply_lag_seconds",
		`http_request_duration_seconds_count{method="GET",route="/cards/",status="200"}`, "process_start_time_seconds", "go_goroutines"} {
		if !strings.Contains(body, metric) {
			t.Errorf("GET /metrics (%d) lacks %s; got:\n%s", status, metric, grep(body, "http_"))
		}
	}

	db, err := sqldb.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, role, userStatus string
	servicetest.Eventually(t, 10*time.Second, "the user from the feed in the replica", func() bool {
		err := db.QueryRow(`SELECT display_name, role, status FROM users_replica WHERE user_id = $1`, userID).Scan(&name, &role, &userStatus)
		return err == nil
	})
	if name != "Ada Lovelace" || role != "user" || userStatus != "active" {
		t.Errorf("replica holds %q %q %q, want Ada Lovelace user active", name, role, userStatus)
	}

	p.stop(t)
}

// TestRunWithoutBroker checks that the system serves its pages while RabbitMQ is
// down and says so on /readyz.
func TestRunWithoutBroker(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "cards.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/",
	})
	if status, _ := get(t, p.base+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", status)
	}
	if status, body := get(t, p.base+"/cards/"); status != http.StatusOK || !strings.Contains(body, `data-testid="cards-placeholder"`) {
		t.Errorf("GET /cards/ = %d, want 200 with the placeholder", status)
	}
	status, body := get(t, p.base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "broker: not connected") {
		t.Errorf("GET /readyz = %d %q, want 503 naming the broker", status, body)
	}
	if strings.Contains(body, "database") || strings.Contains(body, "outbox") {
		t.Errorf("GET /readyz blames more than the broker: %q", body)
	}
	resp, err := noRedirect.Get(p.base + "/cards")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/cards/" {
		t.Errorf("GET /cards = %d to %q, want 301 to /cards/", resp.StatusCode, resp.Header.Get("Location"))
	}
	p.stop(t)
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{"database scheme", "DATABASE_URL", "mysql://db/cards"},
		{"sqlite options", "DATABASE_URL", "data/cards.db?_pragma=foo"},
		{"amqp scheme", "AMQP_URL", "http://guest:secret@localhost:5672/"},
		{"public url relative", "PUBLIC_URL", "/cards"},
		{"public url scheme", "PUBLIC_URL", "ftp://example.com"},
		{"http addr no port", "HTTP_ADDR", "localhost"},
		{"http addr bad port", "HTTP_ADDR", ":99999"},
		{"log format", "LOG_FORMAT", "xml"},
		{"users feed url", "USERS_FEED_URL", "users:8081/feed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tt.variable {
					return tt.value
				}
				return ""
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"scs-cards"}, getenv, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run accepted %s=%q", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("error %q does not name %s", err, tt.variable)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a password", err)
			}
			var printed bytes.Buffer
			if code := report(err, &printed); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if strings.Count(printed.String(), "\n") != 1 {
				t.Errorf("printed %q, want one line", printed.String())
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"scs-cards", "frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "deadletters") {
		t.Fatalf("run(frobnicate) = %v, want a usage error", err)
	}
	if code := report(err, io.Discard); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
}

// fixedFeed is a stand-in for scs-users' outbox behind the feed.
type fixedFeed []cloudevent.Event

func (f fixedFeed) Read(_ context.Context, after int64, limit int) ([]cloudevent.Event, int64, error) {
	var out []cloudevent.Event
	for _, ev := range f {
		if ev.Sequence > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, int64(len(f)), nil
}

// process is the program started by run in the background.
type process struct {
	base   string
	cancel context.CancelFunc
	done   chan error
}

// start runs the program with env on a free port and waits until it answers.
// Its log is shown if the test fails.
func start(t *testing.T, env map[string]string) *process {
	t.Helper()
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("program log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{base: "http://" + addr, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, []string{"scs-cards"}, func(k string) string { return env[k] }, logs, logs) }()
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
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return p
}

// stop cancels the program's context and checks that it ends cleanly within the
// shutdown timeout.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Errorf("run returned %v after cancellation, want nil", err)
		}
	case <-time.After(shutdownTimeout):
		t.Fatalf("run did not return within %s of cancellation", shutdownTimeout)
	}
}

var noRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
