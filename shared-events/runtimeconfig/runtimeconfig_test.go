package runtimeconfig_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/runtimeconfig"
)

var defaults = runtimeconfig.Defaults{HTTPAddr: ":8082", DatabaseURL: "data/chat.db"}

func TestBaseDefaults(t *testing.T) {
	p := runtimeconfig.NewParser(func(string) string { return "" })
	b := p.Base(defaults)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if b.HTTPAddr != ":8082" || b.DatabaseURL != "data/chat.db" || b.AMQPURL != runtimeconfig.DefaultAMQPURL ||
		b.PublicURL.String() != runtimeconfig.DefaultPublicURL || b.LogFormat != "text" {
		t.Errorf("defaults = %+v", b)
	}
}

func TestBaseTrimsThePublicURL(t *testing.T) {
	p := runtimeconfig.NewParser(func(k string) string {
		if k == "PUBLIC_URL" {
			return " https://example.com/scs/ "
		}
		return ""
	})
	b := p.Base(defaults)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if got := b.PublicURL.String(); got != "https://example.com/scs" {
		t.Errorf("PUBLIC_URL = %q, want https://example.com/scs", got)
	}
}

func TestBaseErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{"database scheme", "DATABASE_URL", "mysql://db/chat"},
		{"database postgres without host", "DATABASE_URL", "postgres://:secret@/chat"},
		{"sqlite options", "DATABASE_URL", "data/chat.db?_pragma=foo"},
		{"amqp scheme", "AMQP_URL", "http://guest:secret@localhost:5672/"},
		{"amqp no host", "AMQP_URL", "amqp://"},
		{"public url relative", "PUBLIC_URL", "/chat"},
		{"public url scheme", "PUBLIC_URL", "ftp://example.com"},
		{"public url credentials", "PUBLIC_URL", "https://ada:secret@example.com"},
		{"http addr no port", "HTTP_ADDR", "localhost"},
		{"http addr bad port", "HTTP_ADDR", ":99999"},
		{"log format", "LOG_FORMAT", "xml"},
		{"prefetch zero", "AMQP_PREFETCH", "0"},
		{"prefetch not a number", "AMQP_PREFETCH", "lots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string {
				if k == tt.variable {
					return tt.value
				}
				return ""
			})
			p.Base(defaults)
			err := p.Err()
			var cfgErr *runtimeconfig.Error
			if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 1 {
				t.Fatalf("%s=%q: error %v, want one problem", tt.variable, tt.value, err)
			}
			if !strings.HasPrefix(cfgErr.Problems[0], tt.variable+" ") {
				t.Errorf("problem %q does not name %s", cfgErr.Problems[0], tt.variable)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

func TestErrorListsEveryProblem(t *testing.T) {
	p := runtimeconfig.NewParser(func(k string) string {
		return map[string]string{"HTTP_ADDR": "localhost", "LOG_FORMAT": "xml"}[k]
	})
	p.Base(defaults)
	p.Add("OWN_VARIABLE", "x", "is bad")
	err := p.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`HTTP_ADDR "localhost" is not a listen address such as ":8082" or "127.0.0.1:8082"`, "LOG_FORMAT", "OWN_VARIABLE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
