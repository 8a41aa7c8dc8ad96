package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/programtest"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestRun starts the real program against the real broker, with a stand-in for
// scs-users' feed that holds one registered user and the key that signs her
// token, and stops it again.
func TestRun(t *testing.T) {
	amqpURL := servicetest.AMQPURL(t)
	users := programtest.StandInUsers(t)
	dbPath := filepath.Join(t.TempDir(), "cards.db")

	p := start(t, map[string]string{
		"DATABASE_URL":     dbPath,
		"AMQP_URL":         amqpURL,
		"USERS_FEED_URL":   users.FeedURL,
		"USERS_FEED_TOKEN": users.FeedToken,
	})

	status, body := programtest.Get(t, p.Base+"/healthz")
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	servicetest.Eventually(t, 15*time.Second, "GET /readyz to answer 200", func() bool {
		status, _ := programtest.Get(t, p.Base+"/readyz")
		return status == http.StatusOK
	})
	// Without a token the pages send the browser to log in; with Ada's, signed
	// by the key from the feed, the start page is hers.
	resp, err := programtest.NoRedirect.Get(p.Base + "/cards/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users/login?next=%2Fcards%2F" {
		t.Errorf("GET /cards/ without a token = %d to %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Until the replica holds the feed's events, the answer is "one moment".
	servicetest.Eventually(t, 10*time.Second, "cards to know Ada", func() bool {
		req, _ := http.NewRequest(http.MethodGet, p.Base+"/cards/", nil)
		req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: users.Token})
		if resp, err = programtest.NoRedirect.Do(req); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return resp.StatusCode != http.StatusServiceUnavailable
	})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="open-form"`) || !strings.Contains(body, "SEK 50,000.00") || !strings.Contains(body, "Ada Lovelace") {
		t.Errorf("GET /cards/ with Ada's token = %d, want 200 with the form that opens an account, the default limit and her name; body:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, `href="/users/"`) || !strings.Contains(body, `href="/chat/"`) {
		t.Errorf("GET /cards/ lacks the layout (viewport, navigation); body:\n%s", body)
	}
	status, body = programtest.Get(t, p.Base+"/cards/static/site.css")
	if status != http.StatusOK || !strings.Contains(body, "--accent") {
		t.Errorf("GET /cards/static/site.css = %d", status)
	}
	status, body = programtest.Get(t, p.Base+"/metrics")
	for _, metric := range []string{"outbox_backlog", "outbox_oldest_unsent_age_seconds", "consumer_apply_lag_seconds",
		`http_request_duration_seconds_count{method="GET",route="/cards/",status="200"}`, "process_start_time_seconds", "go_goroutines",
		"cards_authorisations_total", "cards_statements_issued_total"} {
		if !strings.Contains(body, metric) {
			t.Errorf("GET /metrics (%d) lacks %s; got:\n%s", status, metric, programtest.Grep(body, "http_"))
		}
	}

	// The terminal API takes only its credential.
	req, _ := http.NewRequest(http.MethodPost, p.Base+"/cards/api/v1/authorisations", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k-1")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"code":"unauthorised"`) || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("the terminal API without its credential = %d %s, want 401", resp.StatusCode, b)
	}

	db, err := sqldb.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, role, userStatus string
	servicetest.Eventually(t, 10*time.Second, "the user from the feed in the replica", func() bool {
		err := db.QueryRow(`SELECT display_name, role, status FROM users_replica WHERE user_id = $1`, users.UserID).Scan(&name, &role, &userStatus)
		return err == nil
	})
	if name != "Ada Lovelace" || role != "user" || userStatus != "active" {
		t.Errorf("replica holds %q %q %q, want Ada Lovelace user active", name, role, userStatus)
	}

	p.Stop(t, shutdownTimeout)
}

// TestRunWithoutBroker checks that the system serves its pages while RabbitMQ is
// down and says so on /readyz.
func TestRunWithoutBroker(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "cards.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/",
	})
	if status, _ := programtest.Get(t, p.Base+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", status)
	}
	if status, _ := programtest.Get(t, p.Base+"/cards/static/cards.css"); status != http.StatusOK {
		t.Errorf("GET /cards/static/live.js = %d, want 200", status)
	}
	status, body := programtest.Get(t, p.Base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "broker: not connected") {
		t.Errorf("GET /readyz = %d %q, want 503 naming the broker", status, body)
	}
	if strings.Contains(body, "database") || strings.Contains(body, "outbox") {
		t.Errorf("GET /readyz blames more than the broker: %q", body)
	}
	resp, err := programtest.NoRedirect.Get(p.Base + "/cards")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/cards/" {
		t.Errorf("GET /cards = %d to %q, want 301 to /cards/", resp.StatusCode, resp.Header.Get("Location"))
	}
	p.Stop(t, shutdownTimeout)
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	programtest.RefusesBadSettings(t, run, "scs-cards", append(programtest.CommonBadSettings("cards"),
		programtest.BadSetting{Name: "users feed url", Variable: "USERS_FEED_URL", Value: "users:8081/feed"},
		programtest.BadSetting{Name: "unknown currency", Variable: "CARDS_CURRENCY", Value: "XYZ"},
		programtest.BadSetting{Name: "limit not an amount", Variable: "CARDS_DEFAULT_LIMIT", Value: "lots"},
		programtest.BadSetting{Name: "limit with too many decimals", Variable: "CARDS_DEFAULT_LIMIT", Value: "100.001"},
		programtest.BadSetting{Name: "no authorisation ttl", Variable: "AUTHORISATION_TTL", Value: "0s"},
		programtest.BadSetting{Name: "period too short", Variable: "STATEMENT_PERIOD", Value: "10ms"},
		programtest.BadSetting{Name: "period not a period", Variable: "STATEMENT_PERIOD", Value: "weekly"},
		programtest.BadSetting{Name: "no due days", Variable: "STATEMENT_DUE_DAYS", Value: "0"},
		programtest.BadSetting{Name: "terminal token too short", Variable: "TERMINAL_TOKEN", Value: "short"},
		programtest.BadSetting{Name: "https with the development feed token", Variable: "PUBLIC_URL", Value: "https://platform.example"}))
}

// TestRequestsAreTraced checks that the server gives every request a span
// named by its route and a request id.
func TestRequestsAreTraced(t *testing.T) {
	programtest.TracesRequests(t, run, "scs-cards", "cards", "/cards/", shutdownTimeout)
}

func TestHealthcheckCommand(t *testing.T) {
	programtest.Healthchecks(t, run, "scs-cards", "cards", shutdownTimeout)
}

func TestUnknownCommand(t *testing.T) {
	programtest.RefusesUnknownCommand(t, run, "scs-cards")
}

// start runs the program with env on a free port and waits until it answers.
func start(t *testing.T, env map[string]string) *programtest.Process {
	t.Helper()
	return programtest.Start(t, run, "scs-cards", env)
}
