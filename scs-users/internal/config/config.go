// Package config reads scs-users' configuration from the environment once, at
// start-up, and refuses a bad value with a message that names the variable. The
// variables every system shares are read by shared-events/runtime/runtimeconfig.
package config

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/runtime/runtimeconfig"

	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/scs-users/internal/signing"
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

	// TokenTTL is how long a session token lives (TOKEN_TTL). Other systems
	// honour a revocation within the replication lag; an idle session ends for
	// them at the latest when its token expires.
	TokenTTL time.Duration
	// SessionIdle ends a session unused for this long (SESSION_IDLE_TIMEOUT).
	SessionIdle time.Duration
	// SessionMaxAge ends every session this long after its login
	// (SESSION_MAX_AGE).
	SessionMaxAge time.Duration

	// KeyEncryptionKey seals the private signing keys in the database
	// (KEY_ENCRYPTION_KEY or KEY_ENCRYPTION_KEY_FILE: 32 bytes in base64).
	KeyEncryptionKey []byte
	// KeyLifetime is how long a signing key signs before the next takes over
	// (KEY_LIFETIME).
	KeyLifetime time.Duration
	// KeyPropagation is how long a new key is published before it signs
	// (KEY_PROPAGATION): time for every system to have it.
	KeyPropagation time.Duration

	// Argon2 are the password hash's parameters (ARGON2_MEMORY_KIB,
	// ARGON2_ITERATIONS, ARGON2_PARALLELISM), at least OWASP's.
	Argon2 password.Params
	// HashConcurrency bounds the password hashes running at once
	// (PASSWORD_HASH_CONCURRENCY), and so the memory they hold.
	HashConcurrency int

	// Rate limits: LIMIT_LOGIN_PER_ACCOUNT, LIMIT_LOGIN_PER_IP, LIMIT_SIGNUP_PER_IP.
	LoginPerAccount ratelimit.Rate
	LoginPerIP      ratelimit.Rate
	SignUpPerIP     ratelimit.Rate

	// TrustedProxies are the addresses whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES, comma-separated addresses or CIDRs, or "none"): the
	// front door's. The client address is the nearest one in
	// X-Forwarded-For that is not a trusted proxy.
	TrustedProxies []netip.Prefix
	// EventSigner signs users' events (EVENT_SIGNING_KEY). Its public half,
	// pinned by chat and cards, is the root of their trust in session tokens:
	// they accept a token key only from a users.signingkey.published.v1 event
	// that this key signed.
	EventSigner *eventsig.Signer
	// ChatEventKeys are scs-chat's pinned public keys (CHAT_EVENT_KEYS): only
	// reports chat signed reach the moderation queue.
	ChatEventKeys *eventsig.Keys

	devKeyEncryptionKey bool
}

// Defaults for a development machine.
const (
	DefaultHTTPAddr        = ":8081"
	DefaultDatabaseURL     = "data/users.db"
	DefaultFeedTokens      = "dev-feed-token"
	DefaultTokenTTL        = 10 * time.Minute
	DefaultSessionIdle     = time.Hour
	DefaultSessionMaxAge   = 12 * time.Hour
	DefaultKeyLifetime     = 30 * 24 * time.Hour
	DefaultKeyPropagation  = 5 * time.Minute
	DefaultLoginPerAccount = "5/1m"
	DefaultLoginPerIP      = "20/15s"
	DefaultSignUpPerIP     = "5/10m"
	DefaultTrustedProxies  = "127.0.0.1/32,::1/128"
)

