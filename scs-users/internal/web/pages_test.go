package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-users/internal/moderation"
)

// TestFormErrorsKeepTheInput: every field error is shown next to its field,
// what was typed is kept, and a password never comes back.
func TestFormErrorsKeepTheInput(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	b := s.browser(t)
	r := b.post("/users/signup", "email", "ada@example", "display_name", "Ada <b>L</b>", "password", "short")
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad sign-up answered %d, want 422", r.status)
	}
	for field, want := range map[string]string{
		"email":    "Enter an email address like name@example.com.",
		"password": "Use at least 8 characters",
	} {
		if got := text(find(t, r.body, "error-"+field)); !strings.Contains(got, want) {
			t.Errorf("error next to %s = %q, want %q", field, got, want)
		}
	}
	if find(t, r.body, "error-display_name") != nil {
		t.Errorf("the name got an error; it was fine")
	}
	for name, want := range map[string]string{"email": "ada@example", "display_name": "Ada <b>L</b>", "password": ""} {
		if got, ok := inputValue(t, r.body, name); !ok || got != want {
			t.Errorf("input %s = %q, want %q", name, got, want)
		}
	}
	if strings.Contains(r.body, "<b>L</b>") {
		t.Errorf("the typed name is not escaped")
	}
	if strings.Contains(r.body, `value="short"`) {
		t.Errorf("the password came back in the page")
	}
	if !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `aria-describedby="f-email-error"`) {
		t.Errorf("the fields in error are not marked for screen readers")
	}

	// The account page's forms keep what was typed as well.
	b.signUp("ada@example.com", "Ada")
	r = b.post("/users/account/name", "display_name", strings.Repeat("x", 51))
	if r.status != http.StatusUnprocessableEntity || text(find(t, r.body, "error-display_name")) != "Use at most 50 characters." {
		t.Fatalf("long name: %d, %q", r.status, text(find(t, r.body, "error-display_name")))
	}
	if v, _ := inputValue(t, r.body, "display_name"); v != strings.Repeat("x", 51) {
		t.Errorf("the long name was not kept: %q", v)
	}
	r = b.post("/users/account/password", "current_password", "wrong wrong wrong", "new_password", "another fine passphrase")
	if r.status != http.StatusUnprocessableEntity || text(find(t, r.body, "error-current_password")) != "This is not your current password." {
		t.Fatalf("wrong current password: %d, %q", r.status, text(find(t, r.body, "error-current_password")))
	}
}

func TestAccountPages(t *testing.T) {
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			s := newSite(t, backend.Open)
			phone, laptop := s.browser(t), s.browser(t)
			phone.signUp("ada@example.com", "Ada")
			laptop.logIn("ada@example.com")

			r := laptop.get("/users/account")
			if r.status != http.StatusOK || text(find(t, r.body, "account-email")) != "ada@example.com" {
				t.Fatalf("account page: %d\n%s", r.status, r.body)
			}
			if n := len(findAll(t, r.body, "session")); n != 2 {
				t.Errorf("the account page lists %d sessions, want 2", n)
			}
			if r := laptop.post("/users/account/name", "display_name", "Ada Lovelace"); r.status != http.StatusSeeOther || r.location != "/users/account?done=name" {
				t.Fatalf("rename: %d to %q", r.status, r.location)
			}
			r = laptop.get("/users/account?done=name")
			if text(find(t, r.body, "nav-user")) != "Ada Lovelace" || !strings.Contains(text(find(t, r.body, "done")), "name is saved") {
				t.Errorf("after the rename: nav %q, done %q", text(find(t, r.body, "nav-user")), text(find(t, r.body, "done")))
			}
			if r := laptop.post("/users/account/sessions/revoke-others"); r.status != http.StatusSeeOther {
				t.Fatalf("log out other devices: %d", r.status)
			}
			if r := phone.get("/users/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/users/login") {
				t.Errorf("the phone is still logged in: %d to %q", r.status, r.location)
			}
			r = laptop.get("/users/account")
			if r.status != http.StatusOK || len(findAll(t, r.body, "session")) != 1 {
				t.Errorf("after logging out the others: %d with %d sessions", r.status, len(findAll(t, r.body, "session")))
			}
			if r := laptop.post("/users/logout"); r.status != http.StatusSeeOther || r.location != "/users/login?done=logout" {
				t.Fatalf("log out: %d to %q", r.status, r.location)
			}
			if r := laptop.get("/users/account"); r.status != http.StatusSeeOther {
				t.Errorf("after logging out the account answered %d", r.status)
			}
		})
	}
}

