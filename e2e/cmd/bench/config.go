package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Defaults for a development machine; AMQP_URL and POSTGRES_URL override them.
const (
	defaultAMQPURL     = "amqp://guest:guest@127.0.0.1:5672/"
	defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// config is what one run measures and where it writes the results.
type config struct {
	AMQPURL string
	// PostgresURL is the server on which the cross-instance benchmark creates
	// (and drops) a database of its own; the report names its version.
	PostgresURL string
	// Events is N, the number of events of each saturation run.
	Events int
	// BatchSize is the events per owner transaction of the extra batched run
	// (0 skips it).
	BatchSize int
	// Rate and LagDuration pace the lag runs.
	Rate        int
	LagDuration time.Duration
	Warmup      int
	// Window is the publisher's bound on unconfirmed messages, as in outbox.Relay.
	Window int
	// Prefetch is the consumers' broker window, as in consumer.Consumer.
	Prefetch int
	// PhaseTimeout bounds the wait for the events of one phase to arrive.
	PhaseTimeout time.Duration
	// UsersDir is scs-users' module, built for the login benchmark.
	UsersDir string
	// LoginClients log in at once for LoginDuration (0 clients skips it).
	LoginClients  int
	LoginDuration time.Duration
	// ChatDir is scs-chat's module: the matcher's benchmark runs there, and it
	// is built for the live benchmarks.
	ChatDir string
	// MatcherOps and MatcherAllPairsOps are the joins each of the matcher's
	// sub-benchmarks times, for the index and the all-pairs scan (0 index ops
	// skips the matcher section).
	MatcherOps, MatcherAllPairsOps int
	// LiveConns websockets (LiveConns/2 conversations) are opened to one scs-chat
	// on SQLite (0 skips the section); LiveRate messages/s are sent to them for
	// LiveDuration, then LiveSenders closed-loop senders go for LiveSaturation.
	LiveConns int
	LiveRate  int
	// LiveLowRate adds a paced run at that rate, for comparison (0 skips it).
	LiveLowRate    int
	LiveDuration   time.Duration
	LiveSenders    int
	LiveSaturation time.Duration
	// CrossPairs pairs of each kind (same instance, cross-instance) talk through
	// two scs-chat on PostgreSQL (0 skips the section), CrossRate messages/s of
	// each kind for CrossDuration.
	CrossPairs    int
	CrossRate     int
	CrossDuration time.Duration
	// CardsDir is scs-cards' module, built for the card benchmark.
	CardsDir string
	// CardsClients send authorisations at once for CardsDuration (0 skips
	// the card section); the overview is read CardsOverviews times on an
	// account with CardsTransactions transactions.
	CardsClients      int
	CardsDuration     time.Duration
	CardsTransactions int
	CardsOverviews    int
	// PagesUsers sign up through the front door (0 skips the section); their
	// main pages are read at PagesRate per second for PagesDuration, then by
	// PagesClients closed-loop clients for PagesSaturation. Caddy is the
	// front door's binary, Caddyfile its configuration.
	PagesUsers      int
	PagesRate       int
	PagesDuration   time.Duration
	PagesClients    int
	PagesSaturation time.Duration
	Caddy           string
	Caddyfile       string
	// Out is the BENCHMARKS.md to rewrite ("" writes nothing).
	Out string
	// CPUProfile, if set, receives a CPU profile of our path's saturation run.
	CPUProfile string
	// Args are the flags as given, to print the exact command.
	Args []string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{
		AMQPURL:     getenv("AMQP_URL"),
		PostgresURL: getenv("POSTGRES_URL"),
		Args:        args,
	}
	if cfg.AMQPURL == "" {
		cfg.AMQPURL = defaultAMQPURL
	}
	if cfg.PostgresURL == "" {
		cfg.PostgresURL = defaultPostgresURL
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.AMQPURL, "amqp-url", cfg.AMQPURL, "RabbitMQ to measure (env AMQP_URL)")
	fs.StringVar(&cfg.PostgresURL, "postgres-url", cfg.PostgresURL, "PostgreSQL for the cross-instance benchmark's database (env POSTGRES_URL)")
	fs.IntVar(&cfg.Events, "n", 20000, "events per saturation run")
	fs.IntVar(&cfg.BatchSize, "batch", 10, "events per owner transaction in the extra batched run (0 skips it)")
	fs.IntVar(&cfg.Rate, "rate", 500, "events per second of the lag runs")
	fs.DurationVar(&cfg.LagDuration, "lag-duration", 10*time.Second, "length of each lag run")
	fs.IntVar(&cfg.Warmup, "warmup", 500, "events sent and awaited before anything is measured")
	fs.IntVar(&cfg.Window, "window", 256, "unconfirmed publishes in flight (the relay's default)")
	fs.IntVar(&cfg.Prefetch, "prefetch", 200, "consumer prefetch (the consumer's default)")
	fs.DurationVar(&cfg.PhaseTimeout, "phase-timeout", 90*time.Second, "longest wait for the events of one phase")
	fs.StringVar(&cfg.UsersDir, "users-dir", "../scs-users", "scs-users' module directory, built for the login benchmark")
	fs.IntVar(&cfg.LoginClients, "login-clients", 50, "clients logging in at once (0 skips the login benchmark)")
	fs.DurationVar(&cfg.LoginDuration, "login-duration", 10*time.Second, "length of each login run")
	fs.StringVar(&cfg.ChatDir, "chat-dir", "../scs-chat", "scs-chat's module directory, for the matcher's benchmark and the live benchmarks")
	fs.IntVar(&cfg.MatcherOps, "matcher-ops", 100000, "joins timed per room size with the matcher's index (0 skips the matcher benchmark)")
	fs.IntVar(&cfg.MatcherAllPairsOps, "matcher-allpairs-ops", 200, "joins timed per room size with the all-pairs scan")
	fs.IntVar(&cfg.LiveConns, "live-conns", 10000, "websockets to one scs-chat, two per conversation (0 skips the live benchmark)")
	fs.IntVar(&cfg.LiveRate, "live-rate", 2000, "messages per second of the live latency run")
	fs.IntVar(&cfg.LiveLowRate, "live-low-rate", 1000, "messages per second of a second live latency run, for comparison (0 skips it)")
	fs.DurationVar(&cfg.LiveDuration, "live-duration", 10*time.Second, "length of each live latency run")
	fs.IntVar(&cfg.LiveSenders, "live-senders", 64, "closed-loop senders of the live saturation run")
	fs.DurationVar(&cfg.LiveSaturation, "live-saturation", 5*time.Second, "length of the live saturation run")
	fs.IntVar(&cfg.CrossPairs, "cross-pairs", 100, "pairs of each kind, same-instance and cross-instance (0 skips the cross-instance benchmark)")
	fs.IntVar(&cfg.CrossRate, "cross-rate", 500, "messages per second of each kind in the cross-instance run")
	fs.DurationVar(&cfg.CrossDuration, "cross-duration", 10*time.Second, "length of the cross-instance run")
	fs.StringVar(&cfg.CardsDir, "cards-dir", "../scs-cards", "scs-cards' module directory, built for the card benchmark")
	fs.IntVar(&cfg.CardsClients, "cards-clients", 64, "terminal clients authorising at once (0 skips the card benchmark)")
	fs.DurationVar(&cfg.CardsDuration, "cards-duration", 10*time.Second, "length of each authorisation run")
	fs.IntVar(&cfg.CardsTransactions, "cards-transactions", 1000, "transactions on the account whose overview is read")
	fs.IntVar(&cfg.CardsOverviews, "cards-overviews", 1000, "overview requests of each latency run")
	fs.IntVar(&cfg.PagesUsers, "pages-users", 16, "users signed up for the front door's page benchmark (0 skips it)")
	fs.IntVar(&cfg.PagesRate, "pages-rate", 1000, "pages per second of the paced run")
	fs.DurationVar(&cfg.PagesDuration, "pages-duration", 10*time.Second, "length of the paced run")
	fs.IntVar(&cfg.PagesClients, "pages-clients", 64, "closed-loop clients of the saturation run")
	fs.DurationVar(&cfg.PagesSaturation, "pages-saturation", 5*time.Second, "length of the saturation run")
	fs.StringVar(&cfg.Caddy, "caddy", "caddy", "the front door's binary")
	fs.StringVar(&cfg.Caddyfile, "caddyfile", "../deploy/Caddyfile", "the front door's configuration, as compose uses it")
	fs.StringVar(&cfg.Out, "out", "../BENCHMARKS.md", `BENCHMARKS.md to rewrite ("" for none)`)
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of our path's saturation run to this file")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(strings.HasPrefix(cfg.AMQPURL, "amqp://") || strings.HasPrefix(cfg.AMQPURL, "amqps://"),
		"-amqp-url (or AMQP_URL) must be an amqp:// URL")
	check(cfg.Events > 0, "-n must be positive, got %d", cfg.Events)
	check(cfg.BatchSize >= 0, "-batch must not be negative, got %d", cfg.BatchSize)
	check(cfg.Rate > 0 && cfg.Rate <= 100000, "-rate must be between 1 and 100000, got %d", cfg.Rate)
	check(cfg.LagDuration >= 100*time.Millisecond, "-lag-duration must be at least 100ms, got %s", cfg.LagDuration)
	check(cfg.Warmup >= 0, "-warmup must not be negative, got %d", cfg.Warmup)
	check(cfg.Window > 0, "-window must be positive, got %d", cfg.Window)
	check(cfg.Prefetch > 0, "-prefetch must be positive, got %d", cfg.Prefetch)
	check(cfg.PhaseTimeout > 0, "-phase-timeout must be positive, got %s", cfg.PhaseTimeout)
	check(cfg.LoginClients >= 0 && cfg.LoginClients <= 1000, "-login-clients must be between 0 and 1000, got %d", cfg.LoginClients)
	check(cfg.LoginDuration >= 100*time.Millisecond, "-login-duration must be at least 100ms, got %s", cfg.LoginDuration)
	check(cfg.MatcherOps >= 0, "-matcher-ops must not be negative, got %d", cfg.MatcherOps)
	check(cfg.MatcherOps == 0 || cfg.MatcherAllPairsOps > 0, "-matcher-allpairs-ops must be positive, got %d", cfg.MatcherAllPairsOps)
	// Each connection takes a local port on the loopback for the whole run.
	check(cfg.LiveConns == 0 || cfg.LiveConns >= 4 && cfg.LiveConns <= 20000 && cfg.LiveConns%2 == 0,
		"-live-conns must be 0 or an even number from 4 to 20000, got %d", cfg.LiveConns)
	check(cfg.LiveRate > 0 && cfg.LiveRate <= 100000, "-live-rate must be between 1 and 100000, got %d", cfg.LiveRate)
	check(cfg.LiveLowRate >= 0 && cfg.LiveLowRate <= 100000, "-live-low-rate must be between 0 and 100000, got %d", cfg.LiveLowRate)
	check(cfg.LiveDuration >= 100*time.Millisecond, "-live-duration must be at least 100ms, got %s", cfg.LiveDuration)
	check(cfg.LiveSenders > 0, "-live-senders must be positive, got %d", cfg.LiveSenders)
	check(cfg.LiveSaturation >= 100*time.Millisecond, "-live-saturation must be at least 100ms, got %s", cfg.LiveSaturation)
	check(cfg.CrossPairs >= 0 && cfg.CrossPairs <= 2000, "-cross-pairs must be between 0 and 2000, got %d", cfg.CrossPairs)
	check(cfg.CrossRate > 0 && cfg.CrossRate <= 50000, "-cross-rate must be between 1 and 50000, got %d", cfg.CrossRate)
	check(cfg.CrossDuration >= 100*time.Millisecond, "-cross-duration must be at least 100ms, got %s", cfg.CrossDuration)
	check(cfg.CardsClients >= 0 && cfg.CardsClients <= 1000, "-cards-clients must be between 0 and 1000, got %d", cfg.CardsClients)
	check(cfg.CardsDuration >= 100*time.Millisecond, "-cards-duration must be at least 100ms, got %s", cfg.CardsDuration)
	check(cfg.CardsTransactions >= 21, "-cards-transactions must be at least 21 (more than a page), got %d", cfg.CardsTransactions)
	check(cfg.CardsOverviews > 0, "-cards-overviews must be positive, got %d", cfg.CardsOverviews)
	check(cfg.PagesUsers >= 0 && cfg.PagesUsers <= 1000, "-pages-users must be between 0 and 1000, got %d", cfg.PagesUsers)
	check(cfg.PagesRate > 0 && cfg.PagesRate <= 50000, "-pages-rate must be between 1 and 50000, got %d", cfg.PagesRate)
	check(cfg.PagesDuration >= 100*time.Millisecond, "-pages-duration must be at least 100ms, got %s", cfg.PagesDuration)
	check(cfg.PagesClients > 0 && cfg.PagesClients <= 1000, "-pages-clients must be between 1 and 1000, got %d", cfg.PagesClients)
	check(cfg.PagesSaturation >= 100*time.Millisecond, "-pages-saturation must be at least 100ms, got %s", cfg.PagesSaturation)
	return cfg, errors.Join(errs...)
}

// lagEvents is how many events a lag run sends.
func (c config) lagEvents() int {
	return max(1, int(int64(c.Rate)*int64(c.LagDuration)/int64(time.Second)))
}
