package journeys

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scs-platform/shared-events/testkit/browsertest"
	"github.com/scs-platform/shared-events/testkit/servicetest"
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

// openCardAccount opens a card account for the company in the user's browser
// and returns the id of its first card, for the terminal. Right after a
// sign-up cards may not know the account yet and shows "one moment", which
// reloads by itself.
func openCardAccount(t *testing.T, u *browsertest.User, base, company string) string {
	t.Helper()
	u.Open(base + "/cards/")
	servicetest.Eventually(t, 15*time.Second, "the form that opens a card account", func() bool {
		return u.Count("open-form") == 1
	})
	u.Fill("f-name", company)
	u.Submit("open")
	if got := u.Text("limit"); got != "SEK 50,000.00" {
		t.Fatalf("the new account's limit is %q, want SEK 50,000.00", got)
	}
	u.Submit("card-link")
	return u.Text("card-ref")
}

// evaluate runs a script in the user's page and returns its value: for what
// the data-testid helpers cannot see (an attribute, an SVG text).
func evaluate[T any](t *testing.T, u *browsertest.User, script string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.Context(), browsertest.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s at %s: %v", script, u.Location(), err)
	}
	return v
}

// textContent is the text of the first element with the data-testid, or ""
// when there is none. Unlike User.Text it reads SVG text (the card art), which
// has no innerText.
func textContent(t *testing.T, u *browsertest.User, testID string) string {
	t.Helper()
	return evaluate[string](t, u, fmt.Sprintf(`(document.querySelector('[data-testid=%q]') || {}).textContent || ""`, testID))
}
