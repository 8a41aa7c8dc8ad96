package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// Cookies is how scs-users issues the origin-wide session cookie.
type Cookies struct {
	// Name is authn.CookieName, or authn.SecureCookieName over HTTPS.
	Name string
	// Secure marks the cookie Secure (PUBLIC_URL is https).
	Secure bool
	// Audience is the tokens' aud (see authn.Audience).
	Audience string
	// TTL is how long a token lives.
	TTL time.Duration
}

// NewCookies returns the cookie settings for the origin at publicURL.
func NewCookies(publicURL *url.URL, ttl time.Duration) Cookies {
	return Cookies{Name: authn.CookieNameFor(publicURL), Secure: publicURL.Scheme == "https", Audience: authn.Audience(publicURL), TTL: ttl}
}

// viewer is the logged-in user of a request.
type viewer struct {
	user    accounts.User
	session accounts.Session
}

type viewerKey struct{}

func viewerFrom(ctx context.Context) (viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(viewer)
	return v, ok
}

// withSession finds the logged-in user of every request, if any. The token in
// the cookie names the session; the session's row, not the token, decides:
// scs-users is the one system that does not need to wait for its own events.
//
// A token that is about to expire, has expired or belongs to a renewed session
// is replaced on the way, so that the other systems, which see only the token,
// keep accepting it while the user is active here.
func (h *handlers) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := authn.TokenFromRequest(r, h.cookies.Name)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		claims, err := h.parser.ParseExpired(r.Context(), token)
		if err != nil {
			if !authn.Refused(err) {
				h.unavailable(w, r, "read the session token", err)
				return
			}
			h.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		sess, user, err := h.accounts.Resume(r.Context(), claims.SessionID, claims.UserID, claims.IssuedAt, claims.Role, h.client(r))
		if errors.Is(err, accounts.ErrSessionEnded) {
			h.clearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.unavailable(w, r, "resume the session", err)
			return
		}
		if sess.ID != claims.SessionID || time.Until(claims.ExpiresAt) < h.cookies.TTL/2 {
			if err := h.issueCookie(w, r, user, sess); err != nil {
				h.unavailable(w, r, "renew the session token", err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, viewer{user: user, session: sess})))
	})
}

// requireLogin sends a visitor who is not logged in to the login page, with
// the page they wanted as next.
func (h *handlers) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := viewerFrom(r.Context()); !ok {
			target := r.URL.Path
			if r.Method != http.MethodGet {
				// A form sent after the session ended: come back to its page,
				// not to a URL that only takes POST.
				target = "/users/account"
			} else if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, loginURL(target), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin refuses everyone but active admins with 403. It runs after
// requireLogin.
func (h *handlers) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := viewerFrom(r.Context())
		if !v.user.IsAdmin() {
			h.errorPage(w, r, http.StatusForbidden, "Admins only", "This page is for the platform's admins.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// issueCookie signs a token for the session and sets it as the cookie. The
// cookie lives as long as the session may; the token inside it expires
// sooner, and is replaced while the session lives.
func (h *handlers) issueCookie(w http.ResponseWriter, r *http.Request, u accounts.User, s accounts.Session) error {
	kid, key, err := h.keys.Signer(r.Context())
	if err != nil {
		return err
	}
	now := time.Now()
	exp := now.Add(h.cookies.TTL)
	if s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	if !exp.After(now.Add(time.Second)) {
		exp = now.Add(time.Second) // the session ends now; the cookie with it
	}
	token, err := authn.Sign(key, authn.Claims{KeyID: kid, UserID: u.ID, SessionID: s.ID, Role: u.Role,
		Audience: h.cookies.Audience, IssuedAt: now, ExpiresAt: exp})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookies.Name,
		Value:    token,
		Path:     "/",
		MaxAge:   max(1, int(s.ExpiresAt.Sub(now).Round(time.Second).Seconds())),
		HttpOnly: true,
		Secure:   h.cookies.Secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (h *handlers) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.cookies.Name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cookies.Secure, SameSite: http.SameSiteLaxMode})
}
