// Command scs-users runs the account system: its pages under /users/, its outbox
// relay, and the event feed from which other systems fill an empty replica.
// "scs-users deadletters list|replay" is there for symmetry with the other
// systems; scs-users consumes no queue yet.
//
// Configuration comes from the environment; see package config.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scs-platform/shared-events/broker"
	"github.com/scs-platform/shared-events/deadletter"
	"github.com/scs-platform/shared-events/feed"
	"github.com/scs-platform/shared-events/health"
	"github.com/scs-platform/shared-events/outbox"
	"github.com/scs-platform/shared-events/serve"
	"github.com/scs-platform/shared-events/sqldb"

	"github.com/scs-platform/scs-users/internal/config"
	"github.com/scs-platform/scs-users/internal/migrations"
	"github.com/scs-platform/scs-users/internal/web"
)

// system is this system's name: the owner of its events and the component of
// its migrations.
const system = "users"

// shutdownTimeout bounds the time from a stop signal to the end of run.
const shutdownTimeout = 10 * time.Second

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		os.Exit(serve.Report("scs-users", err, os.Stderr))
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if len(args) > 1 {
		switch args[1] {
		case "deadletters":
			return deadletter.Command(ctx, args[2:], cfg.AMQPURL, nil, stdout, stderr)
		default:
			return serve.UsageError(fmt.Sprintf("unknown command %q; usage: scs-users [deadletters list|replay]", args[1]))
		}
	}
	return serveSystem(ctx, stop, cfg, cfg.NewLogger(stderr).With("system", system))
}

// serveSystem builds the system and runs it until ctx ends, then shuts down
// within shutdownTimeout. RabbitMQ need not be up: pages are served, /readyz says what is missing, and
// the broker runners keep reconnecting.
func serveSystem(ctx context.Context, stop func(), cfg config.Config, logger *slog.Logger) error {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	events := outbox.New(db)
	if err := events.Migrate(ctx); err != nil {
		return err
	}
	if err := db.Migrate(ctx, system, migrations.FS, "."); err != nil {
		return err
	}
	logger.Info("database ready", "database", db.URL, "dialect", db.Dialect)

	relay := &outbox.Relay{
		Outbox: events,
		Owner:  system,
		Broker: &broker.Runner{URL: cfg.AMQPURL, Name: system + "-relay", Logger: logger},
		Logger: logger,
	}
	durations := health.NewRequestDurations(web.RoutePattern)
	registry, err := health.NewRegistry(events, relay, durations)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{
		Handler: web.Routes(web.Deps{
			Logger:    logger,
			Ready:     health.Ready(health.Database(db), health.Relay(relay), health.Outbox(events, health.MaxOutboxAge)),
			Metrics:   health.Metrics(registry),
			Durations: durations,
			Feed:      feed.Handler(events, logger, cfg.FeedTokens...),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(), "broker", broker.Redact(cfg.AMQPURL))
	program := serve.Program{
		Server:   srv,
		Listener: ln,
		Workers: []serve.Worker{
			{Name: "the outbox relay", Run: relay.Run},
		},
		ShutdownTimeout: shutdownTimeout,
		Logger:          logger,
	}
	// Once ctx ends, a second Ctrl-C kills the process at once.
	return program.Run(ctx, stop)
}
