package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
)

// Key is a public key that verifies session tokens while the current time lies
// within [NotBefore, NotAfter).
type Key struct {
	ID        string
	Public    ed25519.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// Keys finds the public key of a kid. It returns an error wrapping ErrUnknownKey
// when there is none.
type Keys interface {
	SigningKey(ctx context.Context, kid string) (Key, error)
}

// DefaultLeeway is the clock skew Parser allows between the instance that signed
// a token and the one that checks it.
const DefaultLeeway = 5 * time.Second

// Parser checks a token's form, algorithm, key, signature, audience and times.
type Parser struct {
	Keys Keys
	// Audience is the only aud accepted (see Audience).
	Audience string
	// Leeway is the allowed clock skew (default DefaultLeeway).
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Parser) leeway() time.Duration {
	if p.Leeway > 0 {
		return p.Leeway
	}
	return DefaultLeeway
}

// Parse returns the claims of a token that passes every check of the token
// itself. The replica's checks (user, session, tokens_valid_after) are
// Verifier's.
func (p *Parser) Parse(ctx context.Context, token string) (Claims, error) {
	return p.parse(ctx, token, false)
}

// ParseExpired is Parse without the expiry checks, for scs-users' refresh, which
// replaces an expired token as long as the server-side session lives: neither
// the token's exp nor the end of its key's window counts, since a key retires
// when its last tokens expire, not its sessions. Every other check still
// applies; a revoked key is one the key store no longer knows.
func (p *Parser) ParseExpired(ctx context.Context, token string) (Claims, error) {
	return p.parse(ctx, token, true)
}

func (p *Parser) parse(ctx context.Context, token string, allowExpired bool) (Claims, error) {
	if token == "" {
		return Claims{}, ErrNoToken
	}
	now := p.now()
	var c claims
	var key Key
	// A key whose window is over still checks the signature, so that an
	// expired token of a retired key is reported as expired (and refreshable),
	// and only a token that is still within its time is ErrKeyNotValid.
	var retired bool
	opts := []jwt.ParserOption{
		// The allow-list is what refuses "none" and HS256 signed with the public
		// key as the HMAC secret: the library never picks a method from the header.
		jwt.WithValidMethods([]string{contracts.AlgorithmEdDSA}),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(p.leeway()),
	}
	if allowExpired {
		// Times are checked below instead.
		opts = append(opts, jwt.WithoutClaimsValidation())
	} else {
		opts = append(opts, jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithAudience(p.Audience), jwt.WithIssuer(Issuer))
	}
	t, err := jwt.NewParser(opts...).ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("%w: the token names no kid", ErrUnknownKey)
		}
		k, err := p.Keys.SigningKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		if now.Before(k.NotBefore) {
			return nil, keyNotValid(k)
		}
		retired = !now.Before(k.NotAfter)
		key = k
		return k.Public, nil
	})
	if err != nil {
		return Claims{}, refusal(t, err)
	}
	if retired && !allowExpired {
		return Claims{}, keyNotValid(key)
	}
	out := Claims{
		KeyID:     key.ID,
		UserID:    c.Subject,
		SessionID: c.SessionID,
		Role:      c.Role,
	}
	if len(c.Audience) == 1 {
		out.Audience = c.Audience[0]
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.UTC()
	}
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.UTC()
	}
	if err := p.checkClaims(out, now, c.Issuer, allowExpired); err != nil {
		return Claims{}, err
	}
	return out, nil
}

func keyNotValid(k Key) error {
	return fmt.Errorf("%w: %s is valid from %s until %s", ErrKeyNotValid, k.ID,
		k.NotBefore.UTC().Format(time.RFC3339), k.NotAfter.UTC().Format(time.RFC3339))
}

// checkClaims checks what the library does not: the claims the platform
// requires, their form, and (for ParseExpired) the times and audience.
func (p *Parser) checkClaims(c Claims, now time.Time, issuer string, allowExpired bool) error {
	switch {
	case !isUUID(c.UserID):
		return fmt.Errorf("%w: sub is not a user id", ErrMalformed)
	case !isUUID(c.SessionID):
		return fmt.Errorf("%w: sid is not a session id", ErrMalformed)
	case c.Role != contracts.RoleUser && c.Role != contracts.RoleAdmin:
		return fmt.Errorf("%w: role %q is not a role", ErrMalformed, c.Role)
	case c.IssuedAt.IsZero() || c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: iat and exp are required", ErrMalformed)
	case issuer != Issuer:
		return fmt.Errorf("%w: iss is %q, not %q", ErrMalformed, issuer, Issuer)
	case c.Audience != p.Audience:
		return fmt.Errorf("%w: aud is %q, not %q", ErrAudience, c.Audience, p.Audience)
	}
	if allowExpired && c.IssuedAt.After(now.Add(p.leeway())) {
		return ErrNotYetValid
	}
	return nil
}

// refusal maps the library's error to the platform's reasons. Checks the token
// failed together (an expired token for another audience) are reported in a
// fixed order, the most fundamental first.
func refusal(t *jwt.Token, err error) error {
	ours := []error{ErrUnknownKey, ErrKeyNotValid}
	for _, e := range ours {
		if errors.Is(err, e) {
			return err
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case t != nil && (t.Method == nil || t.Method.Alg() != contracts.AlgorithmEdDSA):
		// A header naming no algorithm the library knows leaves Method nil; one it
		// knows but we do not allow fails the allow-list.
		return fmt.Errorf("%w: %v", ErrAlgorithm, t.Header["alg"])
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The keyfunc failed with something other than a refusal: the key store.
		return fmt.Errorf("authn: look up the signing key: %w", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

func isUUID(s string) bool {
	u, err := uuid.Parse(s)
	// uuid.Parse also takes braces, URNs and upper case; the platform writes
	// ids one way only.
	return err == nil && u.String() == s
}
