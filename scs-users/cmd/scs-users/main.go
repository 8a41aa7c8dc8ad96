// Command scs-users runs the account system: its pages under /users/, its
// outbox relay, the event feed from which other systems fill an empty replica,
// and the consumer of users.from-chat (reports for the moderation queue).
//
// Besides serving, it has commands for operators:
//
//	scs-users admin grant EMAIL     make the account an admin (the first admin)
//	scs-users admin revoke EMAIL    make an admin a user again
//	scs-users keys list             the signing keys and their windows
//	scs-users keys rotate           a new signing key now, with an overlap
//	scs-users keys revoke KID       end a leaked key at once
//	scs-users eventkey              the public key chat and cards pin (USERS_EVENT_KEYS)
//	scs-users eventkey resign OLD   after a rotation, the stored history signed again with the new key
//	scs-users deadletters list|replay
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
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/runtime/serve"
	"github.com/scs-platform/shared-events/runtime/telemetry"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/config"
	"github.com/scs-platform/scs-users/internal/migrations"
	"github.com/scs-platform/scs-users/internal/moderation"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/scs-users/internal/signing"
	"github.com/scs-platform/scs-users/internal/web"
)

// system is this system's name: the owner of its events and the component of
// its migrations.
const system = "users"

// shutdownTimeout bounds the time from a stop signal to the end of run.
const shutdownTimeout = 10 * time.Second

// maxHashWait is how long a login or a sign-up waits for one of the
// PASSWORD_HASH_CONCURRENCY slots before it is answered 503, try again.
const maxHashWait = 10 * time.Second

// usage is the command line, for a command it does not understand.
const usage = "usage: scs-users [healthcheck | eventkey [resign OLD_KEYS] | admin grant|revoke EMAIL | keys list|rotate|revoke KID | deadletters list|replay]"

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
	logger := cfg.NewLogger(stderr).With("system", system)
	if len(args) > 1 {
		switch args[1] {
		case "healthcheck":
			return serve.Healthcheck(ctx, cfg.HTTPAddr)
		case "eventkey":
			return outbox.EventKeyCommand(ctx, args[2:], system, cfg.EventSigner, cfg.DatabaseURL, stdout,
				func(msg string) error { return serve.UsageError(msg) })
		case "deadletters":
			return deadletter.Command(ctx, args[2:], cfg.AMQPURL, []string{topology.Queue(system, "chat")}, stdout, stderr)
		case "admin":
			return adminCommand(ctx, cfg, logger, args[2:], stdout)
		case "keys":
			return keysCommand(ctx, cfg, logger, args[2:], stdout)
		default:
			return serve.UsageError(fmt.Sprintf("unknown command %q; %s", args[1], usage))
		}
	}
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}
	shutdownTracing, err := telemetry.Setup(ctx, "scs-users", telemetry.WithExporter(cfg.TracesExporter),
		telemetry.WithStdout(stdout), telemetry.WithLogger(logger))
	if err != nil {
		return err
	}
	defer telemetry.Flush(ctx, shutdownTracing, logger)
	return serveSystem(ctx, stop, cfg, logger)
}

// parts is scs-users built on its database: what the server and the commands
// share.
type parts struct {
	db         *sqldb.DB
	events     *outbox.Outbox
	hasher     *password.Hasher
	limiter    *ratelimit.Limiter
	accounts   *accounts.Service
	moderation *moderation.Service
	keys       *signing.Keyring
}

