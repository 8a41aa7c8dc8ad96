package accounts

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"

	"github.com/scs-platform/scs-users/internal/password"
)

// SignUp is what the sign-up form sends.
type SignUp struct {
	Email       string
	DisplayName string
	Password    string
	Client      Client
}

// SignUp creates an account and logs it in. Bad input is a FieldErrors, an
// address already in use too (there is no e-mail round trip that could hide it;
// the per-address sign-up limit keeps probing slow). A limited client gets a
// *RateLimited.
func (s *Service) SignUp(ctx context.Context, in SignUp) (User, Session, error) {
	errs := FieldErrors{}
	email, msg := checkEmail(in.Email)
	if msg != "" {
		errs["email"] = msg
	}
	name, msg := checkDisplayName(in.DisplayName)
	if msg != "" {
		errs["display_name"] = msg
	}
	local, _, _ := strings.Cut(email, "@")
	if err := password.Check(in.Password, email, local, name); err != nil {
		errs["password"] = policyMessage(err)
	}
	if len(errs) > 0 {
		return User{}, Session{}, errs
	}
	// Only well-formed attempts count: a mistyped form costs the user nothing,
	// and tells an attacker nothing.
	if err := s.take(ctx, s.signUpLimits(in.Client)...); err != nil {
		return User{}, Session{}, err
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, Session{}, err
	}
	now := s.now()
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, Session{}, fmt.Errorf("accounts: new user id: %w", err)
	}
	u := User{ID: id.String(), Email: email, DisplayName: name, Role: contracts.RoleUser, Status: contracts.StatusActive,
		TokensValidAfter: now.Truncate(time.Second), Version: 1, CreatedAt: now, UpdatedAt: now, passwordHash: hash}
	sess := s.newSession(u.ID, in.Client, now)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// ON CONFLICT on the address rather than a failed INSERT: on PostgreSQL a
		// unique violation aborts the transaction, and the dialects word it
		// differently.
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, display_name, name_folded, password_hash, role, status,
			tokens_valid_after_us, version, created_at_us, updated_at_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (email) DO NOTHING`,
			u.ID, u.Email, u.DisplayName, foldName(u.DisplayName), hash, string(u.Role), string(u.Status), u.TokensValidAfter.UnixMicro(), u.Version, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("accounts: insert user: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return FieldErrors{"email": "An account with this email address already exists. Log in instead, or use another address."}
		}
		if err := insertSession(ctx, tx, sess); err != nil {
			return err
		}
		return s.publishUser(ctx, tx, u)
	})
	if err != nil {
		return User{}, Session{}, err
	}
	return u, sess, nil
}

// LogIn is what the login form sends.
type LogIn struct {
	Email    string
	Password string
	Client   Client
	// Previous is the session the browser still holds, if any: it ends, so
	// that a login never leaves an older session of the same browser behind.
	Previous string
}

// LogIn checks the credentials and starts a new session (a new id, whatever
// the browser held before).
//
// An unknown address and a wrong password take the same path: the same
// limiters, one password hash each, the same error. The attempt counts against
// the address and the client's address before any hashing; a successful login
// takes its count back, so a user's own logins never lock them out.
func (s *Service) LogIn(ctx context.Context, in LogIn) (User, Session, error) {
	errs := FieldErrors{}
	email := normaliseEmail(in.Email)
	switch {
	case email == "":
		errs["email"] = "Enter your email address."
	case len(email) > MaxEmailLength:
		errs["email"] = "This email address is too long."
	}
	if in.Password == "" {
		errs["password"] = "Enter your password."
	}
	if len(errs) > 0 {
		return User{}, Session{}, errs
	}
	limits := s.loginLimits(email, in.Client)
	if err := s.take(ctx, limits...); err != nil {
		return User{}, Session{}, err
	}
	refunded := false
	// A second try only when the hash changed under the first: a concurrent
	// login of the same account re-hashed it (a double click after the
	// parameters were raised), and the same password deserves a second look.
	for try := 1; ; try++ {
		u, sess, err := s.logIn(ctx, in, email)
		if errors.Is(err, errHashChanged) && try == 1 {
			continue
		}
		if errors.Is(err, errHashChanged) {
			err = ErrInvalidCredentials
		}
		if !refunded && (err == nil || errors.Is(err, ErrSuspended)) {
			refunded = true
			if err := s.Limiter.Refund(ctx, limits...); err != nil {
				s.Logger.WarnContext(ctx, "refund login attempt", "err", err)
			}
		}
		return u, sess, err
	}
}

// errHashChanged is a login whose password was checked against a hash that
// another transaction replaced before the session could be written.
var errHashChanged = errors.New("the password hash changed during the login")

// logIn checks the password of the account of email and writes its new
// session, if the account is still as it was checked.
func (s *Service) logIn(ctx context.Context, in LogIn, email string) (User, Session, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, Session{}, err
	}
	// For an unknown address u.passwordHash is "", which Verify checks against
	// a dummy hash of the same cost.
	ok, rehash, err := s.Hasher.Verify(ctx, in.Password, u.passwordHash)
	if err != nil {
		return User{}, Session{}, err
	}
	if !ok {
		return User{}, Session{}, ErrInvalidCredentials
	}
	if u.Status != contracts.StatusActive {
		return User{}, Session{}, ErrSuspended
	}
	var newHash string
	if rehash {
		// The parameters were raised since this hash was made; now is the only
		// time the password is at hand to hash it again.
		if newHash, err = s.Hasher.Hash(ctx, in.Password); err != nil {
			return User{}, Session{}, err
		}
	}
	now := s.now()
	sess := s.newSession(u.ID, in.Client, now)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The password was checked against the hash read before the hashing; a
		// password change, a ban or a deletion may have committed since. Only
		// the account as it was checked may log in, and only its hash may be
		// replaced.
		current, err := lockUser(ctx, s.DB, tx, u.ID)
		if err != nil {
			return err
		}
		switch {
		case current.Status == contracts.StatusDeleted:
			return ErrInvalidCredentials
		case current.passwordHash != u.passwordHash:
			return errHashChanged
		case current.Status != contracts.StatusActive:
			return ErrSuspended
		}
		if newHash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, newHash); err != nil {
				return fmt.Errorf("accounts: re-hash password: %w", err)
			}
		}
		if err := insertSession(ctx, tx, sess); err != nil {
			return err
		}
		if in.Previous == "" {
			return nil
		}
		ended, err := revokeSessions(ctx, tx, now, reasonLogout, "", `id = $4`, in.Previous)
		if err != nil {
			return err
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
	if err != nil {
		return User{}, Session{}, err
	}
	return u, sess, nil
}

func (s *Service) newSession(userID string, c Client, now time.Time) Session {
	c = c.normalised()
	// Version 4, all random: the id is not a secret (the token's signature is),
	// but nothing about it should be guessable either.
	return Session{ID: uuid.NewString(), UserID: userID, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.Policy.MaxAge), UserAgent: c.UserAgent, IP: c.IP}
}

func (s *Service) take(ctx context.Context, limits ...ratelimit.Limit) error {
	d, err := s.Limiter.Take(ctx, limits...)
	if err != nil {
		return err
	}
	if !d.Allowed {
		s.Logger.InfoContext(ctx, "attempt refused by a rate limit", "bucket", d.Refused, "retry_after", d.RetryAfter)
		return &RateLimited{RetryAfter: d.RetryAfter}
	}
	return nil
}

func (s *Service) loginLimits(email string, c Client) []ratelimit.Limit {
	return []ratelimit.Limit{s.accountLimit(email), {Key: bucket("login-ip", clientKey(c.IP)), Rate: s.Limits.LoginPerIP}}
}

// accountLimit is the bucket of the password attempts on one account, at
// login and when a logged-in user confirms a change with their password.
func (s *Service) accountLimit(email string) ratelimit.Limit {
	return ratelimit.Limit{Key: bucket("login-account", email), Rate: s.Limits.LoginPerAccount}
}

func (s *Service) signUpLimits(c Client) []ratelimit.Limit {
	return []ratelimit.Limit{{Key: bucket("signup-ip", clientKey(c.IP)), Rate: s.Limits.SignUpPerIP}}
}

// bucket names a rate-limit bucket by a hash of what it counts, so that the
// table and the logs hold neither addresses people typed (and attackers'
// guesses) nor client addresses.
func bucket(kind, value string) string {
	sum := sha256.Sum256([]byte(value))
	return kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// clientKey is the address a client is limited by: an IPv4 address, or the
// /64 network of an IPv6 one, since one subscriber usually holds a whole /64.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func policyMessage(err error) string {
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}
