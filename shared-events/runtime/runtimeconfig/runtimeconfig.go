// Package runtimeconfig reads the part of a system's configuration that every
// system of the platform shares: where it listens, its database, its broker, the
// public URL, the log format and where traces go. A system's own config package
// embeds Base and reads its own variables through the same Parser, so that every
// bad value, the shared ones and the system's own, is reported together in one
// Error.
//
// Configuration is read once, at start-up, through an injected getenv, and a bad
// value is refused with a message that names the variable.
package runtimeconfig

import (
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/runtime/telemetry"

	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Base is the configuration every system reads from its environment.
type Base struct {
	// HTTPAddr is where the system listens (HTTP_ADDR).
	HTTPAddr string
	// DatabaseURL selects the database (DATABASE_URL): a SQLite file path, or a
	// postgres:// URL. It may hold a password.
	DatabaseURL string
	// AMQPURL is the RabbitMQ broker (AMQP_URL). It may hold a password. With
	// AMQP_CA_FILE, it carries the file as its cacertfile parameter, which
	// broker.Dial trusts.
	AMQPURL string
	// AMQPCAFile is the CA certificates (PEM) an amqps:// broker's certificate
	// must be signed by (AMQP_CA_FILE); empty: the system's.
	AMQPCAFile string
	// PublicURL is the front door's base URL as the browser sees it (PUBLIC_URL),
	// without a trailing slash.
	PublicURL *url.URL
	// LogFormat is "text" or "json" (LOG_FORMAT).
	LogFormat string
	// AMQPPrefetch is how many unacknowledged events the broker hands each
	// consumer at once (AMQP_PREFETCH, 1 to 1000).
	AMQPPrefetch int
	// TracesExporter is where spans go (OTEL_TRACES_EXPORTER): one of
	// telemetry.Exporters, "none" by default.
	TracesExporter string
}

// NewLogger returns the logger LOG_FORMAT asks for, writing to w. A line
// logged with a request's or an event's context carries its request_id and
// trace_id (see telemetry.NewLogHandler).
func (b Base) NewLogger(w io.Writer) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(w, nil)
	if b.LogFormat == "json" {
		h = slog.NewJSONHandler(w, nil)
	}
	return slog.New(telemetry.NewLogHandler(h))
}

// Defaults for a development machine that all systems share.
const (
	DefaultAMQPURL   = "amqp://guest:guest@localhost:5672/"
	DefaultPublicURL = "http://localhost:8080"
	DefaultLogFormat = "text"
	DefaultPrefetch  = 200
)

// Defaults are the values of Base that differ from system to system on a
// development machine.
type Defaults struct {
	// HTTPAddr is the system's own port, such as ":8082".
	HTTPAddr string
	// DatabaseURL is the system's own SQLite file, such as "data/chat.db".
	DatabaseURL string
}

// Error lists every variable that has a bad value.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "configuration: " + strings.Join(e.Problems, "; ")
}

// Parser reads variables through getenv and collects one problem per bad
// variable, so that a start-up reports all of them at once. Values that may hold
// a password are shown redacted.
type Parser struct {
	getenv   func(string) string
	problems []string
}

// NewParser returns a Parser that reads through getenv (os.Getenv in
// production).
func NewParser(getenv func(string) string) *Parser {
	return &Parser{getenv: getenv}
}

// Err returns an *Error with every problem found so far, or nil.
func (p *Parser) Err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &Error{Problems: p.problems}
}

