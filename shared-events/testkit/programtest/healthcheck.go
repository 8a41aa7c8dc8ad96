package programtest

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/runtime/serve"
)

// Healthchecks runs "name healthcheck", the probe of the container image,
// with the environment of a running program: it succeeds; once the program is
// stopped it fails with exit status 1. system names the program's SQLite file.
func Healthchecks(t *testing.T, run RunFunc, name, system string, shutdownTimeout time.Duration) {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), system+".db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/",
	}
	p := Start(t, run, name, env)
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{name, "healthcheck"}, getenv, io.Discard, io.Discard); err != nil {
		t.Errorf("%s healthcheck of a running %s: %v", name, name, err)
	}
	p.Stop(t, shutdownTimeout)
	err := run(context.Background(), []string{name, "healthcheck"}, getenv, io.Discard, io.Discard)
	if err == nil {
		t.Fatalf("%s healthcheck after the program stopped succeeded", name)
	}
	if code := serve.Report(name, err, io.Discard); code != 1 {
		t.Errorf("%s healthcheck of a stopped program: exit status %d, want 1", name, code)
	}
}
