// Package servicetest gives tests the real services they run against: RabbitMQ,
// PostgreSQL and SQLite. When a service does not answer, a test is skipped on a
// laptop but fails under CI=true, so that CI never passes by skipping.
//
// Every test that uses the broker does so in a virtual host of its own
// (AMQPURL). TEST_AMQP_URL and TEST_POSTGRES_URL override the local defaults.
package servicetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/eventing/provision"
)

// Default addresses of the services on a development machine.
const (
	DefaultAMQPURL     = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Unavailable skips the test, or fails it under CI=true.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but does not answer: %v", service, err)
	}
	t.Skipf("%s does not answer (%v); skipping (under CI=true this fails)", service, err)
}

// BrokerURL returns the broker's URL, in its default virtual host "/", after
// checking that it accepts a connection. Only a test that makes virtual hosts
// of its own with provision (and the systems' users in them) takes it, as the
// base of their URLs; every other test takes AMQPURL. The check that no test
// works in "/" (TestNoTestWorksInTheBrokersDefaultVirtualHost) holds to this.
func BrokerURL(t testing.TB) string {
	t.Helper()
	u := env("TEST_AMQP_URL", DefaultAMQPURL)
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
	if err != nil {
		Unavailable(t, "RabbitMQ at "+u, err)
	}
	conn.Close()
	return u
}

// AMQPURL returns the URL of the test's own virtual host on the broker, made
// with provision when the test first asks and deleted, with everything in it,
// when the test ends: the test declares the systems' real exchange and queue
// names there without meeting another test's, or those of a platform that
// make run keeps on the same broker. Every call in one test (or subtest)
// returns the same virtual host. It needs rabbitmqctl, as make run and the e2e
// platform do; without it the test is skipped, or fails under CI=true.
func AMQPURL(t testing.TB) string {
	t.Helper()
	vhosts.mu.Lock()
	u, ok := vhosts.byTest[t]
	vhosts.mu.Unlock()
	if ok {
		return u
	}
	base := BrokerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rabbitmqctlAvailable(); err != nil {
		Unavailable(t, "rabbitmqctl (to make the test a virtual host of its own)", err)
	}
	p, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_AMQP_URL: %v", err)
	}
	name := vhostName(t.Name())
	if err := provision.AddVHostFor(ctx, name, p.User.Username()); err != nil {
		t.Fatalf("make the test's virtual host: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := provision.DeleteVHost(ctx, name); err != nil {
			t.Errorf("delete the test's virtual host: %v", err)
		}
		vhosts.mu.Lock()
		delete(vhosts.byTest, t)
		vhosts.mu.Unlock()
	})
	p.Path, p.RawPath = "/"+name, ""
	u = p.String()
	vhosts.mu.Lock()
	vhosts.byTest[t] = u
	vhosts.mu.Unlock()
	return u
}

// rabbitmqctlAvailable is provision.Available, asked once per test binary: each
// rabbitmqctl call starts an Erlang VM.
var rabbitmqctlAvailable = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return provision.Available(ctx)
})

// vhosts are the virtual hosts of the tests running now.
var vhosts = struct {
	mu     sync.Mutex
	byTest map[testing.TB]string
}{byTest: map[testing.TB]string{}}

// vhostName is a fresh virtual host name that says which test made it, should
// one outlive its test (a test binary killed by its timeout).
func vhostName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case b.Len() >= 40:
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return "test-" + b.String() + "-" + strings.ToLower(rand.Text()[:8])
}

// AMQP returns a connection to the test's own virtual host (see AMQPURL),
// closed when the test ends.
func AMQP(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(AMQPURL(t))
	if err != nil {
		t.Fatalf("dial RabbitMQ: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Owner returns a fresh owner name in the test's own virtual host (see
// AMQPURL), so that the owners of one test never share events either. Its
// exchange is declared, as the owner's relay would, because consumers only
// check that it exists; it goes with the virtual host.
func Owner(t testing.TB) string {
	t.Helper()
	owner := "t" + strings.ToLower(rand.Text()[:10])
	ch, err := AMQP(t).Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	if err := ch.ExchangeDeclare(owner+".events", amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Fatalf("declare the exchange of owner %s: %v", owner, err)
	}
	_ = ch.Close()
	return owner
}

// Backend is a database the store suites run against.
type Backend struct {
	Name string
	Open func(t testing.TB) *sqldb.DB
}

// Backends lists SQLite and PostgreSQL, for tests that run once per backend.
func Backends() []Backend {
	return []Backend{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// SQLite opens a fresh SQLite file in the test's temporary directory.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates an empty database for the test, dropped when it ends, and
// returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := env("TEST_POSTGRES_URL", DefaultPostgresURL)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		Unavailable(t, "PostgreSQL at "+redact(base), err)
	}
	name := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a fresh PostgreSQL database for the test.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := sqldb.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Eventually polls cond every few milliseconds until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("%q", "(unparseable)")
	}
	return p.Redacted()
}

// LoopbackAddrs checks that the machine can listen on each of addrs (such as
// 127.0.0.2), for tests that tell parties apart by their addresses; it skips
// the test, or fails it under CI=true, where the loopback has only 127.0.0.1
// (macOS without aliases).
func LoopbackAddrs(t testing.TB, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
		if err != nil {
			Unavailable(t, "the loopback address "+a, err)
		}
		ln.Close()
	}
}

// SignedFeed serves src's events as an owner's feed does, each signed by
// signer: a stand-in for an owner's outbox (which signs as it stores), or, with
// another key, for a feed that is not the owner's.
func SignedFeed(src feed.Source, signer *eventsig.Signer) feed.Source { return signedFeed{src, signer} }

type signedFeed struct {
	src    feed.Source
	signer *eventsig.Signer
}

func (f signedFeed) Read(ctx context.Context, after int64, limit int) ([]cloudevent.Event, int64, error) {
	events, head, err := f.src.Read(ctx, after, limit)
	if err != nil {
		return nil, 0, err
	}
	signed := make([]cloudevent.Event, len(events))
	for i, ev := range events {
		if signed[i], err = f.signer.Sign(ev); err != nil {
			return nil, 0, err
		}
	}
	return signed, head, nil
}

// DefaultVHost reports whether amqpURL reaches the default virtual host "/" of
// a broker on this machine's AMQP port, where the platform of make run or
// another test may be: a test never works there (see AMQPURL). A URL of port 1,
// which the tests use for a broker that is down, does not.
func DefaultVHost(amqpURL string) bool {
	u, err := url.Parse(amqpURL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
	default:
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"amqp": "5672", "amqps": "5671"}[u.Scheme]
	}
	return (port == "5672" || port == "5671") && (u.Path == "" || u.Path == "/")
}