// Get returns the variable name, trimmed; an unset or empty variable takes def.
func (p *Parser) Get(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

// Add records that variable name has the bad value v for reason. v must not
// hold a secret.
func (p *Parser) Add(name, v, reason string) {
	p.problems = append(p.problems, fmt.Sprintf("%s %q %s", name, v, reason))
}

// Production reports whether PUBLIC_URL is https. The platform's own rule
// for telling a deployment from a development machine: an https origin is
// reached by other people, so nothing that lets a stranger in may keep the
// value this repository publishes (see Parser.RefuseDevelopmentDefault).
func (b Base) Production() bool {
	return b.PublicURL != nil && b.PublicURL.Scheme == "https"
}

// RefuseDevelopmentDefault is the one check, shared by every system, that no
// development default of a credential or key reaches production. When
// production is true (Base.Production: PUBLIC_URL is https) and value is
// development, the variable's default for a development machine, it records a
// problem that names the variable and says what to do (hint, such as
// "openssl rand -base64 32"). Neither value appears in the message: a system
// calls it with secrets.
//
// Every variable whose default is a secret anyone can read in this repository
// (a token, a password, a key) must be checked here right after it is read,
// as TERMINAL_TOKEN is in scs-cards:
//
//	cfg.TerminalToken = p.Secret("TERMINAL_TOKEN", DefaultTerminalToken)
//	p.RefuseDevelopmentDefault(cfg.Production(), "TERMINAL_TOKEN", cfg.TerminalToken, DefaultTerminalToken, "openssl rand -hex 24")
//
// A variable that holds a list (FEED_TOKENS) is checked once per item.
func (p *Parser) RefuseDevelopmentDefault(production bool, name, value, development, hint string) {
	if !production || value != development {
		return
	}
	msg := fmt.Sprintf("%s is the development default, which anyone can read in this repository, and PUBLIC_URL is https: set your own", name)
	if hint != "" {
		msg += " (" + hint + ")"
	}
	p.problems = append(p.problems, msg)
}

// EventSigner reads EVENT_SIGNING_KEY (or the file EVENT_SIGNING_KEY_FILE
// names): the key with which owner signs every event it sends, 32 random bytes
// in base64. Unset, it is owner's development key, which is public and so
// refused when production is true.
func (p *Parser) EventSigner(owner string, production bool) *eventsig.Signer {
	const name = "EVENT_SIGNING_KEY"
	dev := eventsig.DevelopmentSigner(owner)
	v := p.Secret(name, "")
	if v == "" {
		p.RefuseDevelopmentDefault(production, name, dev.KeyID(), dev.KeyID(), "openssl rand -base64 32")
		return dev
	}
	s, err := eventsig.ParseSigner(owner, v)
	if err != nil {
		// Never show the value: it is a secret, even when it is a broken one.
		p.Add(name, "…", err.Error())
		return dev
	}
	p.RefuseDevelopmentDefault(production, name, s.KeyID(), dev.KeyID(), "openssl rand -base64 32")
	return s
}

// EventKeys reads the variable name, such as USERS_EVENT_KEYS (or the file
// name+"_FILE" names): the public keys of owner's event signing key that this
// system pins, comma-separated (two during a rotation). Unset, it pins owner's
// development key, refused when production is true.
func (p *Parser) EventKeys(name, owner string, production bool) *eventsig.Keys {
	dev := eventsig.DevelopmentSigner(owner)
	v := p.Secret(name, "")
	if v == "" {
		p.RefuseDevelopmentDefault(production, name, dev.KeyID(), dev.KeyID(), "the public key that scs-"+owner+" eventkey prints")
		return dev.Keys()
	}
	keys, err := eventsig.ParseKeys(owner, v)
	if err != nil {
		// Not shown: an operator may have pasted a private key by mistake.
		p.Add(name, "(not shown)", err.Error())
		return dev.Keys()
	}
	// Any system's development key is public, whoever's it was meant to be.
	for _, id := range topology.Platform {
		if d := eventsig.DevelopmentSigner(id.System); keys.Has(d.KeyID()) {
			p.RefuseDevelopmentDefault(production, name, d.KeyID(), d.KeyID(), "the public key that scs-"+owner+" eventkey prints")
		}
	}
	return keys
}

// Base reads and validates HTTP_ADDR, DATABASE_URL, AMQP_URL, AMQP_CA_FILE, PUBLIC_URL,
// LOG_FORMAT, AMQP_PREFETCH and OTEL_TRACES_EXPORTER (with, for "otlp", the
// collector's OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
func (p *Parser) Base(d Defaults) Base {
	b := Base{
		HTTPAddr:    p.Addr("HTTP_ADDR", p.Get("HTTP_ADDR", d.HTTPAddr), d.HTTPAddr),
		DatabaseURL: p.Database("DATABASE_URL", p.Get("DATABASE_URL", d.DatabaseURL)),
		AMQPURL:     p.AMQP("AMQP_URL", p.Get("AMQP_URL", DefaultAMQPURL)),
		PublicURL:   p.HTTPURL("PUBLIC_URL", p.Get("PUBLIC_URL", DefaultPublicURL)),
		LogFormat:   p.OneOf("LOG_FORMAT", p.Get("LOG_FORMAT", DefaultLogFormat), "text", "json"),
	}
	b.AMQPCAFile = p.AMQPCAFile("AMQP_CA_FILE", p.Get("AMQP_CA_FILE", ""), b.AMQPURL)
	if b.AMQPCAFile != "" {
		b.AMQPURL = withCAFile(b.AMQPURL, b.AMQPCAFile)
	}
	b.AMQPPrefetch = p.Int("AMQP_PREFETCH", p.Get("AMQP_PREFETCH", strconv.Itoa(DefaultPrefetch)), 1, 1000)
	b.TracesExporter = p.OneOf("OTEL_TRACES_EXPORTER", p.Get("OTEL_TRACES_EXPORTER", telemetry.ExporterNone), telemetry.Exporters...)
	if b.TracesExporter == telemetry.ExporterOTLP {
		// The exporter reads these itself, and would only log a bad one and send
		// to its default instead: refuse it at start-up like any other value.
		for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
			if v := p.Get(name, ""); v != "" {
				p.HTTPURL(name, v)
			}
		}
	}
	if b.PublicURL != nil {
		b.PublicURL.Path = strings.TrimSuffix(b.PublicURL.Path, "/")
	}
	return b
}

