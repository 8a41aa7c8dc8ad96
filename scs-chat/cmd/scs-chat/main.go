// Command scs-chat runs WhisperChat: its pages under /chat/, its outbox relay,
// and its replica of scs-users. "scs-chat deadletters list|replay" inspects and
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
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/runtime/serve"
	"github.com/scs-platform/shared-events/runtime/telemetry"

	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/config"
	"github.com/scs-platform/scs-chat/internal/live"
	"github.com/scs-platform/scs-chat/internal/migrations"
	"github.com/scs-platform/scs-chat/internal/web"
)

// system is this system's name: the owner of its events, the consumer name in
// its queues, the component of its migrations.
const system = "chat"

// shutdownTimeout bounds the time from a stop signal to the end of run.
const shutdownTimeout = 10 * time.Second

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		os.Exit(serve.Report("scs-chat", err, os.Stderr))
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
			return serve.UsageError(fmt.Sprintf("unknown command %q; usage: scs-chat [healthcheck | eventkey [resign OLD_KEYS] | deadletters list|replay]", args[1]))
		}
	}
	logger := cfg.NewLogger(stderr).With("system", system)
	shutdownTracing, err := telemetry.Setup(ctx, "scs-chat", telemetry.WithExporter(cfg.TracesExporter),
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
	// The hub passes live frames between the instances through the broker; the
	// chat hands it what happened.
	svc := &chat.Service{
		DB:       db,
		Outbox:   events,
		Logger:   logger,
		Messages: &ratelimit.Memory{Rate: cfg.Messages},
		Grace:    cfg.WaitingGrace,
		MaxWait:  cfg.WaitingMax,
	}
	liveIn := &broker.Runner{URL: cfg.AMQPURL, Name: system + "-live-in", Logger: logger}
	liveOut := &broker.Runner{URL: cfg.AMQPURL, Name: system + "-live-out", Logger: logger}
	hub, err := live.NewHub(live.Config{
		Backend:    web.Backend{Chat: svc},
		Logger:     logger,
		Subscriber: liveIn,
		Publisher:  liveOut,
		// Every instance derives the same key from chat's signing key.
		Key:            cfg.EventSigner.DeriveKey("chat.live"),
		OriginPatterns: []string{cfg.PublicURL.Host},
	})
	if err != nil {
		return err
	}
	svc.Notify = web.Notifier{Hub: hub}
	users := &consumer.Consumer{
		DB:       db,
		Name:     system,
		Owner:    "users",
		Handlers: svc.UsersHandlers(),
		Keys:     cfg.UsersEventKeys,
		Broker:   &broker.Runner{URL: cfg.AMQPURL, Name: system + "-from-users", Logger: logger},
		Logger:   logger,
		Feed:     &feed.Client{URL: cfg.UsersFeedURL, Token: cfg.UsersFeedToken},
		Prefetch: cfg.AMQPPrefetch,
	}
	durations := health.NewRequestDurations(routing.Pattern)
	registry, err := health.NewRegistry(events, relay, users, durations, hub, chat.NewCollector(svc))
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// Where the access watcher starts: before any websocket is served.
	accessSeen, err := svc.LastAccessChange(ctx)
	if err != nil {
		return fmt.Errorf("read the access changes: %w", err)
	}
	shutdown, cancelShutdown := context.WithCancel(context.Background())
	defer cancelShutdown()
	// Every request in a span of its own and with a request id, for the
	// traces and the log lines written on its behalf.
	srv := serve.NewServer(telemetry.Handler(web.Routes(web.Deps{
		Logger:    logger,
		Ready:     health.Ready(health.Database(db), health.Relay(relay), health.Broker(users.Broker, liveIn, liveOut), health.Outbox(events, health.MaxOutboxAge)),
		Metrics:   health.Metrics(registry),
		Durations: durations,
		Chat:      svc,
		Hub:       hub,
		Users:     usersreplica.Store{DB: db},
		Verifier:  usersreplica.NewVerifier(db, authn.Audience(cfg.PublicURL)),
		Cookie:    authn.CookieNameFor(cfg.PublicURL),
		Origin:    authn.Audience(cfg.PublicURL),
		Shutdown:  shutdown,
	})), logger)
	// Websockets are hijacked connections that Shutdown does not wait for:
	// they end when shutdown does.
	srv.RegisterOnShutdown(cancelShutdown)
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
			{Name: "the users consumer", Run: users.Run},
			{Name: "the live hub", Run: hub.Run},
			{Name: "the waiting room sweeper", Run: svc.RunSweeper},
			{Name: "the access watcher", Run: func(ctx context.Context) error { return web.WatchAccess(ctx, svc, hub, logger, accessSeen) }},
		},
		ShutdownTimeout: shutdownTimeout,
		Logger:          logger,
	}
	// Once ctx ends, a second Ctrl-C kills the process at once.
	return program.Run(ctx, stop)
}
