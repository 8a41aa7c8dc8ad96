package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
)

// machine is what the figures were measured on.
type machine struct {
	CPUs     int
	CPUModel string
	Memory   string
	OS       string
	// Load is the one-minute load average when the run started.
	Load     string
	Go       string
	RabbitMQ string
	SQLite   string
	Postgres string
}

// describeMachine reads the hardware from /proc and asks each service for its
// version. The broker must answer; PostgreSQL, which only the cross-instance
// chat benchmark uses, may not (that benchmark then fails on its own).
func describeMachine(ctx context.Context, cfg config) (machine, error) {
	m := machine{
		CPUs:     runtime.NumCPU(),
		CPUModel: procField("/proc/cpuinfo", "model name"),
		Memory:   "unknown",
		OS:       runtime.GOOS + "/" + runtime.GOARCH,
		Load:     loadAverage(),
		Go:       runtime.Version(),
	}
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64); err == nil {
		m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	conn, err := broker.Dial(ctx, cfg.AMQPURL, "bench")
	if err != nil {
		return m, err
	}
	product, _ := conn.Properties["product"].(string)
	version, _ := conn.Properties["version"].(string)
	closeConn(conn)
	m.RabbitMQ = strings.TrimSpace(product + " " + version)

	if m.SQLite, err = sqliteVersion(ctx); err != nil {
		return m, err
	}
	m.Postgres = postgresVersion(ctx, cfg.PostgresURL)
	switch {
	case !strings.HasPrefix(m.Postgres, "PostgreSQL "):
	case cfg.CrossPairs > 0:
		m.Postgres += " (the cross-instance chat benchmark's, on the same machine)"
	default:
		m.Postgres += " (not used by this run)"
	}
	return m, nil
}

// loadAverage is the one-minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func sqliteVersion(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "bench-version-")
	if err != nil {
		return "", fmt.Errorf("sqlite version: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.Open(ctx, filepath.Join(dir, "version.db"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&v); err != nil {
		return "", fmt.Errorf("sqlite version: %w", err)
	}
	return fmt.Sprintf("SQLite %s (modernc.org/sqlite %s)", v, moduleVersion("modernc.org/sqlite")), nil
}

// postgresVersion names the server's version, or says why it could not.
func postgresVersion(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		return "not reachable (" + broker.Redact(url) + ")"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return "PostgreSQL " + v
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}