// Addr checks that v is a listen address; example, such as ":8082", shows the
// right form in the message.
func (p *Parser) Addr(name, v, example string) string {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		_, examplePort, _ := net.SplitHostPort(example)
		p.Add(name, v, fmt.Sprintf(`is not a listen address such as %q or "127.0.0.1:%s"`, example, examplePort))
		return v
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.Add(name, v, "has no port number from 0 to 65535")
	}
	return v
}

// Database checks that v is a postgres:// URL or a SQLite file path without
// options.
func (p *Parser) Database(name, v string) string {
	scheme, _, hasScheme := strings.Cut(v, "://")
	switch {
	case scheme == "postgres" || scheme == "postgresql":
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			p.Add(name, redact(v), "is not a valid postgres:// URL with a host")
		}
	case hasScheme && scheme != "sqlite" && scheme != "file":
		p.Add(name, redact(v), "is neither a postgres:// URL nor a SQLite file path")
	case strings.Contains(v, "?"):
		p.Add(name, v, "must not carry SQLite options: the system sets them itself")
	}
	return v
}

// AMQP checks that v is an amqp:// or amqps:// URL with a host.
func (p *Parser) AMQP(name, v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		p.Add(name, "(unparseable)", "is not a valid URL")
	case u.Scheme != "amqp" && u.Scheme != "amqps":
		p.Add(name, u.Redacted(), "must start with amqp:// or amqps://")
	case u.Host == "":
		p.Add(name, u.Redacted(), "names no host")
	}
	return v
}

// AMQPCAFile checks that v, if set, is a readable file of PEM certificates that
// broker.TLSConfig accepts, for an amqps:// amqpURL.
func (p *Parser) AMQPCAFile(name, v, amqpURL string) string {
	if v == "" {
		return ""
	}
	if u, err := url.Parse(amqpURL); err == nil && u.Scheme != "amqps" {
		p.Add(name, v, "is set, but AMQP_URL is not amqps://: a CA is only used over TLS")
		return ""
	}
	if _, err := broker.TLSConfig(v); err != nil {
		p.Add(name, v, fmt.Sprintf("is not a file of PEM CA certificates (%v)", err))
		return ""
	}
	return v
}

// withCAFile adds file as the cacertfile parameter of amqpURL, RabbitMQ's URI
// parameter for it, so that every connection made from the URL trusts it.
func withCAFile(amqpURL, file string) string {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return amqpURL
	}
	q := u.Query()
	q.Set("cacertfile", file)
	u.RawQuery = q.Encode()
	return u.String()
}

// HTTPURL checks that v is an absolute http:// or https:// URL without
// credentials, and returns it parsed (nil if it is not).
func (p *Parser) HTTPURL(name, v string) *url.URL {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		p.Add(name, v, "is not a valid URL")
		return nil
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		p.Add(name, u.Redacted(), "must be an absolute http:// or https:// URL")
		return nil
	case u.User != nil:
		p.Add(name, u.Redacted(), "must not carry a user name or password")
		return nil
	}
	return u
}

// Int checks that v is a whole number from lo to hi and returns it.
func (p *Parser) Int(name, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.Add(name, v, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n
}

// OneOf checks that v is one of allowed.
func (p *Parser) OneOf(name, v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.Add(name, v, "must be one of "+strings.Join(allowed, ", "))
	return v
}

// Duration checks that v is a duration in time.ParseDuration's form (such as
// "10m" or "1h30m") from lo to hi and returns it.
func (p *Parser) Duration(name, v string, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		p.Add(name, v, fmt.Sprintf("must be a duration such as 90s, 10m or 2h, from %s to %s", short(lo), short(hi)))
	}
	return d
}

// short writes a duration without the zero units time.Duration.String adds
// ("10m", not "10m0s").
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Secret reads a secret from the variable name, or from the file that
// name+"_FILE" names (as Docker and Kubernetes secrets are mounted), trimmed of
// surrounding white space. Neither set gives def; both set is a problem. The
// secret itself never appears in a message.
func (p *Parser) Secret(name, def string) string {
	v := strings.TrimSpace(p.getenv(name))
	file := strings.TrimSpace(p.getenv(name + "_FILE"))
	switch {
	case v != "" && file != "":
		p.problems = append(p.problems, fmt.Sprintf("%s and %s_FILE are both set; set one of them", name, name))
		return ""
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			p.Add(name+"_FILE", file, "cannot be read: "+strings.TrimPrefix(err.Error(), "open "+file+": "))
			return ""
		}
		if v = strings.TrimSpace(string(b)); v == "" {
			p.Add(name+"_FILE", file, "is empty")
		}
		return v
	case v != "":
		return v
	}
	return def
}

func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Rate reads a leaky bucket's rate, "BURST/INTERVAL" such as "5/1m" (see
// ratelimit.ParseRate), from name, or def when it is unset.
func (p *Parser) Rate(name, def string) ratelimit.Rate {
	v := p.Get(name, def)
	r, err := ratelimit.ParseRate(v)
	if err != nil {
		p.Add(name, v, err.Error())
	}
	return r
}
