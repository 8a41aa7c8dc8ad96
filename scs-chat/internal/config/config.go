// Package config reads scs-chat's configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable. The
// variables every system shares are read by shared-events/runtime/runtimeconfig.
package config

import (
	"time"

	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/runtime/runtimeconfig"
)

// Config is everything scs-chat reads from its environment.
type Config struct {
	// Base holds HTTP_ADDR (default ":8082"), DATABASE_URL (default
	// "data/chat.db"), AMQP_URL, PUBLIC_URL and LOG_FORMAT.
	runtimeconfig.Base
	// UsersFeedURL is scs-users' event feed, read once to fill an empty replica
	// (USERS_FEED_URL).
	UsersFeedURL string
	// UsersFeedToken is the bearer token for UsersFeedURL (USERS_FEED_TOKEN).
	UsersFeedToken string
	// WaitingGrace is how long a waiting user may show no sign of life (no open
	// websocket, no view of the waiting page) before the wait ends
	// (WAITING_GRACE).
	WaitingGrace time.Duration
	// WaitingMax ends any wait this long after the join (WAITING_MAX).
	WaitingMax time.Duration
	// Messages limits each user's messages (LIMIT_MESSAGES_PER_USER).
	Messages ratelimit.Rate
	// EventSigner signs chat's events (EVENT_SIGNING_KEY).
	EventSigner *eventsig.Signer
	// UsersEventKeys are scs-users' pinned public keys (USERS_EVENT_KEYS): only
	// events they signed are applied.
	UsersEventKeys *eventsig.Keys
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr       = ":8082"
	DefaultDatabaseURL    = "data/chat.db"
	DefaultUsersFeedURL   = "http://localhost:8081/users/internal/events/feed"
	DefaultUsersFeedToken = "dev-feed-token"
	DefaultWaitingGrace   = "30s"
	DefaultWaitingMax     = "15m"
	// DefaultMessages lets a user send 20 messages at once, then one every
	// half second.
	DefaultMessages = "20/10s"
)

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. An unset or empty variable takes its default. A bad value makes
// a *runtimeconfig.Error that lists every bad variable.
func Load(getenv func(string) string) (Config, error) {
	p := runtimeconfig.NewParser(getenv)
	cfg := Config{
		Base:           p.Base(runtimeconfig.Defaults{HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL}),
		UsersFeedURL:   p.Get("USERS_FEED_URL", DefaultUsersFeedURL),
		UsersFeedToken: p.Get("USERS_FEED_TOKEN", DefaultUsersFeedToken),
		Messages:       p.Rate("LIMIT_MESSAGES_PER_USER", DefaultMessages),
	}
	// The waiting page without JavaScript reloads every 5 s, a sign of life each
	// time, so a grace below 10 s would end waits that are alive.
	cfg.WaitingGrace = p.Duration("WAITING_GRACE", p.Get("WAITING_GRACE", DefaultWaitingGrace), 10*time.Second, 10*time.Minute)
	cfg.WaitingMax = p.Duration("WAITING_MAX", p.Get("WAITING_MAX", DefaultWaitingMax), time.Minute, 24*time.Hour)
	p.HTTPURL("USERS_FEED_URL", cfg.UsersFeedURL)
	// The development defaults are public: with an https PUBLIC_URL each is
	// refused (runtimeconfig's one rule for every system).
	p.RefuseDevelopmentDefault(cfg.Production(), "USERS_FEED_TOKEN", cfg.UsersFeedToken, DefaultUsersFeedToken, "one of scs-users' FEED_TOKENS")
	cfg.EventSigner = p.EventSigner("chat", cfg.Production())
	cfg.UsersEventKeys = p.EventKeys("USERS_EVENT_KEYS", "users", cfg.Production())
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
