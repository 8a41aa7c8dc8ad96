// Package config reads scs-cards's configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable. The
// variables every system shares are read by shared-events/runtime/runtimeconfig.
package config

import (
	"time"

	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/runtime/runtimeconfig"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
)

// Config is everything scs-cards reads from its environment.
type Config struct {
	// Base holds HTTP_ADDR (default ":8083"), DATABASE_URL (default
	// "data/cards.db"), AMQP_URL, PUBLIC_URL and LOG_FORMAT.
	runtimeconfig.Base
	// UsersFeedURL is scs-users' event feed, read once to fill an empty replica
	// (USERS_FEED_URL).
	UsersFeedURL string
	// UsersFeedToken is the bearer token for UsersFeedURL (USERS_FEED_TOKEN).
	UsersFeedToken string
	// Currency is every new account's currency (CARDS_CURRENCY, an ISO 4217
	// code).
	Currency money.Currency
	// DefaultLimit is a new account's credit limit (CARDS_DEFAULT_LIMIT, in
	// Currency, such as "50000" or "50000.00").
	DefaultLimit money.Amount
	// AuthorisationTTL is how long an uncaptured authorisation holds credit
	// (AUTHORISATION_TTL).
	AuthorisationTTL time.Duration
	// StatementPeriod is "monthly" or, for demos and tests, a duration
	// (STATEMENT_PERIOD).
	StatementPeriod ledger.Period
	// StatementDueDays is how many days after its period ends a statement is
	// due (STATEMENT_DUE_DAYS).
	StatementDueDays int
	// TerminalToken is the merchant terminal's bearer credential for the
	// terminal API (TERMINAL_TOKEN or TERMINAL_TOKEN_FILE).
	TerminalToken string
	// EventSigner signs cards' events (EVENT_SIGNING_KEY).
	EventSigner *eventsig.Signer
	// UsersEventKeys are scs-users' pinned public keys (USERS_EVENT_KEYS): only
	// events they signed are applied.
	UsersEventKeys *eventsig.Keys
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr         = ":8083"
	DefaultDatabaseURL      = "data/cards.db"
	DefaultUsersFeedURL     = "http://localhost:8081/users/internal/events/feed"
	DefaultUsersFeedToken   = "dev-feed-token"
	DefaultCurrency         = "SEK"
	DefaultLimit            = "50000"
	DefaultAuthorisationTTL = "168h"
	DefaultStatementPeriod  = "monthly"
	DefaultStatementDueDays = "25"
	DefaultTerminalToken    = "dev-terminal-token"
	// MinTerminalToken is the shortest terminal credential accepted.
	MinTerminalToken = 16
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
		TerminalToken:  p.Secret("TERMINAL_TOKEN", DefaultTerminalToken),
	}
	p.HTTPURL("USERS_FEED_URL", cfg.UsersFeedURL)
	// The development defaults are public: with an https PUBLIC_URL each is
	// refused (runtimeconfig's one rule for every system).
	p.RefuseDevelopmentDefault(cfg.Production(), "USERS_FEED_TOKEN", cfg.UsersFeedToken, DefaultUsersFeedToken, "one of scs-users' FEED_TOKENS")
	p.RefuseDevelopmentDefault(cfg.Production(), "TERMINAL_TOKEN", cfg.TerminalToken, DefaultTerminalToken, "openssl rand -hex 24")
	cfg.EventSigner = p.EventSigner("cards", cfg.Production())
	cfg.UsersEventKeys = p.EventKeys("USERS_EVENT_KEYS", "users", cfg.Production())

	currency := p.Get("CARDS_CURRENCY", DefaultCurrency)
	c, err := money.ParseCurrency(currency)
	if err != nil {
		p.Add("CARDS_CURRENCY", currency, "must be an ISO 4217 currency code such as SEK or EUR")
	}
	cfg.Currency = c
	if err == nil {
		limit := p.Get("CARDS_DEFAULT_LIMIT", DefaultLimit)
		if cfg.DefaultLimit, err = money.Parse(limit, c); err != nil {
			p.Add("CARDS_DEFAULT_LIMIT", limit, "must be an amount in "+string(c)+" such as 50000 or 50000.00 ("+err.Error()+")")
		}
	}
	cfg.AuthorisationTTL = p.Duration("AUTHORISATION_TTL", p.Get("AUTHORISATION_TTL", DefaultAuthorisationTTL), time.Second, 31*24*time.Hour)
	period := p.Get("STATEMENT_PERIOD", DefaultStatementPeriod)
	if cfg.StatementPeriod, err = ledger.ParsePeriod(period); err != nil {
		p.Add("STATEMENT_PERIOD", period, err.Error())
	}
	cfg.StatementDueDays = p.Int("STATEMENT_DUE_DAYS", p.Get("STATEMENT_DUE_DAYS", DefaultStatementDueDays), 1, 90)
	if len(cfg.TerminalToken) < MinTerminalToken {
		// The secret itself never goes into the message.
		p.Add("TERMINAL_TOKEN", "(not shown)", "must have at least 16 characters")
	}
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
