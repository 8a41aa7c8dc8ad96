// Package config reads scs-chat's configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable. The
// variables every system shares are read by shared-events/runtimeconfig.
package config

import (
	"github.com/scs-platform/shared-events/runtimeconfig"
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
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr       = ":8082"
	DefaultDatabaseURL    = "data/chat.db"
	DefaultUsersFeedURL   = "http://localhost:8081/users/internal/events/feed"
	DefaultUsersFeedToken = "dev-feed-token"
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
	}
	p.HTTPURL("USERS_FEED_URL", cfg.UsersFeedURL)
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