// build opens and migrates the database and builds the system on it. The
// caller closes p.db.
func build(ctx context.Context, cfg config.Config, logger *slog.Logger) (*parts, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := migrations.Apply(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	events := outbox.New(db, cfg.EventSigner)
	sealer, err := signing.NewSealer(cfg.KeyEncryptionKey)
	if err != nil {
		db.Close()
		return nil, err
	}
	hasher := password.NewHasher(cfg.Argon2, cfg.HashConcurrency)
	hasher.MaxWait = maxHashWait
	p := &parts{db: db, events: events, hasher: hasher, limiter: ratelimit.New(db)}
	p.accounts = &accounts.Service{
		DB: db, Outbox: events, Hasher: p.hasher, Limiter: p.limiter, Logger: logger,
		Limits: accounts.Limits{LoginPerAccount: cfg.LoginPerAccount, LoginPerIP: cfg.LoginPerIP, SignUpPerIP: cfg.SignUpPerIP},
		Policy: accounts.SessionPolicy{Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge},
	}
	p.moderation = &moderation.Service{DB: db, Accounts: p.accounts}
	p.keys = &signing.Keyring{DB: db, Outbox: events, Sealer: sealer, Lifetime: cfg.KeyLifetime,
		Propagation: cfg.KeyPropagation, TokenTTL: cfg.TokenTTL, Logger: logger}
	return p, nil
}

// serveSystem builds the system and runs it until ctx ends, then shuts down
// within shutdownTimeout. RabbitMQ need not be up: pages are served, /readyz
// says what is missing, and the broker runners keep reconnecting.
func serveSystem(ctx context.Context, stop func(), cfg config.Config, logger *slog.Logger) error {
	p, err := build(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer p.db.Close()
	if err := p.keys.Ensure(ctx); err != nil {
		return err
	}
	logger.Info("database ready", "database", p.db.URL, "dialect", p.db.Dialect)

	relay := &outbox.Relay{
		Outbox: p.events,
		Owner:  system,
		Broker: &broker.Runner{URL: cfg.AMQPURL, Name: system + "-relay", Logger: logger},
		Logger: logger,
	}
	// Chat has no feed yet: a users database that starts empty has no reports
	// to catch up on that it could still act on.
	fromChat := &consumer.Consumer{
		DB:       p.db,
		Name:     system,
		Owner:    "chat",
		Handlers: moderation.Handlers(),
		Keys:     cfg.ChatEventKeys,
		Broker:   &broker.Runner{URL: cfg.AMQPURL, Name: system + "-from-chat", Logger: logger},
		Logger:   logger,
		Prefetch: cfg.AMQPPrefetch,
	}
	durations := health.NewRequestDurations(routing.Pattern)
	registry, err := health.NewRegistry(p.events, relay, fromChat, durations, p.hasher)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// Every request in a span of its own and with a request id, for the
	// traces and the log lines written on its behalf.
	srv := serve.NewServer(telemetry.Handler(web.Routes(web.Deps{
		Logger: logger,
		Ready: health.Ready(health.Database(p.db), health.Relay(relay), health.Broker(fromChat.Broker),
			health.Outbox(p.events, health.MaxOutboxAge)),
		Metrics:        health.Metrics(registry),
		Durations:      durations,
		Feed:           feed.Handler(p.events, cfg.EventSigner, logger, cfg.FeedTokens...),
		Accounts:       p.accounts,
		Moderation:     p.moderation,
		Keys:           p.keys,
		Cookies:        web.NewCookies(cfg.PublicURL, cfg.TokenTTL),
		TrustedProxies: cfg.TrustedProxies,
	})), logger)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(), "broker", broker.Redact(cfg.AMQPURL),
		"argon2_memory_kib", cfg.Argon2.MemoryKiB, "argon2_iterations", cfg.Argon2.Iterations, "hash_concurrency", cfg.HashConcurrency)
	program := serve.Program{
		Server:   srv,
		Listener: ln,
		Workers: []serve.Worker{
			{Name: "the outbox relay", Run: relay.Run},
			{Name: "the chat consumer", Run: fromChat.Run},
			{Name: "the signing keys", Run: p.keys.Run},
			{Name: "the housekeeping", Run: housekeeping(p, cfg, logger)},
		},
		ShutdownTimeout: shutdownTimeout,
		Logger:          logger,
	}
	// Once ctx ends, a second Ctrl-C kills the process at once.
	return program.Run(ctx, stop)
}

// sweepEvery is how often ended sessions and drained rate-limit buckets are
// deleted.
const sweepEvery = 10 * time.Minute

// housekeeping deletes what has served its time: sessions that ended a week
// ago, and rate-limit buckets that have drained.
func housekeeping(p *parts, cfg config.Config, logger *slog.Logger) func(context.Context) error {
	// A bucket untouched for as long as its fullest level takes to drain is
	// empty, whatever its rate.
	var drain time.Duration
	for _, r := range []ratelimit.Rate{cfg.LoginPerAccount, cfg.LoginPerIP, cfg.SignUpPerIP} {
		// Burst × Every can pass what a Duration holds (a million a day);
		// nothing needs to be kept for longer than a year.
		const longest = 365 * 24 * time.Hour
		if r.Every > 0 && time.Duration(r.Burst) > longest/r.Every {
			drain = longest
			continue
		}
		drain = max(drain, time.Duration(r.Burst)*r.Every)
	}
	return func(ctx context.Context) error {
		t := time.NewTicker(sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			sessions, err := p.accounts.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				logger.Warn("sweep sessions", "err", err)
			}
			buckets, err := p.limiter.Sweep(ctx, drain)
			if err != nil && ctx.Err() == nil {
				logger.Warn("sweep rate limits", "err", err)
			}
			if sessions+buckets > 0 {
				logger.Info("housekeeping", "sessions_deleted", sessions, "buckets_deleted", buckets)
			}
		}
	}
}
