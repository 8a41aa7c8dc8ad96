package runtimeconfig_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/runtime/runtimeconfig"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

var defaults = runtimeconfig.Defaults{HTTPAddr: ":8082", DatabaseURL: "data/chat.db"}

func TestBaseDefaults(t *testing.T) {
	p := runtimeconfig.NewParser(func(string) string { return "" })
	b := p.Base(defaults)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if b.HTTPAddr != ":8082" || b.DatabaseURL != "data/chat.db" || b.AMQPURL != runtimeconfig.DefaultAMQPURL ||
		b.PublicURL.String() != runtimeconfig.DefaultPublicURL || b.LogFormat != "text" || b.TracesExporter != "none" {
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
		{"traces exporter", "OTEL_TRACES_EXPORTER", "jaeger"},
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

func TestTracesExporter(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		problem string // "" when the environment is good
	}{
		{"stdout", map[string]string{"OTEL_TRACES_EXPORTER": "stdout"}, "stdout", ""},
		{"otlp with the default collector", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, "otlp", ""},
		{"otlp with a collector", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp", ""},
		{"unknown exporter names the choices", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "",
			`OTEL_TRACES_EXPORTER "zipkin" must be one of none, stdout, otlp`},
		{"otlp endpoint without a scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "",
			"OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"otlp traces endpoint without a scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318/v1/traces"}, "",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		// Without the OTLP exporter nothing reads the endpoint.
		{"endpoint ignored without otlp", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string { return tt.env[k] })
			b := p.Base(defaults)
			err := p.Err()
			if tt.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b.TracesExporter != tt.want {
					t.Errorf("TracesExporter = %q, want %q", b.TracesExporter, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("error %v, want one with %q", err, tt.problem)
			}
		})
	}
}

// TestNewLoggerCarriesRequestIDs checks that the systems' logger, in both
// formats, writes the request id and the trace id of the context it logs with.
func TestNewLoggerCarriesRequestIDs(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	ctx = telemetry.ContextWithRequestID(ctx, "req-1")
	for format, want := range map[string][]string{
		"text": {"request_id=req-1", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"},
		"json": {`"request_id":"req-1"`, `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`},
	} {
		var out bytes.Buffer
		runtimeconfig.Base{LogFormat: format}.NewLogger(&out).InfoContext(ctx, "handled")
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s log %q lacks %s", format, out.String(), w)
			}
		}
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

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"10m", 10 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"59s", 0, false},
		{"25h", 0, false},
		{"10", 0, false},
		{"soon", 0, false},
	} {
		p := runtimeconfig.NewParser(func(string) string { return "" })
		got := p.Duration("TOKEN_TTL", tc.v, time.Minute, 24*time.Hour)
		err := p.Err()
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("Duration(%q) = %s, %v; want %s", tc.v, got, err, tc.want)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), `TOKEN_TTL "`+tc.v+`"`) || !strings.Contains(err.Error(), "from 1m to 24h")) {
			t.Errorf("Duration(%q): error %v does not name the variable, the value and the range", tc.v, err)
		}
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kek")
	if err := os.WriteFile(file, []byte("  from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    string
		problem string // "" for none
	}{
		{"default", nil, "dev", ""},
		{"variable", map[string]string{"KEK": " s3cret "}, "s3cret", ""},
		{"file", map[string]string{"KEK_FILE": file}, "from-a-file", ""},
		{"both", map[string]string{"KEK": "x", "KEK_FILE": file}, "", "KEK and KEK_FILE are both set"},
		{"missing file", map[string]string{"KEK_FILE": filepath.Join(dir, "nope")}, "", `KEK_FILE "` + filepath.Join(dir, "nope") + `" cannot be read`},
		{"empty file", map[string]string{"KEK_FILE": empty}, "", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string { return tc.env[k] })
			got := p.Secret("KEK", "dev")
			err := p.Err()
			if tc.problem == "" {
				if err != nil || got != tc.want {
					t.Errorf("Secret = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("Secret: error %v, want one saying %q", err, tc.problem)
			}
			if err != nil && strings.Contains(err.Error(), "from-a-file") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestADevelopmentDefaultIsRefusedOnlyWhenPublicURLIsHTTPS(t *testing.T) {
	tests := []struct {
		name, publicURL, value string
		refused                bool
	}{
		{"https and the development default", "https://platform.example", "dev-token", true},
		{"https and an own value", "https://platform.example", "a-value-of-its-own", false},
		{"http and the development default", "http://localhost:8080", "dev-token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string {
				if k == "PUBLIC_URL" {
					return tt.publicURL
				}
				return ""
			})
			b := p.Base(defaults)
			p.RefuseDevelopmentDefault(b.Production(), "SOME_TOKEN", tt.value, "dev-token", "openssl rand -hex 24")
			err := p.Err()
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted the development default with an https PUBLIC_URL")
			}
			for _, want := range []string{"SOME_TOKEN", "development default", "PUBLIC_URL is https", "openssl rand -hex 24"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "dev-token") {
				t.Errorf("error %q shows the value", err)
			}
		})
	}
}

