// Package config reads scs-users' configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable. The
// variables every system shares are read by shared-events/runtimeconfig.
package config

import (
	"strings"

	"github.com/scs-platform/shared-events/runtimeconfig"
)

// Config is everything scs-users reads from its environment.
type Config struct {
	// Base holds HTTP_ADDR (default ":8081"), DATABASE_URL (default
	// "data/users.db"), AMQP_URL, PUBLIC_URL and LOG_FORMAT.
	runtimeconfig.Base
	// FeedTokens are the bearer tokens that may read the event feed (FEED_TOKENS,
	// comma-separated). The default suits a development machine only: production
	// sets its own, one per consuming system, so that each can be revoked alone.
	FeedTokens []string
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr    = ":8081"
	DefaultDatabaseURL = "data/users.db"
	DefaultFeedTokens  = "dev-feed-token"
)

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. An unset or empty variable takes its default. A bad value makes
// a *runtimeconfig.Error that lists every bad variable.
func Load(getenv func(string) string) (Config, error) {
	p := runtimeconfig.NewParser(getenv)
	cfg := Config{
		Base:       p.Base(runtimeconfig.Defaults{HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL}),
		FeedTokens: tokens(p, "FEED_TOKENS", p.Get("FEED_TOKENS", DefaultFeedTokens)),
	}
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func tokens(p *runtimeconfig.Parser, name, v string) []string {
	var tokens []string
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	if len(tokens) == 0 {
		// The value is nothing but commas and spaces: no secret to hide.
		p.Add(name, v, "names no token")
	}
	return tokens
}