func TestLoginRedirects(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	b := s.browser(t)
	r := b.get("/users/account/delete?x=1")
	if r.status != http.StatusSeeOther || r.location != "/users/login?next="+url.QueryEscape("/users/account/delete?x=1") {
		t.Errorf("anonymous account page: %d to %q", r.status, r.location)
	}
	r = b.post("/users/account/name", "display_name", "x")
	if r.status != http.StatusSeeOther || r.location != "/users/login" {
		t.Errorf("anonymous POST: %d to %q, want the login page", r.status, r.location)
	}
	b.signUp("ada@example.com", "Ada")
	// Logged in already: a link on to next, never a redirect, which could
	// loop with a system whose replica does not know the user yet.
	r = b.get("/users/login?next=/chat/")
	if r.status != http.StatusOK || attr(find(t, r.body, "continue"), "href") != "/chat/" {
		t.Errorf("the login page when logged in: %d, continue to %q; want 200 with a link to next", r.status, attr(find(t, r.body, "continue"), "href"))
	}
	if r := b.get("/users/login"); r.status != http.StatusSeeOther || r.location != "/users/account" {
		t.Errorf("the login page when logged in, no next: %d to %q, want the account", r.status, r.location)
	}
	if r := b.get("/users/"); r.status != http.StatusSeeOther || r.location != "/users/account" {
		t.Errorf("the start page when logged in: %d to %q", r.status, r.location)
	}
}

