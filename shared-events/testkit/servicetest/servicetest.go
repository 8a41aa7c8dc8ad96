// Package servicetest gives tests the real services they run against: RabbitMQ,
// PostgreSQL and SQLite. When a service does not answer, a test is skipped on a
// laptop but fails under CI=true, so that CI never passes by skipping.
//
// TEST_AMQP_URL and TEST_POSTGRES_URL override the local defaults.
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
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
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

// AMQPURL returns the broker's URL after checking that it accepts a connection.
func AMQPURL(t testing.TB) string {
	t.Helper()
	u := env("TEST_AMQP_URL", DefaultAMQPURL)
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
	if err != nil {
		Unavailable(t, "RabbitMQ at "+u, err)
	}
	conn.Close()
	return u
}

// AMQP returns a connection to the broker, closed when the test ends.
func AMQP(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(AMQPURL(t))
	if err != nil {
		t.Fatalf("dial RabbitMQ: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Owner returns an owner name no other test uses, so that tests running at the
// same time in other packages never see each other's events. Its exchange is
// declared, as the owner's relay would, because consumers only check that it
// exists; it and the queues of every consumer of it are deleted when the test
// ends.
func Owner(t testing.TB, consumers ...string) string {
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
	t.Cleanup(func() {
		conn, err := amqp.Dial(env("TEST_AMQP_URL", DefaultAMQPURL))
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		for _, c := range consumers {
			q := c + ".from-" + owner
			_, _ = ch.QueueDelete(q, false, false, false)
			_, _ = ch.QueueDelete(q+".dead", false, false, false)
			// The consumer's dead-letter exchange serves all its owners, including
			// those of tests still running: it stays.
		}
		_ = ch.ExchangeDelete(owner+".events", false, false)
	})
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
