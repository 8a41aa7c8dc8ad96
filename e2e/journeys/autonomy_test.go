package journeys

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/testkit/browsertest"

	"github.com/scs-platform/e2e/platform"
)

// TestChatAndCardsWorkWithoutUsers stops scs-users for good once Ada and Bob
// are logged in, matched in WhisperChat and Ada has a card account with a
// purchase. Chat and cards verify the tokens the browsers already hold
// against their own replicas, so without scs-users a freshly loaded
// conversation page still sends and receives messages live, both ways, and
// Ada's card overview still shows her account and its purchase.
func TestChatAndCardsWorkWithoutUsers(t *testing.T) {
	p := platform.Start(t, platform.Options{})
	browser := browsertest.New(t)
	ada, bob := browser.User("ada"), browser.User("bob")
	signUp(t, ada, p.URL, "Ada")
	signUp(t, bob, p.URL, "Bob")
	card := openCardAccount(t, ada, p.URL, "Ada's Engines AB")
	if status, a := (terminal{t: t, base: p.URL}).post("/cards/api/v1/authorisations",
		fmt.Sprintf(`{"card_id": %q, "amount_minor": 12500, "currency": "SEK", "merchant": "Café Babbage"}`, card)); status != http.StatusCreated || a["approved"] != true {
		t.Fatalf("the purchase: %d %v", status, a)
	}
	openChat(t, ada, p.URL)
	openChat(t, bob, p.URL)
	joinAt(t, ada, "52.5219", "13.4132", "5")
	joinAt(t, bob, "52.5219", "13.4427", "5")
	conversation := bob.Location()
	if !strings.Contains(conversation, "/chat/conversations/") {
		t.Fatalf("bob was not matched with ada: at %s", conversation)
	}

	p.Stop(t, "users")
	// The proof that it is down, through the same front door the pages use.
	if status, _ := getWith(t, nil, p.URL+"/users/login"); status < 500 {
		t.Fatalf("scs-users still answers through the front door (%d) after it stopped", status)
	}

	// Both pages are loaded after the stop, so each websocket too is opened
	// without scs-users.
	ada.Open(conversation)
	bob.Open(conversation)
	if got := ada.Text("partner"); got != "Bob" {
		t.Errorf("ada's conversation is with %q, want Bob", got)
	}
	ada.Fill("f-text", "Is users down?")
	ada.Click("send")
	waitFor(t, "bob to see ada's message live", func() bool { return strings.Contains(bob.Text("messages"), "Is users down?") })
	bob.Fill("f-text", "Yes, and we still chat.")
	bob.Click("send")
	waitFor(t, "ada to see bob's reply live", func() bool { return strings.Contains(ada.Text("messages"), "we still chat") })

	ada.Open(p.URL + "/cards/")
	if got := ada.Text("limit"); got != "SEK 50,000.00" {
		t.Errorf("the overview's limit is %q without scs-users, want SEK 50,000.00", got)
	}
	if got := ada.Text("available"); got != "SEK 49,875.00" {
		t.Errorf("the overview's available credit is %q without scs-users, want SEK 49,875.00", got)
	}
	if got := ada.Text("tx-status"); got != "pending" {
		t.Errorf("the purchase shows as %q without scs-users, want pending", got)
	}
}

// TestUsersAccountWithoutCards stops scs-cards for good. Ada's account page in
// scs-users still renders, and where scs-cards' summary was transcluded while
// cards ran, the page keeps its own fallback: the plain link to the card
// account.
func TestUsersAccountWithoutCards(t *testing.T) {
	p := platform.Start(t, platform.Options{})
	ada := browsertest.New(t).User("ada")
	signUp(t, ada, p.URL, "Ada")
	openCardAccount(t, ada, p.URL, "Ada's Engines AB")
	// While cards runs, the summary replaces the link: what the fallback
	// below stands in for.
	ada.Open(p.URL + "/users/account")
	waitFor(t, "scs-cards' summary on the account page", func() bool { return ada.Count("cards-available") == 1 })

	p.Stop(t, "cards")
	ada.Open(p.URL + "/users/account")
	if got := ada.Text("account-email"); got != "ada@example.com" {
		t.Errorf("the account page without scs-cards shows the address %q", got)
	}
	// include.js marks the region busy until the fragment has come or failed;
	// only then is the link known to have stayed.
	waitFor(t, "the account page to give up on the card summary", func() bool {
		return evaluate[bool](t, ada, `document.querySelector('[data-include]').getAttribute("aria-busy") === null`)
	})
	if n := ada.Count("cards-available"); n != 0 {
		t.Errorf("the account page shows %d card summaries with scs-cards stopped", n)
	}
	if got := ada.Text("cards-link"); got != "Your business card account" {
		t.Errorf("the card region's link says %q, want the fallback's", got)
	}
	if got := evaluate[string](t, ada, `document.querySelector('[data-include] a[data-testid="cards-link"]').getAttribute("href")`); got != "/cards/" {
		t.Errorf("the fallback link goes to %q, want /cards/", got)
	}
}