// TestRefresh: the page the other systems send a browser to when its token
// has expired.
func TestRefresh(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	b := s.browser(t)
	r := b.get("/users/session/refresh?next=/chat/")
	if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
		t.Errorf("refresh without a session: %d to %q", r.status, r.location)
	}
	b.signUp("ada@example.com", "Ada")
	u := s.user(t, "ada@example.com")
	sessions, _ := s.accounts.Sessions(context.Background(), u.ID)

	// An expired token of a live session, as a browser would hold it after a
	// quiet quarter of an hour.
	kid, key, err := s.keys.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now().Add(-20 * time.Minute)
	// The account is older than the token, as it would be after a quiet
	// quarter of an hour (a token older than the account would be renewed).
	if _, err := s.db.ExecContext(context.Background(), `UPDATE users SET tokens_valid_after_us = $1 WHERE id = $2`,
		issued.Add(-time.Hour).UnixMicro(), u.ID); err != nil {
		t.Fatal(err)
	}
	old, err := authn.Sign(key, authn.Claims{KeyID: kid, UserID: u.ID, SessionID: sessions[0].ID, Role: u.Role,
		Audience: "http://" + s.Listener.Addr().String(), IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Cookie{Name: authn.CookieName, Value: old, Path: "/"}
	base, _ := url.Parse(s.URL)
	b.http.Jar.SetCookies(base, []*http.Cookie{c})

	r = b.get("/users/session/refresh?next=" + url.QueryEscape("/chat/?x=1"))
	if r.status != http.StatusSeeOther || r.location != "/chat/?x=1" {
		t.Fatalf("refresh: %d to %q, want back to next", r.status, r.location)
	}
	var fresh string
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == authn.CookieName {
			fresh = c.Value
		}
	}
	p := authn.Parser{Keys: s.keys, Audience: "http://" + s.Listener.Addr().String()}
	claims, err := p.Parse(context.Background(), fresh)
	if err != nil || claims.SessionID != sessions[0].ID || !claims.ExpiresAt.After(time.Now().Add(9*time.Minute)) {
		t.Errorf("the refreshed token: %+v, %v", claims, err)
	}
	// A refresh after the session ended sends the browser to log in.
	if err := s.accounts.LogOut(context.Background(), sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/users/session/refresh?next=/cards/"); r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fcards%2F" {
		t.Errorf("refresh of an ended session: %d to %q", r.status, r.location)
	}
}

// adminRoutes are every admin route, with a form where it takes one.
var adminRoutes = []struct {
	method, path string
	form         []string
}{
	{"GET", "/users/admin", nil},
	{"GET", "/users/admin/", nil},
	{"GET", "/users/admin/users", nil},
	{"GET", "/users/admin/users?q=ada", nil},
	{"GET", "/users/admin/users/{ada}", nil},
	{"POST", "/users/admin/users/{ada}/ban", []string{"reason", "test"}},
	{"POST", "/users/admin/users/{ada}/unban", []string{"reason", "test"}},
	{"POST", "/users/admin/users/{ada}/role", []string{"role", "admin"}},
	{"GET", "/users/admin/reports", nil},
	{"POST", "/users/admin/reports/{report}/dismiss", nil},
	{"POST", "/users/admin/reports/{report}/ban", []string{"reason", "test"}},
}

func TestAdminRoutesAreForAdminsOnly(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	ada, admin := s.browser(t), s.browser(t)
	ada.signUp("ada@example.com", "Ada")
	admin.signUp("root@example.com", "Root")
	s.admin(t, "root@example.com")
	report := fileReport(t, s, s.user(t, "root@example.com").ID, s.user(t, "ada@example.com").ID, "rude")
	adaID := s.user(t, "ada@example.com").ID
	path := func(p string) string {
		return strings.NewReplacer("{ada}", adaID, "{report}", report).Replace(p)
	}
	for _, rt := range adminRoutes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := ada.post(path(rt.path), rt.form...)
			if rt.method == "GET" {
				r = ada.get(path(rt.path))
			}
			if r.status != http.StatusForbidden {
				t.Errorf("a user got %d, want 403", r.status)
			}
			anon := s.browser(t)
			r = anon.post(path(rt.path), rt.form...)
			if rt.method == "GET" {
				r = anon.get(path(rt.path))
			}
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/users/login") {
				t.Errorf("a visitor got %d to %q, want the login page", r.status, r.location)
			}
		})
	}
	// The admin gets every GET page.
	for _, rt := range adminRoutes {
		if rt.method == "GET" {
			if r := admin.get(path(rt.path)); r.status != http.StatusOK && r.status != http.StatusMovedPermanently {
				t.Errorf("the admin got %d for %s", r.status, rt.path)
			}
		}
	}
}

