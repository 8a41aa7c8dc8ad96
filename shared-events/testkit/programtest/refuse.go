package programtest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/runtime/serve"
)

// BadSetting is one environment variable set to a value the program must refuse.
type BadSetting struct {
	Name, Variable, Value string
}

// CommonBadSettings are values of the variables every system reads
// (runtimeconfig.Base) that every system must refuse; system names its data file
// and prefix, such as "chat".
func CommonBadSettings(system string) []BadSetting {
	return []BadSetting{
		{"database scheme", "DATABASE_URL", "mysql://db/" + system},
		{"sqlite options", "DATABASE_URL", "data/" + system + ".db?_pragma=foo"},
		{"amqp scheme", "AMQP_URL", "http://guest:secret@localhost:5672/"},
		{"public url relative", "PUBLIC_URL", "/" + system},
		{"public url scheme", "PUBLIC_URL", "ftp://example.com"},
		{"http addr no port", "HTTP_ADDR", "localhost"},
		{"http addr bad port", "HTTP_ADDR", ":99999"},
		{"log format", "LOG_FORMAT", "xml"},
		{"traces exporter", "OTEL_TRACES_EXPORTER", "jaeger"},
	}
}

// RefusesBadSettings runs the program once per setting and checks that it stops
// at start-up with an error that names the variable and shows no password, and
// that main would print it as one line and exit with status 2.
func RefusesBadSettings(t *testing.T, run RunFunc, name string, settings []BadSetting) {
	t.Helper()
	for _, tt := range settings {
		t.Run(tt.Name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tt.Variable {
					return tt.Value
				}
				return ""
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{name}, getenv, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run accepted %s=%q", tt.Variable, tt.Value)
			}
			if !strings.Contains(err.Error(), tt.Variable) {
				t.Errorf("error %q does not name %s", err, tt.Variable)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a password", err)
			}
			var printed bytes.Buffer
			if code := serve.Report(name, err, &printed); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if strings.Count(printed.String(), "\n") != 1 {
				t.Errorf("printed %q, want one line", printed.String())
			}
		})
	}
}

// RefusesUnknownCommand checks that the program answers a command it does not
// know with a usage error that mentions its deadletters command, and status 2.
func RefusesUnknownCommand(t *testing.T, run RunFunc, name string) {
	t.Helper()
	err := run(context.Background(), []string{name, "frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "deadletters") {
		t.Fatalf("run(frobnicate) = %v, want a usage error", err)
	}
	if code := serve.Report(name, err, io.Discard); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
}
