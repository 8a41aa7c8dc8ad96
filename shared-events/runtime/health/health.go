// Package health serves the three operational endpoints every system answers at
// the root of its own port: GET /healthz (the process lives), GET /readyz (the
// system can do its work: database, broker, outbox) and GET /metrics (Prometheus
// text format). The front door never exposes them.
//
// A system lists its readiness checks and its metric collectors; the wiring,
// the timeouts and the response format are the same everywhere.
package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/outbox"
)

// CheckTimeout bounds every readiness check: an orchestrator polling /readyz wants
// a quick answer, and a database that needs longer than this to answer a ping is
// not ready to serve pages either.
const CheckTimeout = time.Second

// MaxOutboxAge is how old the oldest unsent event may be before the outbox counts
// as stuck.
const MaxOutboxAge = 60 * time.Second

// Check is one named condition of readiness. Probe returns nil when the condition
// holds; its error is shown to the operator, so it says in plain words what is
// wrong.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Pinger is what Database needs: a *sqldb.DB or a *sql.DB.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Database is ready when the database answers a ping.
func Database(db Pinger) Check {
	return Check{Name: "database", Probe: func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("no answer within %s", CheckTimeout)
			}
			return err
		}
		return nil
	}}
}

// Broker is ready when every runner holds a live connection to RabbitMQ. The
// error names the runners that do not.
func Broker(runners ...*broker.Runner) Check {
	return Check{Name: "broker", Probe: func(context.Context) error {
		var down []string
		for _, r := range runners {
			if !r.Connected() {
				if err := r.LastError(); err != nil {
					down = append(down, r.Name+": "+err.Error())
				} else {
					down = append(down, r.Name)
				}
			}
		}
		if len(down) > 0 {
			return fmt.Errorf("not connected (%s)", strings.Join(down, ", "))
		}
		return nil
	}}
}

// Relay is ready while the outbox relay leads and is connected, or stands by
// behind the instance that leads.
func Relay(r *outbox.Relay) Check {
	return Check{Name: "relay", Probe: func(context.Context) error { return r.Ready() }}
}

// Outbox is ready while the oldest unsent event is younger than maxAge. An older
// one means that the relay cannot publish, in this instance or in the one that
// leads: the figures come from the shared database.
func Outbox(o *outbox.Outbox, maxAge time.Duration) Check {
	return Check{Name: "outbox", Probe: func(ctx context.Context) error {
		count, oldest, err := o.Backlog(ctx)
		if err != nil {
			return err
		}
		if count > 0 && oldest >= maxAge {
			return fmt.Errorf("stuck: %d events unsent, the oldest for %s", count, oldest.Round(time.Second))
		}
		return nil
	}}
}

// Live answers 200 "ok" for as long as the process can serve HTTP at all.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
}

// Ready runs every check at once, each within CheckTimeout, and answers 200
// "ready" when all pass, or 503 with one line per failed check
// ("broker: not connected (chat-relay)").
func Ready(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failures := make([]string, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), CheckTimeout)
				defer cancel()
				if err := probe(ctx, c); err != nil {
					failures[i] = c.Name + ": " + strings.ReplaceAll(err.Error(), "\n", "; ")
				}
			})
		}
		wg.Wait()
		var b strings.Builder
		for _, f := range failures {
			if f != "" {
				b.WriteString(f + "\n")
			}
		}
		if b.Len() > 0 {
			writeText(w, http.StatusServiceUnavailable, b.String())
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
}

// probe runs c but gives up at ctx's deadline even if the probe ignores ctx, so
// that one hung dependency cannot hang the readiness answer.
func probe(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Probe(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", CheckTimeout)
	}
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