// fileReport applies a chat.report.filed.v1 event as the users.from-chat
// consumer does, and returns the report's id.
func fileReport(t *testing.T, s *site, reporter, reported, reason string) string {
	t.Helper()
	ctx := context.Background()
	if err := consumer.Migrate(ctx, s.db); err != nil {
		t.Fatal(err)
	}
	c := &consumer.Consumer{DB: s.db, Name: "users", Owner: "chat", Handlers: moderation.Handlers()}
	id := newUUID(t)
	ev, err := contracts.NewEvent(contracts.ReportFiledV1{ReportID: id, ReporterID: reporter, ReportedUserID: reported,
		ConversationID: newUUID(t), Reason: reason, ReportedAt: time.Now()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Apply(ctx, ev); err != nil || out != consumer.Applied {
		t.Fatalf("apply report: %s, %v", out, err)
	}
	// The same event again changes nothing.
	if out, err := c.Apply(ctx, ev); err != nil || out != consumer.Duplicate {
		t.Fatalf("apply the report again: %s, %v", out, err)
	}
	return id
}

func TestModerationQueue(t *testing.T) {
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			s := newSite(t, backend.Open)
			admin, mallory, ada := s.browser(t), s.browser(t), s.browser(t)
			admin.signUp("root@example.com", "Root")
			s.admin(t, "root@example.com")
			mallory.signUp("mallory@example.com", "Mallory")
			ada.signUp("ada@example.com", "Ada")
			adaID, malloryID := s.user(t, "ada@example.com").ID, s.user(t, "mallory@example.com").ID
			first := fileReport(t, s, adaID, malloryID, "Sent me <script>alert(1)</script>")
			second := fileReport(t, s, adaID, malloryID, "Again")
			harmless := fileReport(t, s, malloryID, adaID, "I don't like her")

			r := admin.get("/users/admin/reports")
			if n := len(findAll(t, r.body, "report")); n != 3 {
				t.Fatalf("the queue shows %d reports, want 3", n)
			}
			if strings.Contains(r.body, "<script>alert(1)") {
				t.Errorf("a report's reason is not escaped")
			}
			if r := admin.post("/users/admin/reports/" + harmless + "/dismiss"); r.status != http.StatusSeeOther {
				t.Fatalf("dismiss: %d", r.status)
			}
			if r := admin.post("/users/admin/reports/" + harmless + "/dismiss"); r.status != http.StatusConflict {
				t.Errorf("dismissing twice: %d, want 409", r.status)
			}
			if r := admin.post("/users/admin/reports/"+first+"/ban", "reason", ""); r.status != http.StatusUnprocessableEntity {
				t.Errorf("a ban without a reason: %d, want 422", r.status)
			}
			if r := admin.post("/users/admin/reports/"+first+"/ban", "reason", "Reported in chat: threats"); r.status != http.StatusSeeOther {
				t.Fatalf("ban from the report: %d", r.status)
			}
			// Both of Mallory's reports are closed, she is out, and she cannot log in.
			r = admin.get("/users/admin/reports")
			if n := len(findAll(t, r.body, "report")); n != 0 || find(t, r.body, "reports-empty") == nil {
				t.Errorf("the queue still shows %d reports (the second was %s)", n, second)
			}
			if r := mallory.get("/users/account"); r.status != http.StatusSeeOther {
				t.Errorf("the banned user's session answered %d", r.status)
			}
			r = s.browser(t).post("/users/login", "email", "mallory@example.com", "password", pw)
			if r.status != http.StatusForbidden || !strings.Contains(text(find(t, r.body, "login-error")), "suspended") {
				t.Errorf("banned login: %d %q", r.status, text(find(t, r.body, "login-error")))
			}
			r = admin.get("/users/admin/users/" + malloryID)
			if text(find(t, r.body, "admin-user-status")) != "banned" || !strings.Contains(text(find(t, r.body, "admin-history")), "threats") {
				t.Errorf("the user page: status %q, history %q", text(find(t, r.body, "admin-user-status")), text(find(t, r.body, "admin-history")))
			}
			if r := admin.post("/users/admin/users/"+malloryID+"/unban", "reason", "appeal"); r.status != http.StatusSeeOther {
				t.Errorf("unban: %d", r.status)
			}
			if r := admin.get("/users/admin/users?q=MALL"); len(findAll(t, r.body, "admin-user-row")) != 1 {
				t.Errorf("search by a part of the name, any case: %d rows", len(findAll(t, r.body, "admin-user-row")))
			}
			if r := admin.get("/users/admin/users?q=%25"); len(findAll(t, r.body, "admin-user-row")) != 0 {
				t.Errorf("a search for %% matched %d users: LIKE's wildcard is not escaped", len(findAll(t, r.body, "admin-user-row")))
			}
		})
	}
}