func TestEventKeys(t *testing.T) {
	seed := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	own, _ := eventsig.ParseSigner("users", seed)
	dev := eventsig.DevelopmentSigner("users")
	for _, tc := range []struct {
		name       string
		env        map[string]string
		production bool
		wantKey    string // the signer's key id
		pinned     string // a key id the keys must hold
		problems   []string
	}{
		{name: "development defaults", wantKey: dev.KeyID(), pinned: dev.KeyID()},
		{name: "development defaults in production", production: true, wantKey: dev.KeyID(), pinned: dev.KeyID(),
			problems: []string{"EVENT_SIGNING_KEY is the development default", "USERS_EVENT_KEYS is the development default"}},
		{name: "own keys in production", production: true,
			env:     map[string]string{"EVENT_SIGNING_KEY": seed, "USERS_EVENT_KEYS": own.PublicKey()},
			wantKey: own.KeyID(), pinned: own.KeyID()},
		{name: "the development key named in production", production: true,
			env:     map[string]string{"USERS_EVENT_KEYS": own.PublicKey() + "," + dev.PublicKey()},
			wantKey: dev.KeyID(), pinned: own.KeyID(),
			problems: []string{"EVENT_SIGNING_KEY is the development default", "USERS_EVENT_KEYS is the development default"}},
		{name: "another system's development key in production", production: true,
			env:     map[string]string{"EVENT_SIGNING_KEY": seed, "USERS_EVENT_KEYS": eventsig.DevelopmentSigner("chat").PublicKey()},
			wantKey: own.KeyID(), pinned: eventsig.DevelopmentSigner("chat").KeyID(),
			problems: []string{"USERS_EVENT_KEYS is the development default"}},
		{name: "broken values", env: map[string]string{"EVENT_SIGNING_KEY": "c2hvcnQ=", "USERS_EVENT_KEYS": "nope"},
			wantKey: dev.KeyID(), pinned: dev.KeyID(),
			problems: []string{`EVENT_SIGNING_KEY "…" is not 32 bytes in base64`, `USERS_EVENT_KEYS "(not shown)" holds a value that is not a 32-byte Ed25519 public key in base64 (scs-users eventkey prints one)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string { return tc.env[k] })
			s := p.EventSigner("users", tc.production)
			keys := p.EventKeys("USERS_EVENT_KEYS", "users", tc.production)
			if s.KeyID() != tc.wantKey || !keys.Has(tc.pinned) {
				t.Errorf("signer %s, keys %v; want signer %s and %s pinned", s.KeyID(), keys.IDs(), tc.wantKey, tc.pinned)
			}
			err := p.Err()
			if len(tc.problems) == 0 && err != nil {
				t.Fatalf("Err = %v", err)
			}
			for _, want := range tc.problems {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Err = %v; want it to say %q", err, want)
				}
			}
			if err != nil && strings.Contains(err.Error(), seed) {
				t.Errorf("Err shows the signing key: %v", err)
			}
		})
	}
}

// AMQP_CA_FILE is checked at start-up and carried in the AMQP URL, from which
// broker.Dial takes it.
func TestAMQPCAFile(t *testing.T) {
	dir := t.TempDir()
	// Any certificate will do: the file is only read here.
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte(testCertificate), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const amqps = "amqps://chat:secret@broker.example:5671/"
	for _, tt := range []struct {
		name, amqpURL, caFile string
		problem               string // "" when valid
	}{
		{"unset", amqps, "", ""},
		{"a file of certificates", amqps, ca, ""},
		{"a missing file", amqps, filepath.Join(dir, "missing.pem"), "is not a file of PEM CA certificates"},
		{"a file without certificates", amqps, junk, "is not a file of PEM CA certificates"},
		{"without TLS", "amqp://chat:secret@broker.example:5672/", ca, "AMQP_URL is not amqps://"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := runtimeconfig.NewParser(func(k string) string {
				return map[string]string{"AMQP_URL": tt.amqpURL, "AMQP_CA_FILE": tt.caFile}[k]
			})
			b := p.Base(defaults)
			err := p.Err()
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), "AMQP_CA_FILE") || !strings.Contains(err.Error(), tt.problem) {
					t.Errorf("error %v, want AMQP_CA_FILE %s", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.amqpURL
			if tt.caFile != "" {
				want += "?cacertfile=" + url.QueryEscape(tt.caFile)
			}
			if b.AMQPURL != want || b.AMQPCAFile != tt.caFile {
				t.Errorf("AMQPURL = %q, AMQPCAFile = %q; want %q and %q", b.AMQPURL, b.AMQPCAFile, want, tt.caFile)
			}
		})
	}
}

// testCertificate is a self-signed certificate (a CA of no one's).
const testCertificate = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUOlASm++RzZCSMEwc3due6gST6ugwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLc2NzLXRlc3QtY2EwHhcNMjYxMjA4MDAwOTE5WhcNMzYxMjA1
MDAwOTE5WjAWMRQwEgYDVQQDDAtzY3MtdGVzdC1jYTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABIWmVRRgBr5vZi6+eSdQcDvKoc5M4YaX/SuOmXQbvV0thjzYuA2v
4odNkMXgjEw74OClFToSE1zGfjkl7/J7p5KjUzBRMB0GA1UdDgQWBBSizTnuaOVK
yAe8pWqWxLLdl19/LTAfBgNVHSMEGDAWgBSizTnuaOVKyAe8pWqWxLLdl19/LTAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCLB9a71VLUrMXYkg0F
6M1KK6NIfsh3OuzCQYDLDYkJZAIhAP97lCDxT3MrIEVGiPhuE077rYSsjX6CLPWm
Gu5Xggfm
-----END CERTIFICATE-----
`
