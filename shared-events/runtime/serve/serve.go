// Package serve runs a system's HTTP server next to its background workers (the
// outbox relay, the consumers) until the system is told to stop, and then shuts
// all of them down within a bounded time. It is the part of every system's
// main that is the same everywhere; what a system builds stays in its main.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/runtime/runtimeconfig"
)

// Worker is a background loop that runs until its context ends.
type Worker struct {
	// Name says what stopped late, such as "the outbox relay".
	Name string
	// Run returns once ctx is done.
	Run func(ctx context.Context) error
}

// Program is a system's HTTP server and its workers.
type Program struct {
	// Server serves Listener.
	Server   *http.Server
	Listener net.Listener
	// Workers run while the server serves.
	Workers []Worker
	// ShutdownTimeout bounds the time from the end of ctx to the end of Run.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Run serves and runs the workers until ctx ends or the server fails. Then it
// calls stop, so that a second interrupt kills the process at once, and waits
// at most ShutdownTimeout for the server to drain and the workers to return.
// A clean stop returns nil.
func (p Program) Run(ctx context.Context, stop func()) error {
	// The workers stop also when the server fails, not only when ctx ends.
	workCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	done := make([]chan struct{}, len(p.Workers))
	for i, w := range p.Workers {
		done[i] = make(chan struct{})
		go func() { defer close(done[i]); _ = w.Run(workCtx) }()
	}
	served := make(chan error, 1)
	go func() { served <- p.Server.Serve(p.Listener) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stop()
	stopWorkers()
	p.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.ShutdownTimeout)
	defer cancel()
	if err := p.Server.Shutdown(shutdownCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shut down HTTP: %w", err))
	}
	var late []string
	for i, w := range p.Workers {
		select {
		case <-done[i]:
			continue
		case <-shutdownCtx.Done():
		}
		// Both may be ready at once; only a worker still running is late.
		select {
		case <-done[i]:
		default:
			late = append(late, w.Name)
		}
	}
	if len(late) > 0 {
		return errors.Join(serveErr, fmt.Errorf("%s did not stop within %s", strings.Join(late, " and "), p.ShutdownTimeout))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	p.Logger.Info("stopped")
	return nil
}

// UsageError is a command line the program does not understand.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Report prints err as one line prefixed with the program's name and returns the
// exit status: 0 after a help text, 2 for a usage or configuration error (the
// operator must change something before trying again), 1 otherwise.
func Report(program string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, program+": "+strings.ReplaceAll(err.Error(), "\n", "; "))
	var cfgErr *runtimeconfig.Error
	var usage UsageError
	var dbErr *sqldb.ConfigError
	if errors.As(err, &cfgErr) || errors.As(err, &usage) || errors.As(err, &dbErr) {
		return 2
	}
	return 1
}

// NewServer is the HTTP server every system runs handler in. Its reads are
// bounded (a client that sends its headers or its body slowly, or idles on a
// kept-alive connection, does not hold a connection for ever); writes are not,
// because a page's handler bounds its own work and a websocket, which Go
// hands over without deadlines, bounds each write itself. The server's own
// complaints (a TLS handshake that failed, a panic) go to logger as warnings.
func NewServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
