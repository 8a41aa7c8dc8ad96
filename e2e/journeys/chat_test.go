package journeys

import (
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/testkit/browsertest"

	"github.com/scs-platform/e2e/platform"
)

// TestChatJourney: Ada and Bob sign up in browsers of their own and join the
// waiting room 2 km apart with ranges of 5 km; Cyd, 50 km away, joins too. Ada
// and Bob are matched, live, and chat both ways over the websocket; Bob leaves
// and Ada's page says so at once. Cyd is matched with neither. Bob's rename in
// scs-users reaches Ada's open page.
func TestChatJourney(t *testing.T) {
	p := platform.Start(t, platform.Options{})
	browser := browsertest.New(t)
	ada, bob, cyd := browser.User("ada"), browser.User("bob"), browser.User("cyd")
	for name, u := range map[string]*browsertest.User{"Ada": ada, "Bob": bob, "Cyd": cyd} {
		signUp(t, u, p.URL, name)
		openChat(t, u, p.URL)
	}

	// A mistake first: it is shown next to its field and what was typed stays.
	joinAt(t, ada, "52.5219", "13.4132", "900")
	if got := ada.Text("error-range"); got != "The range must be from 0.1 to 500 km." {
		t.Errorf("error next to the range: %q", got)
	}
	if ada.Value("f-lat") != "52.5219" {
		t.Errorf("the latitude typed was lost: %q", ada.Value("f-lat"))
	}
	ada.Screenshot("chat-start-error")
	joinAt(t, ada, "52.5219", "13.4132", "5")
	if ada.Count("waiting") != 1 {
		t.Fatalf("ada is not waiting: at %s", ada.Location())
	}
	ada.Screenshot("chat-waiting")
	joinAt(t, cyd, "52.9716", "13.4132", "100")
	if cyd.Count("waiting") != 1 {
		t.Fatalf("cyd, 50 km away, is not waiting: at %s", cyd.Location())
	}

	// Bob's join makes the match; Ada's waiting page follows by itself.
	joinAt(t, bob, "52.5219", "13.4427", "5")
	if got := bob.Text("partner"); got != "Ada" {
		t.Fatalf("bob's conversation is with %q (at %s), want Ada", got, bob.Location())
	}
	if got := bob.Text("distance"); got != "about 2 km away" {
		t.Errorf("bob sees the distance as %q", got)
	}
	waitFor(t, "ada's page to open the conversation", func() bool {
		return strings.Contains(ada.Location(), "/chat/conversations/")
	})
	if got := ada.Text("partner"); got != "Bob" {
		t.Errorf("ada's conversation is with %q", got)
	}

	// Messages both ways, live: nobody reloads.
	ada.Fill("f-text", "Hello Bob!")
	ada.Click("send")
	waitFor(t, "bob to see ada's message", func() bool { return strings.Contains(bob.Text("messages"), "Hello Bob!") })
	bob.Fill("f-text", "Hi Ada, coffee?")
	bob.Click("send")
	waitFor(t, "ada to see bob's reply", func() bool { return strings.Contains(ada.Text("messages"), "Hi Ada, coffee?") })
	if n := ada.Count("message"); n != 2 {
		t.Errorf("ada's page shows %d messages, want 2", n)
	}
	ada.Screenshot("chat-conversation")

	// Bob renames himself in scs-users; Ada's open page shows the new name,
	// replicated to chat, without a reload.
	conversation := bob.Location()
	bob.Open(p.URL + "/users/account")
	bob.Fill("f-display_name", "Robert")
	bob.Submit("name-submit")
	waitFor(t, "ada's page to show bob's new name", func() bool { return ada.Text("partner") == "Robert" })

	// Bob leaves; Ada is told at once.
	bob.Open(conversation)
	if got := bob.Text("partner"); got != "Ada" {
		t.Errorf("bob's page names ada %q", got)
	}
	bob.Submit("leave")
	if got := bob.Text("done"); got != "You left the conversation." {
		t.Errorf("bob after leaving: %q", got)
	}
	if got := ada.Text("ended"); !strings.Contains(got, "left this conversation") {
		t.Errorf("ada's page says %q", got)
	}
	if n := ada.Count("compose"); n != 1 || !strings.Contains(ada.Location(), "/chat/conversations/") {
		t.Errorf("ada's page moved away: at %s", ada.Location())
	}

	// Cyd was never matched.
	cyd.Reload()
	if cyd.Count("waiting") != 1 {
		t.Errorf("cyd is no longer waiting: at %s", cyd.Location())
	}
	// The list keeps the ended conversation, read-only.
	bob.Open(p.URL + "/chat/conversations")
	if n := bob.Count("conversation-row"); n != 1 {
		t.Errorf("bob's list has %d conversations, want 1", n)
	}
}
