// Command scs-cards runs the business card account: its pages under /cards/,
// the merchant terminal's API, the statement and expiry jobs, its outbox relay
// and its replica of scs-users. "scs-cards deadletters list|replay" inspects and
// replays the events its consumer gave up on.
//
// Configuration comes from the environment; see package config.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/deadletter"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/runtime/serve"
	"github.com/scs-platform/shared-events/runtime/telemetry"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/config"
	"github.com/scs-platform/scs-cards/internal/jobs"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/metrics"
	"github.com/scs-platform/scs-cards/internal/migrations"
	"github.com/scs-platform/scs-cards/internal/reactions"
	"github.com/scs-platform/scs-cards/internal/terminal"
	"github.com/scs-platform/scs-cards/internal/web"
)

// system is this system's name: the owner of its events, the consumer name in
// its queues, the component of its migrations.
const system = "cards"

// shutdownTimeout bounds the time from a stop signal to the end of run.
const shutdownTimeout = 10 * time.Second

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		os.Exit(serve.Report("scs-cards", err, os.Stderr))
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
		case "healthcheck":
			return serve.Healthcheck(ctx, cfg.HTTPAddr)
		case "eventkey":
			return outbox.EventKeyCommand(ctx, args[2:], system, cfg.EventSigner, cfg.DatabaseURL, stdout,
				func(msg string) error { return serve.UsageError(msg) })
		case "deadletters":
			queues := []string{topology.Queue(system, "users")}
			return deadletter.Command(ctx, args[2:], cfg.AMQPURL, queues, stdout, stderr)
		default:
			return serve.UsageError(fmt.Sprintf("unknown command %q; usage: scs-cards [healthcheck | eventkey [resign OLD_KEYS] | deadletters list|replay]", args[1]))
		}
	}
	logger := cfg.NewLogger(stderr).With("system", system)
	shutdownTracing, err := telemetry.Setup(ctx, "scs-cards", telemetry.WithExporter(cfg.TracesExporter),
		telemetry.WithStdout(stdout), telemetry.WithLogger(logger))
	if err != nil {
		return err
	}
	defer telemetry.Flush(ctx, shutdownTracing, logger)
	return serveSystem(ctx, stop, cfg, logger)
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
	if err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	events := outbox.New(db, cfg.EventSigner)
	logger.Info("database ready", "database", db.URL, "dialect", db.Dialect)

	relay := &outbox.Relay{
		Outbox: events,
		Owner:  system,
		Broker: &broker.Runner{URL: cfg.AMQPURL, Name: system + "-relay", Logger: logger},
		Logger: logger,
	}
	books := &ledger.Service{
		DB:           db,
		Outbox:       events,
		Currency:     cfg.Currency,
		DefaultLimit: cfg.DefaultLimit.Minor,
		Period:       cfg.StatementPeriod,
		DueDays:      cfg.StatementDueDays,
	}
	holders := &cards.Service{DB: db, Outbox: events, Ledger: books}
	merchant := &terminal.Service{DB: db, Ledger: books, AuthorisationTTL: cfg.AuthorisationTTL}
	users := &consumer.Consumer{
		DB:       db,
		Name:     system,
		Owner:    "users",
		Handlers: reactions.UsersHandlers(holders, books),
		Keys:     cfg.UsersEventKeys,
		Broker:   &broker.Runner{URL: cfg.AMQPURL, Name: system + "-from-users", Logger: logger},
		Logger:   logger,
		Feed:     &feed.Client{URL: cfg.UsersFeedURL, Token: cfg.UsersFeedToken},
		Prefetch: cfg.AMQPPrefetch,
	}
	durations := health.NewRequestDurations(routing.Pattern)
	registry, err := health.NewRegistry(events, relay, users, durations, metrics.NewCollector(merchant, books))
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// Every request in a span of its own and with a request id, for the
	// traces and the log lines written on its behalf.
	srv := serve.NewServer(telemetry.Handler(web.Routes(web.Deps{
		Logger:        logger,
		Ready:         health.Ready(health.Database(db), health.Relay(relay), health.Broker(users.Broker), health.Outbox(events, health.MaxOutboxAge)),
		Metrics:       health.Metrics(registry),
		Durations:     durations,
		Ledger:        books,
		Cards:         holders,
		Terminal:      merchant,
		Verifier:      usersreplica.NewVerifier(db, authn.Audience(cfg.PublicURL)),
		Cookie:        authn.CookieNameFor(cfg.PublicURL),
		Origin:        authn.Audience(cfg.PublicURL),
		TerminalToken: cfg.TerminalToken,
	})), logger)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(), "broker", broker.Redact(cfg.AMQPURL),
		"statement_period", cfg.StatementPeriod.String())
	program := serve.Program{
		Server:   srv,
		Listener: ln,
		Workers: []serve.Worker{
			{Name: "the outbox relay", Run: relay.Run},
			{Name: "the users consumer", Run: users.Run},
			{Name: "the statement and expiry jobs", Run: (&jobs.Runner{Terminal: merchant, Ledger: books, Logger: logger}).Run},
		},
		ShutdownTimeout: shutdownTimeout,
		Logger:          logger,
	}
	// Once ctx ends, a second Ctrl-C kills the process at once.
	return program.Run(ctx, stop)
}
