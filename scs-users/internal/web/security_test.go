package web_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestUnknownEmailAndWrongPasswordLookAlike: the login answers a wrong
// password for a real account exactly as it answers an address nobody signed up
// with (status, headers that matter, body but for the echoed address), and
// both cost one password hash.
func TestUnknownEmailAndWrongPasswordLookAlike(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	s.browser(t).signUp("ada@example.com", "Ada")

	count := func() uint64 {
		n, err := hashesRun(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	attempt := func(email string) (response, uint64) {
		before := count()
		r := s.browser(t).post("/users/login", "email", email, "password", "not the right password")
		return r, count() - before
	}
	wrong, wrongHashes := attempt("ada@example.com")
	unknown, unknownHashes := attempt("nobody@example.com")

	if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status {
		t.Errorf("statuses: wrong password %d, unknown address %d; want both 401", wrong.status, unknown.status)
	}
	same := strings.ReplaceAll(unknown.body, "nobody@example.com", "ada@example.com")
	if same != wrong.body {
		t.Errorf("the bodies differ beyond the echoed address:\nwrong password:\n%s\nunknown address:\n%s", wrong.body, unknown.body)
	}
	for _, h := range []string{"Set-Cookie", "Content-Type", "Retry-After"} {
		if wrong.header.Get(h) != unknown.header.Get(h) {
			t.Errorf("header %s: %q vs %q", h, wrong.header.Get(h), unknown.header.Get(h))
		}
	}
	if wrongHashes != 1 || unknownHashes != 1 {
		t.Errorf("hashes: wrong password %d, unknown address %d; want one each", wrongHashes, unknownHashes)
	}
	if msg := text(find(t, wrong.body, "login-error")); !strings.Contains(msg, "email address or the password is not right") {
		t.Errorf("login error %q", msg)
	}
}

// hashesRun returns how many hashes the hasher has run, from its metrics.
func hashesRun(s *site) (uint64, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(s.hasher); err != nil {
		return 0, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == "password_hash_duration_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount(), nil
		}
	}
	return 0, nil
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	ada := s.browser(t)
	ada.signUp("ada@example.com", "Ada")
	form := url.Values{"display_name": {"Pwned"}}
	for name, headers := range map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site", "same-site"},
		"Origin of another site":    {"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ada.do(http.MethodPost, "/users/account/name", form, headers...)
			if r.status != http.StatusForbidden || find(t, r.body, "error-page") == nil {
				t.Fatalf("cross-origin POST answered %d, want 403 with an error page:\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, "sent from a page that is not part of the platform") {
				t.Errorf("the 403 does not say why:\n%s", r.body)
			}
		})
	}
	if u := s.user(t, "ada@example.com"); u.DisplayName != "Ada" {
		t.Fatalf("a cross-origin POST renamed the user to %q", u.DisplayName)
	}
	// A cross-site login (login CSRF) is refused too.
	r := s.browser(t).do(http.MethodPost, "/users/login", url.Values{"email": {"ada@example.com"}, "password": {pw}}, "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site login answered %d with cookie %q, want 403 and none", r.status, r.header.Get("Set-Cookie"))
	}
	// The same form from the site itself works.
	if r := ada.post("/users/account/name", "display_name", "Ada L."); r.status != http.StatusSeeOther {
		t.Errorf("same-origin rename answered %d", r.status)
	}
}

func TestNextNeverLeavesTheOrigin(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	s.browser(t).signUp("ada@example.com", "Ada")
	for _, tc := range []struct{ next, want string }{
		{"https://evil.example/", "/users/account?done=login"},
		{"//evil.example/", "/users/account?done=login"},
		{`/\evil.example/`, "/users/account?done=login"},
		{"/%2F%2Fevil.example", "/users/account?done=login"},
		{"javascript:alert(1)", "/users/account?done=login"},
		{"/chat/../../evil", "/users/account?done=login"},
		{"/chat/conversations?x=1", "/chat/conversations?x=1"},
		{"/cards/", "/cards/"},
	} {
		b := s.browser(t)
		r := b.post("/users/login", "email", "ada@example.com", "password", pw, "next", tc.next)
		if r.status != http.StatusSeeOther || r.location != tc.want {
			t.Errorf("next=%q: %d to %q, want 303 to %q", tc.next, r.status, r.location, tc.want)
		}
	}
	// The login page carries only a safe next into its form.
	r := s.browser(t).get("/users/login?next=" + url.QueryEscape("https://evil.example/"))
	if v, _ := inputValue(t, r.body, "next"); v != "/users/account" {
		t.Errorf("the login form carries next=%q", v)
	}
}