// TestAccountTranscludesTheCardSummary: the account page holds scs-cards'
// summary as a plain link, in a region marked with the fragment's address for
// include.js, which the page loads from scs-users itself.
func TestAccountTranscludesTheCardSummary(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	b := s.browser(t)
	b.signUp("ada@example.com", "Ada")
	r := b.get("/users/account")
	if r.status != http.StatusOK {
		t.Fatalf("account page: %d\n%s", r.status, r.body)
	}
	region := find(t, r.body, "cards")
	if region == nil || region.Data != "section" {
		t.Fatalf("no section for the business card in the account page:\n%s", r.body)
	}
	heading := byID(t, r.body, attr(region, "aria-labelledby"))
	if heading == nil || text(heading) != "Business card" {
		t.Errorf("the region is labelled by %q, which reads %q; want a heading \"Business card\"", attr(region, "aria-labelledby"), text(heading))
	}
	summary := find(t, r.body, "cards-summary")
	if got := attr(summary, "data-include"); got != "/cards/fragments/summary/v1" {
		t.Errorf("data-include = %q, want /cards/fragments/summary/v1", got)
	}
	link := find(t, r.body, "cards-link")
	if link == nil || link.Data != "a" || attr(link, "href") != "/cards/" || text(link) != "Your business card account" {
		t.Fatalf("the fallback is not a plain link to /cards/: %v %q %q", link != nil, attr(link, "href"), text(link))
	}
	if !isInside(link, "cards-summary") || !isInside(summary, "cards") {
		t.Errorf("the link is not what include.js replaces, inside the region")
	}
	var scripts []string
	doc, err := html.Parse(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts = append(scripts, attr(n, "src"))
			if n.FirstChild != nil {
				t.Errorf("an inline script, which the Content-Security-Policy blocks")
			}
			if !hasAttr(n, "defer") {
				t.Errorf("script %s is not deferred", attr(n, "src"))
			}
		}
	}
	if !slices.Equal(scripts, []string{"/users/static/include.js"}) {
		t.Errorf("the account page loads the scripts %q, want /users/static/include.js", scripts)
	}

	// Pages without a fragment load no script.
	if r := b.get("/users/account/delete"); strings.Contains(r.body, "<script") {
		t.Errorf("the delete page loads a script")
	}
}

// A name or a reason with a bidi override, embedding or isolate is refused
// where it is typed, on the page that has the form, next to its field, in
// words that name the character: the sign-up and the account's name, an
// admin's ban and unban, and a ban from the moderation queue.
func TestFormsRefuseTextThatReversesItsDirection(t *testing.T) {
	s := newSite(t, servicetest.SQLite)
	admin, mallory := s.browser(t), s.browser(t)
	admin.signUp("root@example.com", "Root")
	s.admin(t, "root@example.com")
	mallory.signUp("mallory@example.com", "Mallory")
	malloryID := s.user(t, "mallory@example.com").ID
	const disguised = "Ada\u202eecilA"
	want := func(what string) string {
		return "The " + what + " contains an invisible character that reverses text direction (U+202E); remove it."
	}
	for _, tc := range []struct {
		name    string
		b       *browser
		path    string
		form    []string
		testID  string
		message string
	}{
		{"sign-up", s.browser(t), "/users/signup", []string{"email", "ada@example.com", "display_name", disguised, "password", "a fine passphrase"}, "error-display_name", want("name")},
		{"rename", mallory, "/users/account/name", []string{"display_name", disguised}, "error-display_name", want("name")},
		{"unban", admin, "/users/admin/users/" + malloryID + "/unban", []string{"reason", disguised}, "error-reason", want("reason")},
		{"ban", admin, "/users/admin/users/" + malloryID + "/ban", []string{"reason", disguised}, "error-reason", want("reason")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.b.post(tc.path, tc.form...)
			if got := text(find(t, r.body, tc.testID)); r.status != http.StatusUnprocessableEntity || got != tc.message {
				t.Errorf("%d %q, want 422 %q", r.status, got, tc.message)
			}
		})
	}
	report := fileReport(t, s, s.user(t, "root@example.com").ID, malloryID, "threats")
	r := admin.post("/users/admin/reports/"+report+"/ban", "reason", disguised)
	if got := text(find(t, r.body, "reports-error")); r.status != http.StatusUnprocessableEntity || !strings.Contains(got, want("reason")) {
		t.Errorf("a ban from the queue: %d %q, want 422 %q", r.status, got, want("reason"))
	}
	if u := s.user(t, "mallory@example.com"); u.Status != contracts.StatusActive || u.DisplayName != "Mallory" {
		t.Errorf("after the refusals Mallory is %s, named %q", u.Status, u.DisplayName)
	}
}
