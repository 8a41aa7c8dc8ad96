package journeys

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/testkit/browsertest"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/platform"
)

// terminal is the merchant terminal: the terminal API through the front
// door, with the dev credential.
type terminal struct {
	t    *testing.T
	base string
}

// post sends a terminal request under a new Idempotency-Key and decodes the
// answer.
func (m terminal) post(path, body string) (int, map[string]any) {
	m.t.Helper()
	req, err := http.NewRequest(http.MethodPost, m.base+path, strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer dev-terminal-token")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		m.t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

// TestCardsJourney: Ada signs up, opens a card account and sees its limit; a
// terminal authorises a purchase, which her overview shows pending with the
// available credit reduced; the capture posts it; the period's statement
// closes with it; she pays it, and the available credit is back. A purchase
// above the available credit is declined with its reason. Her account page in
// scs-users shows the card summary, transcluded from scs-cards.
func TestCardsJourney(t *testing.T) {
	p := platform.Start(t, platform.Options{Env: map[string]string{"STATEMENT_PERIOD": "2s"}})
	ada := browsertest.New(t).User("ada")
	signUp(t, ada, p.URL, "Ada")
	ada.Open(p.URL + "/cards/")
	servicetest.Eventually(t, 15*time.Second, "the form that opens a card account", func() bool {
		return ada.Count("open-form") == 1
	})
	ada.Screenshot("cards-open")
	ada.Fill("f-name", "Ada's Engines AB")
	ada.Submit("open")
	if got := ada.Text("limit"); got != "SEK 50,000.00" {
		t.Fatalf("the limit is %q, want SEK 50,000.00", got)
	}
	if got := ada.Text("available"); got != "SEK 50,000.00" {
		t.Errorf("available %q, want all of the limit", got)
	}
	ada.Submit("card-link")
	card := ada.Text("card-ref")

	m := terminal{t: t, base: p.URL}
	status, a := m.post("/cards/api/v1/authorisations", fmt.Sprintf(`{"card_id": %q, "amount_minor": 125050, "currency": "SEK", "merchant": "Café Babbage"}`, card))
	if status != http.StatusCreated || a["approved"] != true {
		t.Fatalf("the purchase: %d %v", status, a)
	}
	ada.Open(p.URL + "/cards/")
	if got := ada.Text("tx-status"); got != "pending" {
		t.Errorf("the purchase shows as %q, want pending", got)
	}
	if got := ada.Text("available"); got != "SEK 48,749.50" {
		t.Errorf("available %q after the hold, want SEK 48,749.50", got)
	}
	ada.Screenshot("cards-overview")

	// Too much is declined, with the reason shown.
	status, d := m.post("/cards/api/v1/authorisations", fmt.Sprintf(`{"card_id": %q, "amount_minor": 10000000, "currency": "SEK", "merchant": "Yacht AB"}`, card))
	if status != http.StatusCreated || d["approved"] != false || d["decline_reason"] != "insufficient_credit" {
		t.Errorf("the purchase above the available credit: %d %v", status, d)
	}
	ada.Reload()
	if got := ada.Text("decline-reason"); got != "Not enough available credit." {
		t.Errorf("the decline's reason shows as %q", got)
	}

	if status, c := m.post(fmt.Sprintf("/cards/api/v1/authorisations/%s/capture", a["id"]), ``); status != http.StatusOK || c["status"] != "posted" {
		t.Fatalf("the capture: %d %v", status, c)
	}
	waitFor(t, "the statement with the purchase", func() bool {
		ada.Reload()
		return ada.Count("amount-due") > 0 && ada.Text("amount-due") == "SEK 1,250.50"
	})
	if got := ada.Text("statement-status"); got != "due" {
		t.Errorf("the statement is %q, want due", got)
	}
	ada.Screenshot("cards-statement")
	ada.Submit("pay")
	if got := ada.Text("done"); !strings.Contains(got, "payment is made") {
		t.Errorf("after paying: %q", got)
	}
	if got := ada.Text("available"); got != "SEK 50,000.00" {
		t.Errorf("available %q after paying, want all of the limit again", got)
	}
	if got := ada.Text("statement-status"); got != "paid" {
		t.Errorf("the statement is %q after paying, want paid", got)
	}

	// scs-users' account page transcludes the summary from scs-cards.
	ada.Open(p.URL + "/users/account")
	deadline := time.Now().Add(browsertest.Timeout)
	for summary := ada.Text("cards-summary"); !strings.Contains(summary, "SEK 50,000.00"); summary = ada.Text("cards-summary") {
		if time.Now().After(deadline) {
			t.Fatalf("the account page's card summary says %q, want the available credit from scs-cards", summary)
		}
	}
	ada.Screenshot("users-account-with-cards")
}
