// Package config reads scs-chat's configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Config is everything scs-chat reads from its environment.
type Config struct {
	// HTTPAddr is where the system listens (HTTP_ADDR, default ":8082").
	HTTPAddr string
	// DatabaseURL selects the database (DATABASE_URL, default "data/chat.db"): a
	// SQLite file path, or a postgres:// URL. It may hold a password.
	DatabaseURL string
	// AMQPURL is the RabbitMQ broker (AMQP_URL). It may hold a password.
	AMQPURL string
	// PublicURL is the front door's base URL as the browser sees it (PUBLIC_URL),
	// without a trailing slash.
	PublicURL *url.URL
	// LogFormat is "text" or "json" (LOG_FORMAT).
	LogFormat string
	// UsersFeedURL is scs-users' event feed, read once to fill an empty replica
	// (USERS_FEED_URL).
	UsersFeedURL string
	// UsersFeedToken is the bearer token for UsersFeedURL (USERS_FEED_TOKEN).
	UsersFeedToken string
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr       = ":8082"
	DefaultDatabaseURL    = "data/chat.db"
	DefaultAMQPURL        = "amqp://guest:guest@localhost:5672/"
	DefaultPublicURL      = "http://localhost:8080"
	DefaultLogFormat      = "text"
	DefaultUsersFeedURL   = "http://localhost:8081/users/internal/events/feed"
	DefaultUsersFeedToken = "dev-feed-token"
)

// Error lists every variable that has a bad value.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "configuration: " + strings.Join(e.Problems, "; ")
}

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. An unset or empty variable takes its default.
func Load(getenv func(string) string) (Config, error) {
	var p problems
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:       p.addr("HTTP_ADDR", get("HTTP_ADDR", DefaultHTTPAddr)),
		DatabaseURL:    p.database("DATABASE_URL", get("DATABASE_URL", DefaultDatabaseURL)),
		AMQPURL:        p.amqp("AMQP_URL", get("AMQP_URL", DefaultAMQPURL)),
		PublicURL:      p.httpURL("PUBLIC_URL", get("PUBLIC_URL", DefaultPublicURL)),
		LogFormat:      p.oneOf("LOG_FORMAT", get("LOG_FORMAT", DefaultLogFormat), "text", "json"),
		UsersFeedURL:   get("USERS_FEED_URL", DefaultUsersFeedURL),
		UsersFeedToken: get("USERS_FEED_TOKEN", DefaultUsersFeedToken),
	}
	p.httpURL("USERS_FEED_URL", cfg.UsersFeedURL)
	if len(p) > 0 {
		return Config{}, &Error{Problems: p}
	}
	if cfg.PublicURL != nil {
		cfg.PublicURL.Path = strings.TrimSuffix(cfg.PublicURL.Path, "/")
	}
	return cfg, nil
}

// problems collects one sentence per bad variable. Values that may hold a
// password are shown redacted.
type problems []string

func (p *problems) add(name, value, reason string) {
	*p = append(*p, fmt.Sprintf("%s %q %s", name, value, reason))
}

func (p *problems) addr(name, v string) string {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add(name, v, `is not a listen address such as ":8082" or "127.0.0.1:8082"`)
		return v
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(name, v, "has no port number from 0 to 65535")
	}
	return v
}

func (p *problems) database(name, v string) string {
	scheme, _, hasScheme := strings.Cut(v, "://")
	switch {
	case scheme == "postgres" || scheme == "postgresql":
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			p.add(name, redact(v), "is not a valid postgres:// URL with a host")
		}
	case hasScheme && scheme != "sqlite" && scheme != "file":
		p.add(name, redact(v), "is neither a postgres:// URL nor a SQLite file path")
	case strings.Contains(v, "?"):
		p.add(name, v, "must not carry SQLite options: the system sets them itself")
	}
	return v
}

func (p *problems) amqp(name, v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		p.add(name, "(unparseable)", "is not a valid URL")
	case u.Scheme != "amqp" && u.Scheme != "amqps":
		p.add(name, u.Redacted(), "must start with amqp:// or amqps://")
	case u.Host == "":
		p.add(name, u.Redacted(), "names no host")
	}
	return v
}

func (p *problems) httpURL(name, v string) *url.URL {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		p.add(name, v, "is not a valid URL")
		return nil
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		p.add(name, u.Redacted(), "must be an absolute http:// or https:// URL")
		return nil
	case u.User != nil:
		p.add(name, u.Redacted(), "must not carry a user name or password")
		return nil
	}
	return u
}

func (p *problems) oneOf(name, v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.add(name, v, "must be one of "+strings.Join(allowed, ", "))
	return v
}

func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
