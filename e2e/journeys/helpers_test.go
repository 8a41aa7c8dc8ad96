package journeys

import (
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/browsertest"
	"github.com/scs-platform/shared-events/servicetest"
)

// signUp makes an account for name in the user's browser.
func signUp(t *testing.T, u *browsertest.User, base, name string) {
	t.Helper()
	u.Open(base + "/users/signup")
	u.Fill("f-email", strings.ToLower(name)+"@example.com")
	u.Fill("f-display_name", name)
	u.Fill("f-password", "correct horse battery staple "+name)
	u.Submit("signup-submit")
	if got := u.Text("done"); !strings.Contains(got, "Welcome") {
		t.Fatalf("%s's sign-up: %q at %s", name, got, u.Location())
	}
}

// openChat opens WhisperChat's start page. Right after a sign-up chat may not
// know the account yet and shows "one moment", which reloads by itself.
func openChat(t *testing.T, u *browsertest.User, base string) {
	t.Helper()
	u.Open(base + "/chat/")
	servicetest.Eventually(t, 15*time.Second, "the chat start page", func() bool {
		return u.Count("join-form") == 1
	})
}

// joinAt fills in the start form and sends it.
func joinAt(t *testing.T, u *browsertest.User, lat, lon, rangeKm string) {
	t.Helper()
	u.Fill("f-lat", lat)
	u.Fill("f-lon", lon)
	u.Fill("f-range", rangeKm)
	u.Submit("join")
}

// waitFor polls the user's page until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servicetest.Eventually(t, browsertest.Timeout, what, cond)
}