// devKeyEncryptionKey is the key-encryption key of a development machine:
// "development-key-encryption-key!!". Start-up warns while it is in use.
const devKeyEncryptionKey = "ZGV2ZWxvcG1lbnQta2V5LWVuY3J5cHRpb24ta2V5ISE="

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. An unset or empty variable takes its default. A bad value makes
// a *runtimeconfig.Error that lists every bad variable.
func Load(getenv func(string) string) (Config, error) {
	p := runtimeconfig.NewParser(getenv)
	cfg := Config{
		Base:       p.Base(runtimeconfig.Defaults{HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL}),
		FeedTokens: tokens(p, "FEED_TOKENS", p.Get("FEED_TOKENS", DefaultFeedTokens)),

		TokenTTL:      p.Duration("TOKEN_TTL", p.Get("TOKEN_TTL", DefaultTokenTTL.String()), time.Minute, 24*time.Hour),
		SessionIdle:   p.Duration("SESSION_IDLE_TIMEOUT", p.Get("SESSION_IDLE_TIMEOUT", DefaultSessionIdle.String()), time.Minute, 90*24*time.Hour),
		SessionMaxAge: p.Duration("SESSION_MAX_AGE", p.Get("SESSION_MAX_AGE", DefaultSessionMaxAge.String()), time.Minute, 400*24*time.Hour),

		KeyLifetime:    p.Duration("KEY_LIFETIME", p.Get("KEY_LIFETIME", DefaultKeyLifetime.String()), time.Hour, 400*24*time.Hour),
		KeyPropagation: p.Duration("KEY_PROPAGATION", p.Get("KEY_PROPAGATION", DefaultKeyPropagation.String()), time.Minute, 24*time.Hour),

		Argon2: password.Params{
			MemoryKiB:   uint32(p.Int("ARGON2_MEMORY_KIB", p.Get("ARGON2_MEMORY_KIB", strconv.Itoa(int(password.OWASP.MemoryKiB))), 1, 4<<20)),
			Iterations:  uint32(p.Int("ARGON2_ITERATIONS", p.Get("ARGON2_ITERATIONS", strconv.Itoa(int(password.OWASP.Iterations))), 1, 100)),
			Parallelism: uint8(p.Int("ARGON2_PARALLELISM", p.Get("ARGON2_PARALLELISM", strconv.Itoa(int(password.OWASP.Parallelism))), 1, 64)),
			SaltLength:  password.OWASP.SaltLength,
			KeyLength:   password.OWASP.KeyLength,
		},
		HashConcurrency: p.Int("PASSWORD_HASH_CONCURRENCY", p.Get("PASSWORD_HASH_CONCURRENCY", strconv.Itoa(runtime.NumCPU())), 1, 256),

		LoginPerAccount: p.Rate("LIMIT_LOGIN_PER_ACCOUNT", DefaultLoginPerAccount),
		LoginPerIP:      p.Rate("LIMIT_LOGIN_PER_IP", DefaultLoginPerIP),
		SignUpPerIP:     p.Rate("LIMIT_SIGNUP_PER_IP", DefaultSignUpPerIP),

		TrustedProxies: prefixes(p, "TRUSTED_PROXIES", p.Get("TRUSTED_PROXIES", DefaultTrustedProxies)),
	}
	kek := p.Secret("KEY_ENCRYPTION_KEY", devKeyEncryptionKey)
	cfg.devKeyEncryptionKey = kek == devKeyEncryptionKey
	if b, err := base64.StdEncoding.DecodeString(kek); kek != "" && (err != nil || len(b) != signing.KeyEncryptionKeySize) {
		// Never show the value: it is a secret, even when it is a broken one.
		p.Add("KEY_ENCRYPTION_KEY", "…", "must be 32 random bytes in base64 (openssl rand -base64 32)")
	} else {
		cfg.KeyEncryptionKey = b
	}
	if err := cfg.Argon2.Validate(); err != nil {
		// The ranges above leave only the pair of memory and iterations to fail.
		p.Add("ARGON2_MEMORY_KIB", strconv.Itoa(int(cfg.Argon2.MemoryKiB)), fmt.Sprintf("with ARGON2_ITERATIONS %d is weaker than OWASP's "+
			"minimum; use one of its pairs (KiB/iterations) or stronger: 47104/1, 19456/2, 12288/3, 9216/4, 7168/5", cfg.Argon2.Iterations))
	}
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	if cfg.TokenTTL >= cfg.SessionIdle || cfg.SessionIdle > cfg.SessionMaxAge {
		p.Add("SESSION_IDLE_TIMEOUT", cfg.SessionIdle.String(), fmt.Sprintf("must be longer than TOKEN_TTL (%s) and at most SESSION_MAX_AGE (%s)",
			cfg.TokenTTL, cfg.SessionMaxAge))
	}
	if cfg.KeyPropagation > cfg.KeyLifetime/4 {
		p.Add("KEY_PROPAGATION", cfg.KeyPropagation.String(), "must be at most a quarter of KEY_LIFETIME ("+cfg.KeyLifetime.String()+")")
	}
	// The development secrets, which anyone can read in this repository, would
	// let anyone with a copy of the database mint tokens, or read the event feed.
	p.RefuseDevelopmentDefault(cfg.Production(), "KEY_ENCRYPTION_KEY", kek, devKeyEncryptionKey, "openssl rand -base64 32")
	for _, t := range cfg.FeedTokens {
		p.RefuseDevelopmentDefault(cfg.Production(), "FEED_TOKENS", t, DefaultFeedTokens, "one token per consuming system: openssl rand -hex 24")
	}
	cfg.EventSigner = p.EventSigner("users", cfg.Production())
	cfg.ChatEventKeys = p.EventKeys("CHAT_EVENT_KEYS", "chat", cfg.Production())
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Warnings are settings that work but should not reach production.
func (c Config) Warnings() []string {
	var w []string
	if c.devKeyEncryptionKey {
		w = append(w, "KEY_ENCRYPTION_KEY is not set: the signing keys are sealed with the development key; set it in production")
	}
	for _, t := range c.FeedTokens {
		if t == DefaultFeedTokens {
			w = append(w, "FEED_TOKENS holds the development token; set one token per consuming system in production")
		}
	}
	return w
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

func prefixes(p *runtimeconfig.Parser, name, v string) []netip.Prefix {
	if v == "none" {
		return nil
	}
	var out []netip.Prefix
	for s := range strings.SplitSeq(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			// A bare address is a network of one.
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.Add(name, v, fmt.Sprintf("holds %q, which is neither an address nor a CIDR such as 10.0.0.0/8", s))
				continue
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pre.Masked())
	}
	return out
}
