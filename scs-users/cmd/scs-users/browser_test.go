package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/testkit/browsertest"
)

// TestBrowserAccountJourney drives the real program in headless Chromium as a
// person would: a sign-up with mistakes, which shows what is wrong next to
// each field and keeps what was typed; the sign-up; logging out and in again;
// a second device; a new name; the list of sessions; and "log out all other
// devices", after which the second device is logged out.
func TestBrowserAccountJourney(t *testing.T) {
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/", // pages need no broker
	})
	browser := browsertest.New(t)
	phone := browser.User("phone")
	laptop := browser.User("laptop")

	// A form with bad input shows each error next to its field and keeps
	// what was typed, but not the password.
	phone.Open(p.Base + "/users/")
	phone.Submit("home-signup")
	phone.Fill("f-email", "ada@example")
	phone.Fill("f-display_name", "Ada")
	phone.Fill("f-password", "short")
	phone.Submit("signup-submit")
	if got := phone.Text("error-email"); got != "Enter an email address like name@example.com." {
		t.Errorf("error next to the email: %q", got)
	}
	if got := phone.Text("error-password"); !strings.HasPrefix(got, "Use at least 8 characters") {
		t.Errorf("error next to the password: %q", got)
	}
	if n := phone.Count("error-display_name"); n != 0 {
		t.Errorf("the name, which was fine, has an error")
	}
	if phone.Value("f-email") != "ada@example" || phone.Value("f-display_name") != "Ada" || phone.Value("f-password") != "" {
		t.Errorf("after the errors the form holds %q, %q and a password of %d characters",
			phone.Value("f-email"), phone.Value("f-display_name"), len(phone.Value("f-password")))
	}
	phone.Screenshot("users-signup-errors")

	// Sign up.
	phone.Fill("f-email", "ada@example.com")
	phone.Fill("f-password", "correct horse battery staple")
	phone.Submit("signup-submit")
	if got := phone.Text("done"); !strings.Contains(got, "Welcome") {
		t.Fatalf("after signing up: %q at %s", got, phone.Location())
	}
	if got := phone.Text("account-email"); got != "ada@example.com" {
		t.Errorf("the account page shows %q", got)
	}

	// Log out, and in again.
	phone.Submit("logout")
	if got := phone.Text("done"); got != "You are logged out." {
		t.Errorf("after logging out: %q", got)
	}
	phone.Fill("f-email", "ada@example.com")
	phone.Fill("f-password", "correct horse battery staple")
	phone.Submit("login-submit")
	if got := phone.Text("nav-user"); got != "Ada" {
		t.Fatalf("after logging in, the navigation shows %q (at %s)", got, phone.Location())
	}

	// A second device.
	laptop.Open(p.Base + "/users/login")
	laptop.Fill("f-email", "ada@example.com")
	laptop.Fill("f-password", "correct horse battery staple")
	laptop.Submit("login-submit")
	if got := laptop.Text("nav-user"); got != "Ada" {
		t.Fatalf("the laptop is not logged in: %q", got)
	}

	// Rename.
	phone.Fill("f-display_name", "Ada Lovelace")
	phone.Submit("name-submit")
	if got := phone.Text("done"); !strings.Contains(got, "Your name is saved") {
		t.Errorf("after renaming: %q", got)
	}
	if got := phone.Text("nav-user"); got != "Ada Lovelace" {
		t.Errorf("the navigation shows %q after the rename", got)
	}

	// Both sessions are listed, this one marked.
	if n := phone.Count("session"); n != 2 {
		t.Fatalf("the account page lists %d sessions, want 2", n)
	}
	if !strings.Contains(phone.Text("sessions"), "This device") || !strings.Contains(phone.Text("sessions"), "Headless Chrome on Linux") {
		t.Errorf("the sessions list: %q", phone.Text("sessions"))
	}
	phone.Screenshot("users-account")

	// Log out everywhere else.
	phone.Submit("revoke-others")
	if got := phone.Text("done"); got != "You are logged out on every other device." {
		t.Errorf("after logging out the other devices: %q", got)
	}
	if n := phone.Count("session"); n != 1 {
		t.Errorf("%d sessions are left, want this one", n)
	}
	laptop.Open(p.Base + "/users/account")
	if loc := laptop.Location(); !strings.HasPrefix(loc, p.Base+"/users/login") {
		t.Errorf("the laptop is still logged in: it is at %s", loc)
	}
	// The phone is still logged in, with its renewed session.
	phone.Reload()
	if got := phone.Text("nav-user"); got != "Ada Lovelace" {
		t.Errorf("the phone lost its session: %q", got)
	}
}
