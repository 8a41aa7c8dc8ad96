// Package pages is what every system's server-rendered pages share below their
// look: the security headers, the serving of embedded assets, and refusing input
// that is not text before a handler sees it. Each system renders its own pages
// and error pages; this package only decides.
package pages

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ContentSecurityPolicy allows nothing but this origin's own stylesheets,
// scripts, images, fetches and websockets, no framing and no form that posts
// elsewhere: an injected tag, should one ever slip through templ's escaping,
// can do little.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets the headers every page carries. Pages hold personal
// data, so no cache keeps them.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// StaticFiles serves the embedded assets, which change only with a release:
// browsers may keep them for an hour. It lists no directory.
func StaticFiles(assets fs.FS) http.Handler {
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// IsText reports whether s is UTF-8 without NUL: no field has any use for
// anything else, and PostgreSQL refuses to store or compare such bytes, which
// would turn a typo into a 503.
func IsText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// ValidForm reports whether every key and value of v is text (see IsText).
func ValidForm(v url.Values) bool {
	for k, vs := range v {
		if !IsText(k) {
			return false
		}
		for _, s := range vs {
			if !IsText(s) {
				return false
			}
		}
	}
	return true
}

// TextOnly is middleware that answers with refuse a request whose path or
// query is not text: nothing the pages link to is.
func TextOnly(refuse http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !IsText(r.URL.Path) || !ValidForm(r.URL.Query()) {
				refuse(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The ways ParseForm fails, each deserving its own sentence and status.
var (
	// ErrTooLarge is a body over the limit (413).
	ErrTooLarge = errors.New("the form is larger than this site accepts")
	// ErrNotText is a form holding bytes that are not text (400).
	ErrNotText = errors.New("the form holds characters that are not text")
	// ErrUnreadable is a body that is not a form (400).
	ErrUnreadable = errors.New("the form could not be read")
)

// ParseForm reads a POST's form, at most maxBytes of it, and checks that it is
// text. Its error is one of ErrTooLarge, ErrNotText and ErrUnreadable.
func ParseForm(w http.ResponseWriter, r *http.Request, maxBytes int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	err := r.ParseForm()
	switch {
	case err == nil && !ValidForm(r.PostForm):
		return ErrNotText
	case err == nil:
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return ErrTooLarge
	}
	return ErrUnreadable
}

// Refusal says in plain words why ParseForm refused a form, for the system's
// error page: the status, a title and a sentence.
func Refusal(err error) (status int, title, message string) {
	switch {
	case errors.Is(err, ErrNotText):
		return http.StatusBadRequest, "The form could not be read", "It held characters that are not text. Go back, check what you typed and try again."
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "Too much text", "The form was larger than this site accepts. Shorten what you typed and try again."
	default:
		return http.StatusBadRequest, "The form could not be read", "Go back, reload the page and try again."
	}
}

// NotTextTitle and NotTextMessage are the error page of an address that is not
// text (see TextOnly).
const (
	NotTextTitle   = "Not a valid address"
	NotTextMessage = "The address holds characters that are not text."
)

//go:embed static
var static embed.FS

// Assets are the platform's own assets, which every system serves beside its
// own under /<system>/static/ (see routing.Prefix): site.css, the base look
// that makes the three systems one application. A system's own look goes in
// its own stylesheet, loaded after it.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is there, or this does not build
	}
	return sub
}
