// Package accounts is scs-users' own logic: accounts, their credentials and
// their server-side sessions, and the events that tell the other systems about
// them. Every change is written in one transaction together with its events
// (the outbox), so that what the other systems replicate never differs from
// what happened here.
//
// The web handlers and the command line call the Service; nothing else writes
// the users and sessions tables.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
)

// User is an account.
type User struct {
	ID          string
	Email       string // lower-cased; "" once deleted
	DisplayName string
	Role        contracts.Role
	Status      contracts.Status
	// TokensValidAfter refuses every token issued before it, in whole seconds.
	TokensValidAfter time.Time
	// Version is the users.user aggregate's version.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time

	passwordHash string
}

// IsAdmin reports whether the user may use the admin pages.
func (u User) IsAdmin() bool {
	return u.Role == contracts.RoleAdmin && u.Status == contracts.StatusActive
}

// Session is a server-side login session: the sid of the tokens in the cookie.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
	// ExpiresAt is the absolute end, whatever the activity.
	ExpiresAt time.Time
	UserAgent string
	IP        string
	RevokedAt time.Time // zero while the session lives
	// RevokedReason says why it ended: "logout", "revoked", "renewed", ...
	RevokedReason string
	// ReplacedBy is the session that took over from a renewed one.
	ReplacedBy string
}

// Client is who is on the other end of a request: the device and the address
// shown in the list of sessions.
type Client struct {
	IP        string
	UserAgent string
}

// maxUserAgent bounds the user agent kept per session; the list of sessions
// shows a short description of it, nothing more.
const maxUserAgent = 512

func (c Client) normalised() Client {
	ua := strings.ToValidUTF8(c.UserAgent, "")
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	return Client{IP: c.IP, UserAgent: ua}
}

// SessionPolicy is how long sessions last.
type SessionPolicy struct {
	// Idle ends a session nobody used for this long.
	Idle time.Duration
	// MaxAge ends every session this long after the login.
	MaxAge time.Duration
}

// Limits are the brute-force limits of logins and sign-ups.
type Limits struct {
	LoginPerAccount ratelimit.Rate
	LoginPerIP      ratelimit.Rate
	SignUpPerIP     ratelimit.Rate
}

// Hasher hashes and verifies passwords (a *password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
}

// Limiter counts attempts in leaky buckets (a *ratelimit.Limiter).
type Limiter interface {
	Take(ctx context.Context, limits ...ratelimit.Limit) (ratelimit.Decision, error)
	Refund(ctx context.Context, limits ...ratelimit.Limit) error
}

// Service is the accounts' logic.
type Service struct {
	DB      *sqldb.DB
	Outbox  *outbox.Outbox
	Hasher  Hasher
	Limiter Limiter
	Limits  Limits
	Policy  SessionPolicy
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Errors the handlers turn into pages. Each says in plain words what the user
// sees.
var (
	// ErrNotFound is an account or a session that does not exist (or not for
	// the one asking).
	ErrNotFound = errors.New("not found")
	// ErrInvalidCredentials is a wrong password, or an email nobody signed up
	// with: the two are never told apart.
	ErrInvalidCredentials = errors.New("the email address or the password is not right")
	// ErrSuspended is a login with the right password to a banned account.
	ErrSuspended = errors.New("this account is suspended")
	// ErrSessionEnded is a session that was revoked, expired or went idle.
	ErrSessionEnded = errors.New("the session has ended")
	// ErrLastAdmin refuses to take the admin role from, ban or delete the only
	// active admin.
	ErrLastAdmin = errors.New("this is the only admin; make someone else admin first")
	// ErrSelf refuses an admin's ban of their own account.
	ErrSelf = errors.New("admins cannot ban themselves")
)

// FieldErrors maps a form field to what is wrong with it.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, k+": "+f[k])
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// RateLimited is an attempt refused by a limiter.
type RateLimited struct {
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("too many attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// RetryAfterSeconds is the Retry-After header's value: whole seconds, rounded up.
func (e *RateLimited) RetryAfterSeconds() int {
	return ratelimit.Decision{RetryAfter: e.RetryAfter}.RetryAfterSeconds()
}
