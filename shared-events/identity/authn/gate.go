package authn

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Gate lets a consuming system's pages through only for a verified token, and
// otherwise sends the browser where it can get one: scs-users' login page, or
// its refresh page for an expired token of a live session. Pages behind the gate
// find the principal with PrincipalFrom.
type Gate struct {
	Verifier *Verifier
	// Cookie is the session cookie's name (see CookieNameFor).
	Cookie string
	// Home is where a browser goes back to after logging in, when the request
	// was not a GET (a form whose page has moved on): the system's start page.
	Home string
	// Lagging answers a token whose user or key the replica does not know yet
	// (see Lagging): a "one moment" page that loads retry, attempt counting from
	// 1. After MaxLagging attempts the browser is sent to log in.
	Lagging func(w http.ResponseWriter, r *http.Request, retry string, attempt int)
	// Unavailable answers when the replica could not be asked (503).
	Unavailable func(w http.ResponseWriter, r *http.Request, err error)
	// MaxLagging bounds the "one moment" attempts (default 5): a kid that was
	// made up never arrives.
	MaxLagging int
}

// lagParam counts the "one moment" attempts in the query of the retried URL.
const lagParam = "lag"

type principalKey struct{}

// PrincipalFrom returns the principal the Gate verified for the request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p, as the Gate passes it on; for tests of
// handlers behind a Gate.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// LoginURL is scs-users' login page, returning to next.
func LoginURL(next string) string { return "/users/login?next=" + url.QueryEscape(next) }

// RefreshURL is scs-users' page that renews the token of a live session and
// returns to next.
func RefreshURL(next string) string { return "/users/session/refresh?next=" + url.QueryEscape(next) }

// Require is the middleware of the pages that need a user.
func (g *Gate) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.verify(r)
		if err == nil {
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
			return
		}
		if !Refused(err) {
			g.Unavailable(w, r, err)
			return
		}
		back, attempt := g.returnTo(r)
		// A websocket or a script cannot follow a redirect to a login form.
		if r.Header.Get("Upgrade") != "" {
			http.Error(w, "Log in again: "+err.Error()+".", http.StatusUnauthorized)
			return
		}
		maxLagging := g.MaxLagging
		if maxLagging <= 0 {
			maxLagging = 5
		}
		switch {
		case Lagging(err) && attempt < maxLagging && r.Method == http.MethodGet:
			g.Lagging(w, r, withLag(back, attempt+1), attempt+1)
		case Lagging(err) && r.Method != http.MethodGet:
			// Retrying a POST would send the form again; the page asks the user to.
			g.Lagging(w, r, "", attempt+1)
		case Refreshable(err):
			http.Redirect(w, r, RefreshURL(back), http.StatusSeeOther)
		default:
			http.Redirect(w, r, LoginURL(back), http.StatusSeeOther)
		}
	})
}

// Check verifies the request's token as Require does, without answering: for
// a fragment that a script fetches, which answers a refusal with 401 rather
// than with a redirect to a login form.
func (g *Gate) Check(r *http.Request) (Principal, error) { return g.verify(r) }

func (g *Gate) verify(r *http.Request) (Principal, error) {
	token, err := TokenFromRequest(r, g.Cookie)
	if err != nil {
		return Principal{}, err
	}
	return g.Verifier.Verify(r.Context(), token)
}

// returnTo is where the browser should come back to, without the lag counter,
// and the attempts made so far.
func (g *Gate) returnTo(r *http.Request) (string, int) {
	if r.Method != http.MethodGet {
		return g.Home, 0
	}
	q := r.URL.Query()
	attempt, _ := strconv.Atoi(q.Get(lagParam))
	attempt = max(attempt, 0)
	q.Del(lagParam)
	back := r.URL.EscapedPath()
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	return back, attempt
}

func withLag(u string, attempt int) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	q.Set(lagParam, strconv.Itoa(attempt))
	parsed.RawQuery = q.Encode()
	return parsed.String()
}
