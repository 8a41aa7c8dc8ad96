package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

var formKey = regexp.MustCompile(`name="key" value="([^"]+)"`)

// settleKey returns the key of the capture or void form of purchase id on
// the terminal page, "" when the page has no such form.
func settleKey(page, id, action string) string {
	m := regexp.MustCompile(`action="/cards/terminal/authorisations/` + regexp.QuoteMeta(id) + `/` + action + `"><input type="hidden" name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestTerminalPageForm: the admins' purchase form, its errors next to each
// field with everything typed kept, and one effect however often the same
// form is sent. Both databases.
func TestTerminalPageForm(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			admin := s.user("Grace", contracts.RoleAdmin)
			status, page := admin.get("/cards/terminal")
			key := formKey.FindStringSubmatch(page)
			if status != http.StatusOK || key == nil || count(page, "terminal-form") != 1 || !strings.Contains(fieldOf(t, page, "currency"), `value="SEK"`) {
				t.Fatalf("the terminal page: %d, want the form with a key and SEK filled in", status)
			}
			good := url.Values{"key": {key[1]}, "card_id": {card.ID}, "amount": {"125.50"}, "currency": {"SEK"}, "merchant": {"Bistro Nord"}}
			with := func(field, value string) url.Values {
				f := url.Values{}
				for k, v := range good {
					f[k] = v
				}
				f.Set(field, value)
				return f
			}
			for _, tc := range []struct {
				name, field, typed, says string
			}{
				{"bad reference", "card_id", "4111 1111 1111 1111", "Enter the card's reference"},
				{"no reference", "card_id", "", "Enter the card's reference"},
				{"three decimals", "amount", "12.345", "SEK has 2 decimals; 12.345 has 3"},
				{"not a number", "amount", "abc", "the amount has letters in it"},
				{"no amount", "amount", "", "the amount is empty"},
				{"zero", "amount", "0.00", "Enter an amount above zero."},
				{"negative", "amount", "-5", "cannot be negative"},
				{"too large", "amount", "99999999999999999", "the most we handle"},
				{"unknown currency", "currency", "XYZ", "XYZ is not a currency we know"},
				{"no merchant", "merchant", "", "merchant is required"},
				{"merchant of spaces", "merchant", "   ", "merchant is required"},
				{"merchant with a line break", "merchant", "Bistro\nNord", "control characters"},
				{"merchant too long", "merchant", strings.Repeat("m", terminal.MaxMerchant+1), "at most 100 characters"},
				{"merchant with a left-to-right override", "merchant", "Bistro \u202dNord", "The merchant name contains an invisible character that reverses text direction (U+202D); remove it."},
			} {
				t.Run(tc.name, func(t *testing.T) {
					form := with(tc.field, tc.typed)
					status, _, page := admin.post("/cards/terminal/authorisations", form)
					if status != http.StatusUnprocessableEntity {
						t.Fatalf("%d, want 422", status)
					}
					checkFieldError(t, page, tc.field, tc.says, tc.typed)
					for _, other := range []string{"card_id", "amount", "currency", "merchant"} {
						if other != tc.field && count(fieldOf(t, page, other), "error-"+other) != 0 {
							t.Errorf("an error at %s too", other)
						}
						if !strings.Contains(fieldOf(t, page, other), `value="`+html.EscapeString(form.Get(other))+`"`) {
							t.Errorf("the value of %s is lost", other)
						}
					}
					// The form keeps its key: corrected and sent, it is still one purchase.
					if k := formKey.FindStringSubmatch(page); k == nil || k[1] != key[1] {
						t.Errorf("the form's key changed from %s to %v", key[1], k)
					}
				})
			}
			if o := ada.overview(); len(o.Transactions) != 0 {
				t.Fatalf("refused forms authorised %d purchases", len(o.Transactions))
			}
			// Several errors at once: each at its own field.
			status, _, page = admin.post("/cards/terminal/authorisations", url.Values{"key": {key[1]}, "card_id": {"nope"}, "amount": {"abc"}, "currency": {"SEK"}, "merchant": {""}})
			if status != http.StatusUnprocessableEntity || count(page, "error-card_id") != 1 || count(page, "error-amount") != 1 || count(page, "error-merchant") != 1 {
				t.Errorf("three wrong fields: %d, want 422 with an error at each", status)
			}

			var location string
			for i := range 3 { // sent three times, as an impatient admin would
				status, h, _ := admin.post("/cards/terminal/authorisations", good)
				if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "outcome=approved") {
					t.Fatalf("authorise (%d): %d to %q", i, status, h.Get("Location"))
				}
				if i > 0 && h.Get("Location") != location {
					t.Errorf("the same form sent again leads to %q, the first to %q", h.Get("Location"), location)
				}
				location = h.Get("Location")
			}
			o := ada.overview()
			if len(o.Transactions) != 1 || o.Account.Held != 12_550 || o.Transactions[0].Merchant != "Bistro Nord" {
				t.Fatalf("after the form sent three times: %d transactions, held %d; want one of 12550", len(o.Transactions), o.Account.Held)
			}
			purchase := o.Transactions[0].ID
			if !strings.Contains(location, "id="+purchase) {
				t.Errorf("the outcome %q does not name the purchase %s", location, purchase)
			}
			_, page = admin.get(location)
			if text(page, "outcome") != "Approved." || !strings.Contains(page, `data-id="`+purchase+`" data-status="pending" class="highlight"`) || !strings.Contains(page, sek(12_550)) {
				t.Errorf("the outcome page: %q, the purchase not highlighted as pending", text(page, "outcome"))
			}
			// The same key with other values is another request: refused.
			status, _, page = admin.post("/cards/terminal/authorisations", with("amount", "99.00"))
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, "This Idempotency-Key was used for a different request") {
				t.Errorf("the key with another amount: %d, want 422 saying the key was used", status)
			}
			if o := ada.overview(); len(o.Transactions) != 1 {
				t.Errorf("%d transactions after the key was reused", len(o.Transactions))
			}
		})
	}
}

// TestTerminalPageSettles: the capture and void buttons of the latest
// purchases, a declined purchase's reason, and a button sent twice.
func TestTerminalPageSettles(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	admin := s.user("Grace", contracts.RoleAdmin)
	authorise := func(amount string) string {
		t.Helper()
		_, page := admin.get("/cards/terminal")
		key := formKey.FindStringSubmatch(page)[1]
		status, h, _ := admin.post("/cards/terminal/authorisations", url.Values{"key": {key}, "card_id": {card.ID}, "amount": {amount}, "currency": {"sek"}, "merchant": {"Bistro"}})
		if status != http.StatusSeeOther {
			t.Fatalf("authorise %s: %d", amount, status)
		}
		return h.Get("Location")
	}
	authorise("1 234,50")
	authorise("10")
	o := ada.overview()
	if o.Account.Held != 123_450+1_000 {
		t.Fatalf("held %d, want 1 234,50 and 10 kronor", o.Account.Held)
	}
	toCapture, toVoid := o.Transactions[1].ID, o.Transactions[0].ID

	_, page := admin.get("/cards/terminal")
	key := settleKey(page, toCapture, "capture")
	if key == "" || settleKey(page, toVoid, "void") == "" {
		t.Fatal("no capture or void button on the pending purchases")
	}
	for range 2 { // the button sent twice: one posting
		status, h, _ := admin.post("/cards/terminal/authorisations/"+toCapture+"/capture", url.Values{"key": {key}})
		if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "outcome=captured") {
			t.Fatalf("capture: %d to %q", status, h.Get("Location"))
		}
	}
	_, page = admin.get("/cards/terminal?outcome=captured&id=" + toCapture)
	if text(page, "outcome") != "Captured: the purchase is posted." || settleKey(page, toCapture, "capture") != "" {
		t.Errorf("after the capture: %q, and the purchase still has a capture button", text(page, "outcome"))
	}
	status, h, _ := admin.post("/cards/terminal/authorisations/"+toVoid+"/void", url.Values{"key": {settleKey(page, toVoid, "void")}})
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "outcome=voided") {
		t.Fatalf("void: %d to %q", status, h.Get("Location"))
	}
	if _, page := admin.get(h.Get("Location")); text(page, "outcome") != "Voided: the hold is released." {
		t.Errorf("after the void: %q", text(page, "outcome"))
	}
	if a := ada.overview().Account; a.Posted != 123_450 || a.Held != 0 || a.Available() != cardstest.Limit-123_450 {
		t.Errorf("after capture and void: owed %d, held %d, available %d", a.Posted, a.Held, a.Available())
	}
	status, _, page = admin.post("/cards/terminal/authorisations/"+toVoid+"/capture", url.Values{"key": {newKey()}})
	if status != http.StatusConflict || !strings.Contains(page, "This authorisation is voided") {
		t.Errorf("capture of a voided purchase: %d, want 409 saying it is voided", status)
	}
	status, _, page = admin.post("/cards/terminal/authorisations/"+newKey()+"/void", url.Values{"key": {newKey()}})
	if status != http.StatusNotFound || !strings.Contains(page, "There is no authorisation") {
		t.Errorf("void of an unknown purchase: %d, want 404", status)
	}
	if status, _, page := admin.post("/cards/terminal/authorisations/"+toVoid+"/void", url.Values{}); status != http.StatusBadRequest || !strings.Contains(page, "This form has lost its key.") {
		t.Errorf("a button without its key: %d, want 400", status)
	}

	// A declined purchase says why.
	if status, _, _ := ada.post("/cards/cards/"+card.ID+"/freeze", nil); status != http.StatusSeeOther {
		t.Fatalf("freeze: %d", status)
	}
	location := authorise("5")
	if !strings.Contains(location, "outcome=declined") || !strings.Contains(location, "reason=card_frozen") {
		t.Errorf("a purchase on a frozen card leads to %q", location)
	}
	if _, page := admin.get(location); text(page, "outcome") != "Declined: The card is frozen." {
		t.Errorf("the decline's outcome: %q", text(page, "outcome"))
	}
	// The outcome shows only the sentences of known reasons.
	if _, page := admin.get("/cards/terminal?outcome=declined&reason=" + url.QueryEscape("<b>call us</b>")); text(page, "outcome") != "Declined." || strings.Contains(page, "call us") {
		t.Errorf("a made-up reason is shown: %q", text(page, "outcome"))
	}
}
