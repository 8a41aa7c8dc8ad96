package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestRun runs the whole program on a small scale against the local broker and
// checks the report it writes and that it removes what it declared.
func TestRun(t *testing.T) {
	amqpURL := servicetest.AMQPURL(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		servicetest.Unavailable(t, "rabbitmqctl (the chat benchmarks make virtual hosts)", err)
	}
	postgresURL := servicetest.PostgresURL(t)
	if _, err := exec.LookPath("caddy"); err != nil {
		servicetest.Unavailable(t, "caddy (the front door of the page benchmark)", err)
	}
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string {
		switch name {
		case "AMQP_URL":
			return amqpURL
		case "POSTGRES_URL":
			return postgresURL
		}
		return ""
	}
	args := []string{"-n", "300", "-warmup", "20", "-batch", "5", "-rate", "200", "-lag-duration", "500ms",
		"-login-clients", "3", "-login-duration", "300ms", "-users-dir", "../../../scs-users",
		"-chat-dir", "../../../scs-chat", "-matcher-ops", "300", "-matcher-allpairs-ops", "3",
		"-live-conns", "20", "-live-rate", "200", "-live-low-rate", "100", "-live-duration", "300ms", "-live-senders", "4", "-live-saturation", "300ms",
		"-cross-pairs", "5", "-cross-rate", "100", "-cross-duration", "300ms",
		"-cards-dir", "../../../scs-cards", "-cards-clients", "4", "-cards-duration", "300ms", "-cards-transactions", "25", "-cards-overviews", "10",
		"-pages-users", "2", "-pages-rate", "100", "-pages-duration", "300ms", "-pages-clients", "4", "-pages-saturation", "300ms",
		"-caddyfile", "../../../deploy/Caddyfile",
		"-out", out}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, args, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr is not empty:\n%s", stderr.String())
	}
	for _, want := range []string{"(a) raw broker", "(b) ours, 1 event per transaction", "(b) ours, 5 events per transaction", "b/a = "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}

	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(body)
	for _, want := range []string{
		"# Benchmarks\n",
		"- Command: `cd e2e && go run ./cmd/bench -n 300 ",
		"- Machine: ",
		"- RabbitMQ: RabbitMQ 3.",
		"- SQLite: SQLite 3.",
		"\n## Replication: ours vs the raw broker\n",
		"| events/s (b) / (a) ≥ 60% | ",
		"| lag p50 (b) − p50 (a) ≤ 5.00 ms | ",
		"| (a) raw broker | ",
		"| (b) ours, 1 event per transaction | ",
		"| (b) ours, 5 events per transaction | ",
		"- Lag: 100 events paced by a ticker at 200/s",
		"\n## Logins: argon2id with a bounded number of hashes\n",
		"| Hashes at once | Logins/s |",
		" (ours: the CPU count) | ",
		"| 3 (no bound) | ",
		"3 users signed up, then 3 clients",
		"\n## Matcher: spatial index vs the all-pairs scan\n",
		"| all-pairs ÷ index at n=10,000 ≥ 1,000× | ",
		"| index p99 at n=100,000 ≤ 50 µs | ",
		"| 100,000 | ",
		"-benchtime 300x ./internal/matching/`",
		"\n## Live delivery on one instance (SQLite)\n",
		"| memory per idle connection at 10,000 ≤ 30 KiB | ",
		" at 20 | not at the target's scale |",
		"| paced at 200/s (took ",
		"| paced at 100/s (took ",
		"| saturation: 4 closed-loop senders for ",
		"\n## Cross-instance delivery vs same-instance\n",
		"**Cross-instance adds ",
		"| same instance (both members on 1) | 30 | 30 | 0 | ",
		"| cross-instance (A on 1, B on 2) | 30 | 30 | 0 | ",
		"the cross-instance chat benchmark's",
		"\n## Card authorisations and the overview\n",
		"| SQLite | ",
		"| PostgreSQL | ",
		"| PostgreSQL, commits not waiting for the WAL flush | ",
		"an account with 25 transactions",
		"\n## Pages through the front door\n",
		"2 users signed up through the front door",
		"| front door | 100/s for 300ms | ",
		"| direct | 100/s for 300ms | ",
		"| path | front door | users | chat | cards | load generator | all |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	// The chat benchmarks remove their virtual hosts and database.
	vhosts, err := exec.Command("rabbitmqctl", "list_vhosts", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_vhosts: %v: %s", err, vhosts)
	}
	for _, m := range regexp.MustCompile(`virtual host (bench-chat-[a-z0-9]+)`).FindAllStringSubmatch(stdout.String(), -1) {
		if strings.Contains(string(vhosts), m[1]) {
			t.Errorf("the run left its virtual host %s behind", m[1])
		}
	}
	if db := regexp.MustCompile(`database (bench_chat_[a-z0-9]+)`).FindStringSubmatch(stdout.String()); db == nil {
		t.Errorf("stdout names no database:\n%s", stdout.String())
	} else {
		admin, err := sqldb.Open(ctx, postgresURL)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, db[1]).Scan(&n); err != nil || n != 0 {
			t.Errorf("the run left its database %s behind (%d, %v)", db[1], n, err)
		}
	}

	owner := regexp.MustCompile(`owner (bench[a-z0-9]+);`).FindStringSubmatch(stdout.String())
	if owner == nil {
		t.Fatalf("stdout names no owner:\n%s", stdout.String())
	}
	conn := servicetest.AMQP(t)
	for _, probe := range []func(ch *amqp.Channel) error{
		func(ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive(owner[1]+".events", "topic", true, false, false, false, nil)
		},
		func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive("benchraw"+strings.TrimPrefix(owner[1], "bench")+".from-"+owner[1], true, false, false, false, nil)
			return err
		},
		func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive("benchreplica"+strings.TrimPrefix(owner[1], "bench")+".from-"+owner[1], true, false, false, false, nil)
			return err
		},
	} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if err := probe(ch); err == nil {
			t.Errorf("the run left its exchange or a queue behind (owner %s)", owner[1])
			ch.Close()
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, cfg config)
	}{
		{name: "defaults", check: func(t *testing.T, cfg config) {
			if cfg.AMQPURL != defaultAMQPURL || cfg.Events != 20000 || cfg.Rate != 500 || cfg.LagDuration != 10*time.Second ||
				cfg.Window != 256 || cfg.Prefetch != 200 || cfg.Out != "../BENCHMARKS.md" || cfg.BatchSize != 10 {
				t.Errorf("defaults = %+v", cfg)
			}
			if cfg.ChatDir != "../scs-chat" || cfg.MatcherOps != 100000 || cfg.MatcherAllPairsOps != 200 || cfg.LiveConns != 10000 ||
				cfg.LiveRate != 2000 || cfg.LiveLowRate != 1000 || cfg.LiveDuration != 10*time.Second || cfg.LiveSenders != 64 || cfg.LiveSaturation != 5*time.Second ||
				cfg.CrossPairs != 100 || cfg.CrossRate != 500 || cfg.CrossDuration != 10*time.Second {
				t.Errorf("chat defaults = %+v", cfg)
			}
			if got := cfg.lagEvents(); got != 5000 {
				t.Errorf("lagEvents = %d, want 5000", got)
			}
		}},
		{name: "environment", env: map[string]string{"AMQP_URL": "amqp://u:p@broker:5672/", "POSTGRES_URL": "postgres://db/x"},
			check: func(t *testing.T, cfg config) {
				if cfg.AMQPURL != "amqp://u:p@broker:5672/" || cfg.PostgresURL != "postgres://db/x" {
					t.Errorf("cfg = %+v", cfg)
				}
			}},
		{name: "flag beats environment", args: []string{"-amqp-url", "amqp://flag/"}, env: map[string]string{"AMQP_URL": "amqp://env/"},
			check: func(t *testing.T, cfg config) {
				if cfg.AMQPURL != "amqp://flag/" {
					t.Errorf("AMQPURL = %q", cfg.AMQPURL)
				}
			}},
		{name: "bad broker URL", env: map[string]string{"AMQP_URL": "http://broker"}, wantErr: "AMQP_URL"},
		{name: "zero events", args: []string{"-n", "0"}, wantErr: "-n must be positive"},
		{name: "zero rate", args: []string{"-rate", "0"}, wantErr: "-rate must be"},
		{name: "short lag run", args: []string{"-lag-duration", "1ms"}, wantErr: "-lag-duration"},
		{name: "stray argument", args: []string{"now"}, wantErr: "unexpected arguments: now"},
		{name: "negative login clients", args: []string{"-login-clients", "-1"}, wantErr: "-login-clients"},
		{name: "short login run", args: []string{"-login-duration", "1ms"}, wantErr: "-login-duration"},
		{name: "negative matcher ops", args: []string{"-matcher-ops", "-1"}, wantErr: "-matcher-ops"},
		{name: "no all-pairs ops", args: []string{"-matcher-allpairs-ops", "0"}, wantErr: "-matcher-allpairs-ops"},
		{name: "odd live connections", args: []string{"-live-conns", "101"}, wantErr: "-live-conns must be 0 or an even number"},
		{name: "too many live connections", args: []string{"-live-conns", "40000"}, wantErr: "-live-conns"},
		{name: "zero live rate", args: []string{"-live-rate", "0"}, wantErr: "-live-rate"},
		{name: "negative low rate", args: []string{"-live-low-rate", "-5"}, wantErr: "-live-low-rate"},
		{name: "no live senders", args: []string{"-live-senders", "0"}, wantErr: "-live-senders"},
		{name: "short saturation run", args: []string{"-live-saturation", "1ms"}, wantErr: "-live-saturation"},
		{name: "negative cross pairs", args: []string{"-cross-pairs", "-1"}, wantErr: "-cross-pairs"},
		{name: "short cross run", args: []string{"-cross-duration", "1ms"}, wantErr: "-cross-duration"},
		{name: "chat sections skipped", args: []string{"-matcher-ops", "0", "-matcher-allpairs-ops", "0", "-live-conns", "0", "-cross-pairs", "0"},
			check: func(t *testing.T, cfg config) {
				if cfg.MatcherOps != 0 || cfg.LiveConns != 0 || cfg.CrossPairs != 0 {
					t.Errorf("cfg = %+v", cfg)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, env(tt.env), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestPercentile(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"median of 100", sorted, 50, 50 * time.Millisecond},
		{"p99 of 100", sorted, 99, 99 * time.Millisecond},
		{"p100 of 100", sorted, 100, 100 * time.Millisecond},
		{"median of 1", sorted[:1], 50, time.Millisecond},
		{"p99 of 3", sorted[:3], 99, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
}

func TestPaceKeepsTheRate(t *testing.T) {
	const rate, total = 1000, 300
	start := time.Now()
	var times []time.Duration
	err := pace(context.Background(), rate, total, func(i int) error {
		if i != len(times) {
			t.Fatalf("send(%d) after %d sends", i, len(times))
		}
		times = append(times, time.Since(start))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != total {
		t.Fatalf("sent %d, want %d", len(times), total)
	}
	// Event i is due at i ms; it may go late, never early.
	for i, at := range times {
		if due := time.Duration(i) * time.Millisecond; at < due {
			t.Fatalf("event %d went at %s, before it was due at %s", i, at, due)
		}
	}
	// Due at 299 ms; the bound is loose for a machine under load and still
	// catches a pace far below its rate.
	if took := times[total-1]; took > 5*time.Second {
		t.Errorf("%d events at %d/s took %s", total, rate, took)
	}
}

func TestTrackerCountsBatchesAndTimesOut(t *testing.T) {
	tr := newTracker(newClock())
	tr.expect(3, true)
	tr.arrived(int64(5*time.Millisecond), int64(time.Millisecond), int64(2*time.Millisecond))
	tr.arrived(int64(9*time.Millisecond), int64(8*time.Millisecond))
	lastAt, lags, err := tr.wait(context.Background(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastAt != int64(9*time.Millisecond) {
		t.Errorf("lastAt = %d", lastAt)
	}
	want := []time.Duration{4 * time.Millisecond, 3 * time.Millisecond, time.Millisecond}
	if len(lags) != len(want) {
		t.Fatalf("lags = %v, want %v", lags, want)
	}
	for i := range want {
		if lags[i] != want[i] {
			t.Errorf("lags = %v, want %v", lags, want)
		}
	}

	tr.expect(2, false)
	tr.arrived(1, 0)
	if _, _, err := tr.wait(context.Background(), 20*time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "only 1 of 2") {
		t.Errorf("err = %v, want a timeout naming 1 of 2", err)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.6: "1,000", 12345.4: "12,345", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderBenchmarksKeepsEverySection(t *testing.T) {
	info := runInfo{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Command: "make bench", Took: 61 * time.Second,
		Machine: machine{CPUs: 2, CPUModel: "AMD EPYC", Memory: "23.5 GiB", OS: "linux/amd64", Load: "0.50", Go: "go1.26.0",
			RabbitMQ: "RabbitMQ 3.10.8", SQLite: "SQLite 3.50.0", Postgres: "PostgreSQL 15.2"}}
	got := renderBenchmarks(info, []section{{"One", "first\n"}, {"Two", "second\n"}})
	for _, want := range []string{
		"- Command: `make bench` (the run took 1m1s)\n",
		"- Date: 2026-01-02 03:04 UTC\n",
		"- Machine: 2 CPUs (nproc), AMD EPYC, 23.5 GiB memory, linux/amd64; load average 0.50 at the start\n",
		"\n## One\n\nfirst\n\n## Two\n\nsecond\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
