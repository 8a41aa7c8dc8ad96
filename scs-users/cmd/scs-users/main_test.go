package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/feed"
	"github.com/scs-platform/shared-events/programtest"
	"github.com/scs-platform/shared-events/servicetest"
)

// TestRun starts the real program against the real broker and stops it again.
func TestRun(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"),
		"AMQP_URL":     servicetest.AMQPURL(t),
	})

	status, body := programtest.Get(t, p.Base+"/healthz")
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	servicetest.Eventually(t, 15*time.Second, "GET /readyz to answer 200", func() bool {
		status, _ := programtest.Get(t, p.Base+"/readyz")
		return status == http.StatusOK
	})
	status, body = programtest.Get(t, p.Base+"/users/")
	if status != http.StatusOK || !strings.Contains(body, `data-testid="users-placeholder"`) {
		t.Errorf("GET /users/ = %d, want 200 with the placeholder; body:\n%s", status, body)
	}
	if !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, `href="/chat/"`) || !strings.Contains(body, `href="/cards/"`) {
		t.Errorf("GET /users/ lacks the layout (viewport, navigation); body:\n%s", body)
	}
	status, body = programtest.Get(t, p.Base+"/users/static/site.css")
	if status != http.StatusOK || !strings.Contains(body, "--accent") {
		t.Errorf("GET /users/static/site.css = %d", status)
	}
	status, body = programtest.Get(t, p.Base+"/metrics")
	for _, metric := range []string{"outbox_backlog", "outbox_oldest_unsent_age_seconds", "outbox_published_total",
		`http_request_duration_seconds_count{method="GET",route="/users/",status="200"}`, "process_start_time_seconds", "go_goroutines"} {
		if !strings.Contains(body, metric) {
			t.Errorf("GET /metrics (%d) lacks %s; got:\n%s", status, metric, programtest.Grep(body, "http_"))
		}
	}
	p.Stop(t, shutdownTimeout)
}

// TestFeed checks that the event feed wants one of FEED_TOKENS. It needs no
// broker.
func TestFeed(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/",
		"FEED_TOKENS":  "chat-token, cards-token",
	})
	feedURL := p.Base + "/users/internal/events/feed"
	tests := []struct {
		name, authorization string
		want                int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer dev-feed-token", http.StatusUnauthorized},
		{"not bearer", "Basic Y2hhdC10b2tlbjo=", http.StatusUnauthorized},
		{"first token", "Bearer chat-token", http.StatusOK},
		{"second token", "Bearer cards-token", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, feedURL+"?after=0", nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := programtest.NoRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.want != http.StatusOK {
				return
			}
			var page feed.Page
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
				t.Fatalf("decode page: %v", err)
			}
			if len(page.Events) != 0 || page.Head != 0 {
				t.Errorf("page = %+v, want an empty history", page)
			}
		})
	}
	p.Stop(t, shutdownTimeout)
}

// TestRunWithoutBroker checks that the system serves its pages while RabbitMQ is
// down and says so on /readyz.
func TestRunWithoutBroker(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/",
	})
	if status, _ := programtest.Get(t, p.Base+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", status)
	}
	if status, body := programtest.Get(t, p.Base+"/users/"); status != http.StatusOK || !strings.Contains(body, `data-testid="users-placeholder"`) {
		t.Errorf("GET /users/ = %d, want 200 with the placeholder", status)
	}
	status, body := programtest.Get(t, p.Base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "relay: not connected to the broker") {
		t.Errorf("GET /readyz = %d %q, want 503 saying the relay cannot reach the broker", status, body)
	}
	if strings.Contains(body, "database") || strings.Contains(body, "outbox") {
		t.Errorf("GET /readyz blames more than the broker: %q", body)
	}
	resp, err := programtest.NoRedirect.Get(p.Base + "/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/users/" {
		t.Errorf("GET /users = %d to %q, want 301 to /users/", resp.StatusCode, resp.Header.Get("Location"))
	}
	p.Stop(t, shutdownTimeout)
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	programtest.RefusesBadSettings(t, run, "scs-users", append(programtest.CommonBadSettings("users"),
		programtest.BadSetting{Name: "feed tokens", Variable: "FEED_TOKENS", Value: " , ,"}))
}

func TestUnknownCommand(t *testing.T) {
	programtest.RefusesUnknownCommand(t, run, "scs-users")
}

// start runs the program with env on a free port and waits until it answers.
func start(t *testing.T, env map[string]string) *programtest.Process {
	t.Helper()
	return programtest.Start(t, run, "scs-users", env)
}
