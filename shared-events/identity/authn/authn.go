// Package authn is the platform's session token: the Ed25519-signed JWT that
// scs-users puts in the one cookie of the whole origin, and the checks every
// system runs on it before it serves a user.
//
// scs-users signs (Sign). Every system parses (Parser) with the public keys it
// holds; scs-chat and scs-cards then verify the token against their replica of
// scs-users' data (Verifier): the user is known, active, the session is not
// revoked and the token is not older than the user's tokens_valid_after. A token
// is refused for every reason the contract names, each with an error of its own
// (see the Err variables), so that a system can tell a token that only needs
// refreshing (Refreshable) from one that needs a new login.
package authn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scs-platform/shared-events/contracts"
)

// Issuer is the iss claim of every session token.
const Issuer = "scs-users"

// Cookie names. Over HTTPS the cookie carries the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain: a sibling subdomain
// cannot plant or shadow it.
const (
	CookieName       = "scs_session"
	SecureCookieName = "__Host-scs_session"
)

// CookieNameFor returns the cookie's name for the origin at publicURL.
func CookieNameFor(publicURL *url.URL) string {
	if publicURL.Scheme == "https" {
		return SecureCookieName
	}
	return CookieName
}

// Audience returns the aud claim of tokens for the origin at publicURL: its
// scheme and host, so that a token of one deployment (staging, say) is refused by
// another.
func Audience(publicURL *url.URL) string {
	return publicURL.Scheme + "://" + publicURL.Host
}

// TokenFromRequest returns the session token in r's cookie named name, or
// ErrNoToken.
func TokenFromRequest(r *http.Request, name string) (string, error) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return "", ErrNoToken
	}
	return c.Value, nil
}

// Claims are what a session token says.
type Claims struct {
	// KeyID is the kid header: the signing key.
	KeyID string
	// UserID is the sub claim.
	UserID string
	// SessionID is the sid claim: the server-side session in scs-users.
	SessionID string
	// Role is the role claim, the user's role when the token was issued.
	Role contracts.Role
	// Audience is the aud claim (see Audience).
	Audience string
	// IssuedAt and ExpiresAt are the iat and exp claims, in whole seconds.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// claims is the JWT payload.
type claims struct {
	jwt.RegisteredClaims
	SessionID string         `json:"sid"`
	Role      contracts.Role `json:"role"`
}

// Sign returns c as a compact JWS signed with key, with c.KeyID in its kid
// header. IssuedAt and ExpiresAt are truncated to whole seconds, as JWT's
// NumericDate carries them.
func Sign(key ed25519.PrivateKey, c Claims) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", errors.New("authn: sign: not an Ed25519 private key")
	}
	if c.KeyID == "" || c.UserID == "" || c.SessionID == "" || c.Audience == "" {
		return "", errors.New("authn: sign: kid, sub, sid and aud are required")
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return "", errors.New("authn: sign: the token must expire after it is issued")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   c.UserID,
			Audience:  jwt.ClaimStrings{c.Audience},
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		SessionID: c.SessionID,
		Role:      c.Role,
	})
	t.Header["kid"] = c.KeyID
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("authn: sign: %w", err)
	}
	return s, nil
}

// Reasons a token is refused. Every error of Parse and Verify that is about the
// token (rather than a failing database) wraps exactly one of them.
var (
	ErrNoToken   = errors.New("no session token")
	ErrMalformed = errors.New("the session token is malformed")
	// ErrAlgorithm is a token signed with anything but EdDSA, "none" and HS256
	// keyed with the public key included.
	ErrAlgorithm  = errors.New("the session token's algorithm is not allowed")
	ErrUnknownKey = errors.New("the session token's signing key is unknown")
	// ErrKeyNotValid is a known key used outside its validity window.
	ErrKeyNotValid = errors.New("the session token's signing key is not valid now")
	ErrSignature   = errors.New("the session token's signature is not valid")
	ErrAudience    = errors.New("the session token is for another audience")
	ErrExpired     = errors.New("the session token has expired")
	// ErrNotYetValid is a token issued in the future, beyond the allowed clock skew.
	ErrNotYetValid = errors.New("the session token is issued in the future")
	ErrUnknownUser = errors.New("the session token's user is unknown")
	ErrBanned      = errors.New("the session token's user is banned")
	ErrDeleted     = errors.New("the session token's user is deleted")
	ErrRevoked     = errors.New("the session token's session was revoked")
	// ErrStale is a token issued before its user's tokens_valid_after: after a
	// password change, "log out other devices" or a role change.
	ErrStale = errors.New("the session token was issued before the user's tokens were renewed")
)

var refusals = []error{ErrNoToken, ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrKeyNotValid, ErrSignature,
	ErrAudience, ErrExpired, ErrNotYetValid, ErrUnknownUser, ErrBanned, ErrDeleted, ErrRevoked, ErrStale}

// Refused reports whether err refuses the token, as opposed to a failure of the
// store that could not be asked (which deserves a 503, not a login page).
func Refused(err error) bool {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// Refreshable reports whether err refuses a token that scs-users may replace
// without a new login, if the server-side session still lives: it has expired,
// or it predates the user's tokens_valid_after. A system sends such a browser to
// scs-users' refresh page rather than to the login page.
func Refreshable(err error) bool {
	return errors.Is(err, ErrExpired) || errors.Is(err, ErrStale)
}

// Lagging reports whether err refuses a token that names a user or a key the
// replica does not know yet: right after a sign-up, or a key that signs before
// its event arrived. The replication lag is usually milliseconds; a system
// shows a "one moment" page that tries again rather than send the browser to
// scs-users, which would find nothing wrong and send it back. It must try a
// few times only (a made-up kid never arrives), then send the browser to log in.
func Lagging(err error) bool {
	return errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrUnknownKey)
}
