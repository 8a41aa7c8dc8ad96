package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/testkit/programtest"
	"github.com/scs-platform/shared-events/testkit/servicetest"
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
	if status != http.StatusOK || !strings.Contains(body, `data-testid="users-home"`) {
		t.Errorf("GET /users/ = %d, want 200 with the start page; body:\n%s", status, body)
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
		`http_request_duration_seconds_count{method="GET",route="/users/",status="200"}`, "process_start_time_seconds", "go_goroutines",
		"password_hashes_in_flight", `consumer_redeliveries_total{queue="users.from-chat"}`} {
		if !strings.Contains(body, metric) {
			t.Errorf("GET /metrics (%d) lacks %s; got:\n%s", status, metric, programtest.Grep(body, "_total"))
		}
	}
	p.Stop(t, shutdownTimeout)
}

// TestEventsAndReports runs the system against the real broker: what a user
// does is published to users.events, and a report scs-chat publishes reaches
// the moderation queue through users.from-chat.
func TestEventsAndReports(t *testing.T) {
	amqpURL := servicetest.AMQPURL(t)
	conn := servicetest.AMQP(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// An exclusive queue of the test's own sees every event scs-users publishes.
	if err := ch.ExchangeDeclare("users.events", amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", "users.events", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := &watch{deliveries: deliveries, types: map[string]bool{}}

	db := filepath.Join(t.TempDir(), "users.db")
	env := map[string]string{"DATABASE_URL": db, "AMQP_URL": amqpURL}
	p := start(t, env)
	admin := newClient(t, p.Base)
	admin.form("/users/signup", "email", "root@example.com", "display_name", "Root", "password", "correct horse battery staple")
	servicetest.Eventually(t, 15*time.Second, "the signing key and the registration on users.events", func() bool {
		return events.seen(contracts.TypeUserRegisteredV1) && events.seen(contracts.TypeSigningKeyPublishedV1)
	})

	var out bytes.Buffer
	if err := run(context.Background(), []string{"scs-users", "admin", "grant", "ROOT@example.com"}, getenv(env), &out, &out); err != nil {
		t.Fatalf("admin grant: %v", err)
	}
	if !strings.Contains(out.String(), "root@example.com (Root) is admin now") {
		t.Errorf("admin grant printed %q", out.String())
	}
	servicetest.Eventually(t, 15*time.Second, "the role change on users.events", func() bool {
		return events.seen(contracts.TypeUserUpdatedV1)
	})

	// scs-chat's report, as its relay would publish it.
	reportID := uuid.Must(uuid.NewV7()).String()
	ev, err := contracts.NewEvent(contracts.ReportFiledV1{ReportID: reportID, ReporterID: uuid.Must(uuid.NewV7()).String(),
		ReportedUserID: uuid.Must(uuid.NewV7()).String(), ConversationID: uuid.Must(uuid.NewV7()).String(),
		Reason: "Said something awful", ReportedAt: time.Now()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev.Sequence = 1
	// Signed with scs-chat's development key, which CHAT_EVENT_KEYS pins when unset.
	if ev, err = eventsig.DevelopmentSigner("chat").Sign(ev); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("chat.events", amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	// The queue is bound once its consumer reads it; before, the report would
	// be dropped unrouted. (In a virtual host of the test's own no earlier run
	// left the queue bound.)
	servicetest.Eventually(t, 15*time.Second, "users.from-chat to be declared, bound and read", func() bool {
		probe, err := conn.Channel()
		if err != nil {
			return false
		}
		defer probe.Close()
		q, err := probe.QueueDeclarePassive("users.from-chat", true, false, false, false, nil)
		return err == nil && q.Consumers > 0
	})
	if err := ch.PublishWithContext(context.Background(), "chat.events", contracts.TypeReportFiledV1, true, false, amqp.Publishing{
		ContentType: cloudevent.ContentType, DeliveryMode: amqp.Persistent, MessageId: ev.ID, Body: body,
	}); err != nil {
		t.Fatal(err)
	}
	admin.logIn("root@example.com") // the role change renewed the session
	servicetest.Eventually(t, 15*time.Second, "the report in the moderation queue", func() bool {
		status, page := admin.get("/users/admin/reports")
		return status == http.StatusOK && strings.Contains(page, "Said something awful")
	})
	p.Stop(t, shutdownTimeout)
}

// watch remembers the types of the events that arrived on a queue.
type watch struct {
	deliveries <-chan amqp.Delivery
	types      map[string]bool
}

// seen takes the deliveries that have arrived and reports whether one of
// type typ was among them or among earlier ones.
func (w *watch) seen(typ string) bool {
	for {
		select {
		case d := <-w.deliveries:
			w.types[d.RoutingKey] = true
		default:
			return w.types[typ]
		}
	}
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
			req, _ := http.NewRequest(http.MethodGet, feedURL+"?after=0&nonce=0123456789abcdef", nil)
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
			c := feed.Client{URL: feedURL, Token: strings.TrimPrefix(tt.authorization, "Bearer "), Keys: eventsig.DevelopmentKeys("users")}
			events, head, err := c.Page(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh system's history is its first signing key.
			if len(events) != 1 || events[0].Type != contracts.TypeSigningKeyPublishedV1 || head != 1 {
				t.Errorf("page = %+v (head %d), want the first signing key", events, head)
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
	c := newClient(t, p.Base)
	c.form("/users/signup", "email", "ada@example.com", "display_name", "Ada", "password", "correct horse battery staple")
	if status, body := c.get("/users/account"); status != http.StatusOK || !strings.Contains(body, "ada@example.com") {
		t.Errorf("GET /users/account = %d without the broker, want 200", status)
	}
	status, body := programtest.Get(t, p.Base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "relay: not connected to the broker") ||
		!strings.Contains(body, "broker: not connected (users-from-chat") {
		t.Errorf("GET /readyz = %d %q, want 503 saying the relay and the consumer cannot reach the broker", status, body)
	}
	if strings.Contains(body, "database") {
		t.Errorf("GET /readyz blames the database: %q", body)
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

func TestCommands(t *testing.T) {
	env := map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"), "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"}
	runCmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"scs-users"}, args...), getenv(env), &out, &out)
		return out.String(), err
	}
	if _, err := runCmd("admin", "grant", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no account has the email address") {
		t.Errorf("admin grant of an unknown address: %v", err)
	}
	if _, err := runCmd("keys", "revoke", "nope"); err == nil || !strings.Contains(err.Error(), `there is no signing key "nope"`) {
		t.Errorf("keys revoke of an unknown kid: %v", err)
	}
	for _, args := range [][]string{{"admin"}, {"admin", "promote", "a@b.c"}, {"keys"}, {"keys", "burn"}, {"keys", "revoke"}} {
		if _, err := runCmd(args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	out, err := runCmd("keys", "rotate")
	if err != nil || !strings.Contains(out, "New signing key") {
		t.Fatalf("keys rotate: %q, %v", out, err)
	}
	out, err = runCmd("keys", "rotate")
	if err != nil {
		t.Fatal(err)
	}
	out, err = runCmd("keys", "list")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, "signing") || !strings.Contains(out, "next") {
		t.Errorf("keys list after two rotations:\n%s(%v)\nwant a header, the signing key and the next one", out, err)
	}
	signingKID := strings.Fields(programtest.Grep(out, "signing"))[0]
	out, err = runCmd("keys", "revoke", signingKID)
	if err != nil || !strings.Contains(out, "Key "+signingKID+" is revoked") {
		t.Fatalf("keys revoke: %q, %v", out, err)
	}
	out, _ = runCmd("keys", "list")
	if !strings.Contains(programtest.Grep(out, signingKID), "revoked") || strings.Count(out, "signing") != 1 {
		t.Errorf("keys list after the revocation:\n%s", out)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	programtest.RefusesBadSettings(t, run, "scs-users", append(programtest.CommonBadSettings("users"),
		programtest.BadSetting{Name: "feed tokens", Variable: "FEED_TOKENS", Value: " , ,"},
		programtest.BadSetting{Name: "token ttl", Variable: "TOKEN_TTL", Value: "forever"},
		programtest.BadSetting{Name: "idle above the maximum age", Variable: "SESSION_IDLE_TIMEOUT", Value: "24h"},
		programtest.BadSetting{Name: "weak argon2", Variable: "ARGON2_MEMORY_KIB", Value: "1024"},
		programtest.BadSetting{Name: "argon2 not a number", Variable: "ARGON2_ITERATIONS", Value: "two"},
		programtest.BadSetting{Name: "key encryption key", Variable: "KEY_ENCRYPTION_KEY", Value: "secret-and-short"},
		programtest.BadSetting{Name: "key encryption key file", Variable: "KEY_ENCRYPTION_KEY_FILE", Value: "/nonexistent/kek"},
		programtest.BadSetting{Name: "login limit", Variable: "LIMIT_LOGIN_PER_ACCOUNT", Value: "5 per minute"},
		programtest.BadSetting{Name: "sign-up limit", Variable: "LIMIT_SIGNUP_PER_IP", Value: "0/1m"},
		programtest.BadSetting{Name: "trusted proxies", Variable: "TRUSTED_PROXIES", Value: "10.0.0.0/33"},
		programtest.BadSetting{Name: "hash concurrency", Variable: "PASSWORD_HASH_CONCURRENCY", Value: "0"},
		programtest.BadSetting{Name: "key propagation", Variable: "KEY_PROPAGATION", Value: "25h"},
		programtest.BadSetting{Name: "key propagation of nothing", Variable: "KEY_PROPAGATION", Value: "0s"},
		programtest.BadSetting{Name: "https with the development secrets", Variable: "PUBLIC_URL", Value: "https://platform.example"},
	))
}

// TestRequestsAreTraced checks that the server gives every request a span
// named by its route and a request id.
func TestRequestsAreTraced(t *testing.T) {
	programtest.TracesRequests(t, run, "scs-users", "users", "/users/login", shutdownTimeout)
}

func TestHealthcheckCommand(t *testing.T) {
	programtest.Healthchecks(t, run, "scs-users", "users", shutdownTimeout)
}

func TestUnknownCommand(t *testing.T) {
	programtest.RefusesUnknownCommand(t, run, "scs-users")
}

// start runs the program with env on a free port and waits until it answers.
func start(t *testing.T, env map[string]string) *programtest.Process {
	t.Helper()
	return programtest.Start(t, run, "scs-users", env)
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// client is a browser without a browser: cookies, and forms sent as from the
// site itself.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (c *client) form(path string, kv ...string) {
	c.t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("POST %s ended at %d", path, resp.StatusCode)
	}
}

func (c *client) logIn(email string) {
	c.t.Helper()
	c.form("/users/login", "email", email, "password", "correct horse battery staple")
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