// TestNobodyEndsAnotherUsersSession is the IDOR check of the session list.
func TestNobodyEndsAnotherUsersSession(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	ada, bob := s.browser(t), s.browser(t)
	ada.signUp("ada@example.com", "Ada")
	bob.signUp("bob@example.com", "Bob")
	sessions, err := s.accounts.Sessions(context.Background(), s.user(t, "ada@example.com").ID)
	if err != nil || len(sessions) != 1 {
		t.Fatal(sessions, err)
	}
	r := bob.post("/users/account/sessions/" + sessions[0].ID + "/revoke")
	if r.status != http.StatusNotFound {
		t.Errorf("Bob ending Ada's session answered %d, want 404", r.status)
	}
	if r := ada.get("/users/account"); r.status != http.StatusOK {
		t.Fatalf("Ada's session ended: %d", r.status)
	}
	if r := bob.post("/users/account/sessions/not-an-id/revoke"); r.status != http.StatusNotFound {
		t.Errorf("a made-up id answered %d, want 404", r.status)
	}
}

func TestTooManyLoginsAnswer429(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	s.browser(t).signUp("ada@example.com", "Ada")
	b := s.browser(t)
	for i := range 5 {
		if r := b.post("/users/login", "email", "ada@example.com", "password", "wrong password "+strconv.Itoa(i)); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d answered %d", i+1, r.status)
		}
	}
	r := b.post("/users/login", "email", "ada@example.com", "password", pw)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt answered %d, want 429", r.status)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	if !strings.Contains(text(find(t, r.body, "error-page")), "Too many attempts") || r.header.Get("Set-Cookie") != "" {
		t.Errorf("the 429 page does not say what happened, or logs in:\n%s", r.body)
	}
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	r := s.browser(t).get("/users/login")
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("%s = %q, want it to hold %q", h, r.header.Get(h), want)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	r := s.browser(t).post("/users/signup", "email", "ada@example.com", "display_name", "Ada", "password", pw)
	c := r.header.Get("Set-Cookie")
	for _, want := range []string{"scs_session=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=43200"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie %q lacks %s", c, want)
		}
	}
	if strings.Contains(c, "Secure") || strings.Contains(c, "Domain") {
		t.Errorf("Set-Cookie %q over http has Secure or Domain", c)
	}
}

// TestTextThatIsNotUTF8 sends bytes that are not text (not UTF-8, or NUL) where the pages expect
// text: the answer is a 4xx that says so, on PostgreSQL too, which refuses such
// bytes outright.
func TestTextThatIsNotUTF8(t *testing.T) {
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			s := newSite(t, backend.Open)
			b := s.browser(t)
			b.signUp("ada@example.com", "Ada")
			s.admin(t, "ada@example.com")
			b.logIn("ada@example.com")
			for _, tc := range []struct {
				method, path string
				form         url.Values
			}{
				{"POST", "/users/login", url.Values{"email": {"\xffada@example.com"}, "password": {pw}}},
				{"POST", "/users/signup", url.Values{"email": {"bob@example.com"}, "display_name": {"B\xffob"}, "password": {pw}}},
				{"POST", "/users/account/name", url.Values{"display_name": {"\xfe"}}},
				{"GET", "/users/admin/users?q=%ff", nil},
				{"POST", "/users/account/sessions/%ff/revoke", url.Values{}},
				{"GET", "/users/admin/users/%ff%fe", nil},
				{"POST", "/users/login", url.Values{"email": {"ada\x00@example.com"}, "password": {pw}}},
				{"GET", "/users/admin/users?q=%00", nil},
				{"POST", "/users/account/sessions/%00/revoke", url.Values{}},
				{"GET", "/users/admin/users/%00", nil},
			} {
				r := b.do(tc.method, tc.path, tc.form)
				if r.status != http.StatusBadRequest || find(t, r.body, "error-page") == nil {
					t.Errorf("%s %s answered %d, want 400 with an error page", tc.method, tc.path, r.status)
				}
			}
			if u := s.user(t, "ada@example.com"); u.DisplayName != "Ada" {
				t.Errorf("the name became %q", u.DisplayName)
			}
		})
	}
}

// TestStaticFiles: the assets come from scs-users itself (site.css from the kit), with their own
// types (a script served as anything else is refused under nosniff).
func TestStaticFiles(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	for name, types := range map[string][]string{
		"site.css":   {"text/css"},
		"users.css":  {"text/css"},
		"include.js": {"text/javascript", "application/javascript"},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.browser(t).get("/users/static/" + name)
			want, err := os.ReadFile("static/" + name)
			if errors.Is(err, fs.ErrNotExist) {
				// The platform's own assets come from the kit (routing.Prefix).
				want, err = fs.ReadFile(pages.Assets(), name)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK || r.body != string(want) {
				t.Fatalf("%d, %d bytes, want 200 with the file's %d", r.status, len(r.body), len(want))
			}
			ct := r.header.Get("Content-Type")
			if !slices.ContainsFunc(types, func(typ string) bool { return strings.HasPrefix(ct, typ) }) {
				t.Errorf("Content-Type %q, want one of %q", ct, types)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", r.header.Get("X-Content-Type-Options"))
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "public") || !strings.Contains(cc, "max-age=") {
				t.Errorf("Cache-Control %q, want public with a max-age", cc)
			}
		})
	}
	if r := s.browser(t).get("/users/static/nothing.js"); r.status != http.StatusNotFound {
		t.Errorf("a missing asset: %d, want 404", r.status)
	}
}
