package journeys

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/scs-platform/shared-events/testkit/browsertest"

	"github.com/scs-platform/e2e/platform"
)

// TestPlatformJourney is the whole platform at work in Chromium, through the
// front door. Ada, Bob and Mod sign up; Mod is made an admin with the
// operator's command. Bob opens a card account and a terminal's purchase
// shows on his overview. Ada and Bob are matched in WhisperChat and chat live.
// Bob renames himself in scs-users: Ada's open conversation shows the new
// name wherever it names him, and so does the card art on his card overview.
// Ada reports him in chat; the report reaches the moderation queue in
// scs-users, where Mod bans him. Then chat and cards refuse the token his
// browser holds, his open conversation page loses its websocket and reloads
// into the login page, and Ada's page says the conversation ended.
//
// Along the way it takes the README's pictures of each system's main page:
// users.png (the account page with the card summary), chat.png (a
// conversation) and cards.png (the card overview); see "make screenshots".
func TestPlatformJourney(t *testing.T) {
	p := platform.Start(t, platform.Options{})
	browser := browsertest.New(t)
	ada, bob, mod := browser.User("ada"), browser.User("bob"), browser.User("mod")
	for name, u := range map[string]*browsertest.User{"Ada": ada, "Bob": bob, "Mod": mod} {
		signUp(t, u, p.URL, name)
	}
	if out := p.Command(t, "users", "admin", "grant", "mod@example.com"); !strings.Contains(out, "is admin now") {
		t.Fatalf("admin grant printed %q", out)
	}

	// Cards: Bob's account, and a purchase at a terminal.
	card := openCardAccount(t, bob, p.URL, "Bob's Bikes AB")
	status, a := terminal{t: t, base: p.URL}.post("/cards/api/v1/authorisations",
		fmt.Sprintf(`{"card_id": %q, "amount_minor": 35000, "currency": "SEK", "merchant": "Chain & Sprocket"}`, card))
	if status != http.StatusCreated || a["approved"] != true {
		t.Fatalf("the purchase: %d %v", status, a)
	}
	bob.Open(p.URL + "/cards/")
	if got := bob.Text("tx-status"); got != "pending" {
		t.Errorf("the purchase shows as %q, want pending", got)
	}
	if got := bob.Text("available"); got != "SEK 49,650.00" {
		t.Errorf("available %q after the purchase, want SEK 49,650.00", got)
	}
	if got := textContent(t, bob, "art-holder"); got != "BOB" {
		t.Errorf("the card art's holder is %q, want BOB", got)
	}

	// Chat: matched 2 km apart, messages both ways, live.
	openChat(t, ada, p.URL)
	openChat(t, bob, p.URL)
	joinAt(t, ada, "59.3326", "18.0649", "5")
	if ada.Count("waiting") != 1 {
		t.Fatalf("ada is not waiting: at %s", ada.Location())
	}
	joinAt(t, bob, "59.3326", "18.1000", "5")
	if got := bob.Text("partner"); got != "Ada" {
		t.Fatalf("bob's conversation is with %q (at %s), want Ada", got, bob.Location())
	}
	conversation := bob.Location()
	waitFor(t, "ada's page to open the conversation", func() bool { return ada.Location() == conversation })
	ada.Fill("f-text", "Hej Bob! Cycling to the archipelago on Saturday?")
	ada.Click("send")
	waitFor(t, "bob to see ada's message", func() bool { return strings.Contains(bob.Text("messages"), "archipelago") })
	bob.Fill("f-text", "Yes! I'll bring the tandem.")
	bob.Click("send")
	waitFor(t, "ada to see bob's reply", func() bool { return strings.Contains(ada.Text("messages"), "tandem") })
	ada.Screenshot("chat")

	// The rename in scs-users reaches chat (Ada's open page, live) and cards
	// (the name on the card art), each through its own replica.
	bob.Open(p.URL + "/users/account")
	bob.Fill("f-display_name", "Robert")
	bob.Submit("name-submit")
	if got := bob.Text("nav-user"); got != "Robert" {
		t.Errorf("scs-users names bob %q after the rename", got)
	}
	waitFor(t, "ada's page to show bob's new name", func() bool { return ada.Text("partner") == "Robert" })
	// Everywhere on the page, not just in the heading: a page that offers to
	// block or report "Bob" under "Chat with Robert" names two people.
	if got := ada.Text("block"); got != "Block Robert" {
		t.Errorf("ada's block button says %q after the rename, want Block Robert", got)
	}
	if got := evaluate[string](t, ada, `document.getElementById("report-h").textContent`); got != "Report Robert" {
		t.Errorf("ada's report form is headed %q after the rename, want Report Robert", got)
	}
	waitFor(t, "the card summary on bob's account page", func() bool { return bob.Count("cards-available") == 1 })
	if got := bob.Text("cards-available"); got != "SEK 49,650.00" {
		t.Errorf("the account page's card summary says %q available, want SEK 49,650.00", got)
	}
	bob.Screenshot("users")
	bob.Open(p.URL + "/cards/")
	waitFor(t, "the card art to carry bob's new name", func() bool {
		if textContent(t, bob, "art-holder") == "ROBERT" {
			return true
		}
		bob.Reload()
		return false
	})
	bob.Screenshot("cards")

	// Bob is back in the conversation, live: Ada's next message reaches his
	// page without a reload, so his websocket is open before the ban.
	bob.Open(conversation)
	ada.Fill("f-text", "Still there?")
	ada.Click("send")
	waitFor(t, "bob's reopened page to get ada's message live", func() bool { return strings.Contains(bob.Text("messages"), "Still there?") })

	// The report in chat reaches the moderation queue in scs-users.
	ada.Fill("f-reason", "He asked for my card number.")
	ada.Submit("report")
	if got := ada.Text("done"); got != "Thank you. The report is with the moderators." {
		t.Errorf("ada after reporting: %q", got)
	}
	mod.Open(p.URL + "/users/admin/reports")
	waitFor(t, "the report in the moderation queue", func() bool {
		if mod.Count("report") == 1 {
			return true
		}
		mod.Reload()
		return false
	})
	report := mod.Text("report")
	for _, want := range []string{"Robert", "reported by Ada", "He asked for my card number."} {
		if !strings.Contains(report, want) {
			t.Errorf("the report says %q, want %q in it", report, want)
		}
	}

	// Before the ban, chat and cards serve the token Bob's browser holds;
	// after it, they refuse that very token within the replication lag. It is
	// copied now because the ban's login page clears it from the browser.
	token := browserCookies(t, bob, p.URL)
	pages := []string{strings.TrimPrefix(conversation, p.URL), "/cards/"}
	for _, page := range pages {
		if status, loc := getWith(t, token, p.URL+page); status != http.StatusOK {
			t.Fatalf("GET %s with bob's token before the ban: %d to %q", page, status, loc)
		}
	}
	mod.Submit("report-ban")
	if got := mod.Text("done"); got != "The account is banned and logged out everywhere." {
		t.Errorf("mod after the ban: %q", got)
	}
	for _, page := range pages {
		waitFor(t, page+" to refuse bob's token", func() bool {
			status, loc := getWith(t, token, p.URL+page)
			return status == http.StatusSeeOther && strings.HasPrefix(loc, "/users/login?next=")
		})
	}
	// Nobody touches Bob's page: only its websocket closing makes it reload,
	// and the reload lands on the login page.
	waitFor(t, "bob's conversation page to lose its websocket and reload into the login page", func() bool {
		return strings.HasPrefix(bob.Location(), p.URL+"/users/login?next=")
	})
	if bob.Count("login-form") != 1 {
		t.Errorf("bob's page is not the login form: at %s", bob.Location())
	}
	if got := ada.Text("ended"); !strings.Contains(got, "left this conversation") {
		t.Errorf("ada's page says %q once bob is banned, want the conversation ended", got)
	}
}

// browserCookies are the user's cookies for base, as the browser holds them
// (HttpOnly ones too, which no script in the page can read).
func browserCookies(t *testing.T, u *browsertest.User, base string) []*http.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.Context(), browsertest.Timeout)
	defer cancel()
	var got []*network.Cookie
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		r, err := cdp.Call(ctx, target, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		got = r.Cookies
		return err
	}))
	if err != nil {
		t.Fatalf("cookies of %s: %v", base, err)
	}
	if len(got) == 0 {
		t.Fatalf("the browser holds no cookie for %s", base)
	}
	cookies := make([]*http.Cookie, 0, len(got))
	for _, c := range got {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return cookies
}

// getWith requests target with the cookies, without following a redirect,
// and returns the status and the Location.
func getWith(t *testing.T, cookies []*http.Cookie, target string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
