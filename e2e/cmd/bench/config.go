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
	// PostgresURL is only asked for its version, for the machine description.
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
	fs.StringVar(&cfg.PostgresURL, "postgres-url", cfg.PostgresURL, "PostgreSQL whose version the report names (env POSTGRES_URL)")
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
	return cfg, errors.Join(errs...)
}

// lagEvents is how many events a lag run sends.
func (c config) lagEvents() int {
	return max(1, int(int64(c.Rate)*int64(c.LagDuration)/int64(time.Second)))
}
