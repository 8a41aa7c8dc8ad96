package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// terminalCall sends a terminal request with exactly the headers given.
func (s *site) terminalCall(path string, headers map[string]string, body string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return s.send(req)
}

// terminalHeaders are a well-formed request's headers, with a fresh key.
func terminalHeaders() map[string]string {
	return map[string]string{"Authorization": "Bearer " + terminalToken, "Content-Type": "application/json", "Idempotency-Key": newKey()}
}

// checkRefusal checks that an answer is a 4xx JSON refusal with a code and a
// message, and returns it.
func checkRefusal(t testing.TB, status int, h http.Header, body string) apiError {
	t.Helper()
	if status < 400 || status > 499 {
		t.Errorf("status %d, want a 4xx: %s", status, body)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("Cache-Control") != "no-store" {
		t.Errorf("answered as %q, cached %q: want JSON, no-store", h.Get("Content-Type"), h.Get("Cache-Control"))
	}
	return parseError(t, body)
}

func decodeAuthorisation(t testing.TB, body string) terminal.Authorisation {
	t.Helper()
	var a terminal.Authorisation
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.ID == "" {
		t.Fatalf("not an authorisation: %s (%v)", body, err)
	}
	return a
}

// TestTerminalAPICredential: every operation wants the terminal's bearer
// credential and nothing else; a session cookie, even an admin's, is not it.
func TestTerminalAPICredential(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	admin := s.user("Grace", contracts.RoleAdmin)
	pending := s.authorise(card.ID, 100, "Kiosk").ID
	operations := map[string]string{
		"/cards/api/v1/authorisations":                         purchase(card.ID, 100),
		"/cards/api/v1/forced-postings":                        purchase(card.ID, 100),
		"/cards/api/v1/authorisations/" + pending + "/capture": ``,
		"/cards/api/v1/authorisations/" + pending + "/void":    ``,
	}
	for path, body := range operations {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + terminalToken + "x", "Bearer  " + terminalToken,
			"Basic " + terminalToken, terminalToken, "Token " + terminalToken} {
			h := terminalHeaders()
			delete(h, "Authorization")
			if auth != "" {
				h["Authorization"] = auth
			}
			status, header, answer := s.terminalCall(path, h, body)
			e := checkRefusal(t, status, header, answer)
			if status != http.StatusUnauthorized || header.Get("WWW-Authenticate") != `Bearer realm="cards terminal"` || e.Error.Code != "unauthorised" ||
				!strings.Contains(e.Error.Message, "Authorization: Bearer") {
				t.Errorf("%s with Authorization %q: %d %s (WWW-Authenticate %q), want 401", path, auth, status, answer, header.Get("WWW-Authenticate"))
			}
		}
		// An admin's session is for the pages, not the API.
		h := terminalHeaders()
		delete(h, "Authorization")
		h["Cookie"] = authn.CookieName + "=" + admin.token
		if status, _, answer := s.terminalCall(path, h, body); status != http.StatusUnauthorized {
			t.Errorf("%s with an admin's session: %d %s, want 401", path, status, answer)
		}
	}
	if o, _ := s.sys.Cards.Overview(t.Context(), admin.id, 0, 1); len(o.Transactions) != 0 {
		t.Error("refused requests reached a ledger")
	}
	// The scheme's name is case-insensitive.
	h := terminalHeaders()
	h["Authorization"] = "bearer " + terminalToken
	if status, _, answer := s.terminalCall("/cards/api/v1/authorisations", h, purchase(card.ID, 100)); status != http.StatusCreated {
		t.Errorf(`"bearer" in lower case: %d %s, want 201`, status, answer)
	}
}

// TestTerminalAPIRequestHeaders: the key, the media type and the size of the
// body, on every operation.
func TestTerminalAPIRequestHeaders(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	for _, op := range []struct{ name, path string }{
		{"authorise", "/cards/api/v1/authorisations"},
		{"forced posting", "/cards/api/v1/forced-postings"},
		{"capture", "/cards/api/v1/authorisations/" + newKey() + "/capture"},
		{"void", "/cards/api/v1/authorisations/" + newKey() + "/void"},
	} {
		t.Run(op.name, func(t *testing.T) {
			body := purchase(card.ID, 100)
			if strings.HasSuffix(op.path, "capture") || strings.HasSuffix(op.path, "void") {
				body = `{}`
			}
			for _, tc := range []struct {
				name       string
				headers    func(map[string]string)
				body       string
				status     int
				code, says string
			}{
				{"no key", func(h map[string]string) { delete(h, "Idempotency-Key") }, body, 400, "idempotency_key_missing", "Idempotency-Key"},
				{"a key beyond ASCII", func(h map[string]string) { h["Idempotency-Key"] = "kéy" }, body, 400, "idempotency_key_invalid", "printable ASCII"},
				{"no media type", func(h map[string]string) { delete(h, "Content-Type") }, body, 415, "unsupported_media_type", "application/json"},
				{"text", func(h map[string]string) { h["Content-Type"] = "text/plain" }, body, 415, "unsupported_media_type", "application/json"},
				{"a form", func(h map[string]string) { h["Content-Type"] = "application/x-www-form-urlencoded" }, body, 415, "unsupported_media_type", "application/json"},
				{"another JSON type", func(h map[string]string) { h["Content-Type"] = "application/merge-patch+json" }, body, 415, "unsupported_media_type", "application/json"},
				{"a broken media type", func(h map[string]string) { h["Content-Type"] = "application/json; charset" }, body, 415, "unsupported_media_type", "application/json"},
				{"one byte over 8 KiB", func(map[string]string) {}, body + strings.Repeat(" ", 8<<10-len(body)+1), 413, "too_large", "at most 8192 bytes"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					h := terminalHeaders()
					tc.headers(h)
					status, header, answer := s.terminalCall(op.path, h, tc.body)
					e := checkRefusal(t, status, header, answer)
					if status != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.says) {
						t.Errorf("%d %s, want %d %s saying %q", status, answer, tc.status, tc.code, tc.says)
					}
				})
			}
		})
	}
	// At the limits: exactly 8 KiB, a charset, a key of 255 characters.
	h := terminalHeaders()
	h["Content-Type"] = "application/json; charset=utf-8"
	h["Idempotency-Key"] = strings.Repeat("k", terminal.MaxKeyLength)
	body := purchase(card.ID, 100)
	body += strings.Repeat(" ", 8<<10-len(body))
	if status, _, answer := s.terminalCall("/cards/api/v1/authorisations", h, body); status != http.StatusCreated || !decodeAuthorisation(t, answer).Approved {
		t.Errorf("a request at every limit: %d %s, want 201 approved", status, answer)
	}
}

// TestTerminalAPIMalformedBodies: each malformed body of each operation is
// a 4xx whose JSON names the field that is wrong, and reaches no ledger.
func TestTerminalAPIMalformedBodies(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	pending := s.authorise(card.ID, 500, "Kiosk").ID
	for _, tc := range malformedPurchases(card.ID) {
		for _, path := range []string{"/cards/api/v1/authorisations", "/cards/api/v1/forced-postings"} {
			t.Run(path[14:]+"/"+tc.name, func(t *testing.T) {
				status, h, body := s.terminalCall(path, terminalHeaders(), tc.body)
				checkMalformed(t, status, h, body, tc)
			})
		}
	}
	for _, tc := range malformedSettlements() {
		for _, action := range []string{"capture", "void"} {
			if action == "void" && tc.field == "amount_minor" && tc.code != "unknown_field" {
				tc.code, tc.status, tc.says = "unknown_field", 400, `"amount_minor"` // a void has no amount
			}
			t.Run(action+"/"+tc.name, func(t *testing.T) {
				status, h, body := s.terminalCall("/cards/api/v1/authorisations/"+pending+"/"+action, terminalHeaders(), tc.body)
				checkMalformed(t, status, h, body, tc)
			})
		}
	}
	o := ada.overview()
	if len(o.Transactions) != 1 || o.Transactions[0].Status != ledger.StatusPending || o.Account.Posted != 0 || o.Account.Held != 500 {
		t.Errorf("malformed requests changed the account: %d transactions, owed %d, held %d", len(o.Transactions), o.Account.Posted, o.Account.Held)
	}
}

// malformed is a malformed body and what its refusal must say.
type malformed struct {
	name, body string
	status     int
	code       string
	// field is the request field the refusal names ("" for the body as a
	// whole); says is in its message.
	field, says string
}

func malformedPurchases(card string) []malformed {
	good := func(replace, with string) string { return strings.Replace(purchase(card, 1250), replace, with, 1) }
	without := func(field string) string {
		m := map[string]any{"card_id": card, "amount_minor": 1250, "currency": "SEK", "merchant": "Kafé Java"}
		delete(m, field)
		b, _ := json.Marshal(m)
		return string(b)
	}
	return []malformed{
		{"not JSON", `card_id=` + card, 400, "invalid_json", "", "not valid JSON"},
		{"empty", ``, 400, "empty_body", "", "empty"},
		{"only spaces", " \n\t ", 400, "empty_body", "", "empty"},
		{"null", `null`, 422, "invalid_field", "card_id", "card_id is required"},
		{"an array", `[` + purchase(card, 1250) + `]`, 400, "invalid_json", "", "must be a JSON object, not a array"},
		{"a string", `"purchase"`, 400, "invalid_json", "", "must be a JSON object, not a string"},
		{"trailing object", purchase(card, 1250) + `{}`, 400, "invalid_json", "", "more after its JSON object"},
		{"trailing bracket", purchase(card, 1250) + `]`, 400, "invalid_json", "", "more after its JSON object"},
		{"trailing word", purchase(card, 1250) + ` x`, 400, "invalid_json", "", "more after its JSON object"},
		{"cut short", purchase(card, 1250)[:30], 400, "invalid_json", "", "ends in the middle"},
		{"a trailing comma", strings.Replace(purchase(card, 1250), `}`, `,}`, 1), 400, "invalid_json", "", "not valid JSON"},
		{"unknown field", good(`"merchant"`, `"pan": "4111111111111111", "merchant"`), 400, "unknown_field", "pan", `"pan"`},
		{"card_id a number", good(`"`+card+`"`, `42`), 400, "invalid_field", "card_id", "card_id must be a string, not a number"},
		{"card_id an object", good(`"`+card+`"`, `{"id": 1}`), 400, "invalid_field", "card_id", "card_id must be a string, not a object"},
		{"amount a string", good(`1250`, `"12.50"`), 400, "invalid_field", "amount_minor", "amount_minor must be a whole number, not a string"},
		{"amount a fraction", good(`1250`, `12.5`), 400, "invalid_field", "amount_minor", "amount_minor must be a whole number"},
		{"amount true", good(`1250`, `true`), 400, "invalid_field", "amount_minor", "amount_minor must be a whole number, not a bool"},
		{"amount beyond int64", good(`1250`, `99999999999999999999`), 400, "invalid_field", "amount_minor", "amount_minor must be a whole number"},
		{"currency a number", good(`"SEK"`, `752`), 400, "invalid_field", "currency", "currency must be a string, not a number"},
		{"merchant an array", good(`"Kafé Java"`, `["Kafé"]`), 400, "invalid_field", "merchant", "merchant must be a string, not a array"},
		{"no card_id", without("card_id"), 422, "invalid_field", "card_id", "card_id is required"},
		{"no amount", without("amount_minor"), 422, "invalid_field", "amount_minor", "amount_minor must be a whole number of minor units"},
		{"no currency", without("currency"), 422, "invalid_field", "currency", "currency is required"},
		{"no merchant", without("merchant"), 422, "invalid_field", "merchant", "merchant is required"},
		{"card_id not a UUID", good(card, "4111111111111111"), 422, "invalid_field", "card_id", "card_id must be a card's id, a UUID"},
		{"card_id with braces", good(card, "{"+card+"}"), 422, "invalid_field", "card_id", "card_id must be a card's id"},
		{"amount 0", good(`1250`, `0`), 422, "invalid_field", "amount_minor", "from 1 to 1000000000000000"},
		{"amount negative", good(`1250`, `-1250`), 422, "invalid_field", "amount_minor", "from 1 to 1000000000000000"},
		{"amount too large", good(`1250`, `1000000000000001`), 422, "invalid_field", "amount_minor", "from 1 to 1000000000000000"},
		{"currency in lower case", good(`"SEK"`, `"sek"`), 422, "invalid_field", "currency", `"sek" is not one`},
		{"currency unknown", good(`"SEK"`, `"XYZ"`), 422, "invalid_field", "currency", `"XYZ" is not one`},
		{"currency with spaces", good(`"SEK"`, `" SEK"`), 422, "invalid_field", "currency", "ISO 4217 code in capitals"},
		{"currency empty", good(`"SEK"`, `""`), 422, "invalid_field", "currency", "currency is required"},
		{"merchant with a newline", good(`Kafé Java`, `Kafé\nJava`), 422, "invalid_field", "merchant", "control characters such as line breaks"},
		{"merchant with NUL", good(`Kafé Java`, `Kafé\u0000Java`), 422, "invalid_field", "merchant", "control characters"},
		{"merchant of spaces", good(`"Kafé Java"`, `"   "`), 422, "invalid_field", "merchant", "merchant is required"},
		{"merchant too long", good(`Kafé Java`, strings.Repeat("ö", terminal.MaxMerchant+1)), 422, "invalid_field", "merchant", "at most 100 characters; this one has 101"},
		{"not UTF-8", strings.Replace(purchase(card, 1250), "é", "\xe9", 1), 400, "invalid_json", "", "not UTF-8"},
	}
}

func malformedSettlements() []malformed {
	return []malformed{
		{"not JSON", `amount=1`, 400, "invalid_json", "", "not valid JSON"},
		{"an array", `[]`, 400, "invalid_json", "", "must be a JSON object, not a array"},
		{"trailing data", `{} {}`, 400, "invalid_json", "", "more after its JSON object"},
		{"unknown field", `{"amount": 100}`, 400, "unknown_field", "amount", `"amount"`},
		{"amount a string", `{"amount_minor": "100"}`, 400, "invalid_field", "amount_minor", "amount_minor must be a whole number, not a string"},
		{"amount 0", `{"amount_minor": 0}`, 422, "invalid_field", "amount_minor", "amount_minor must be a whole number of minor units from 1"},
		{"amount negative", `{"amount_minor": -1}`, 422, "invalid_field", "amount_minor", "amount_minor must be a whole number of minor units from 1"},
		{"amount too large", `{"amount_minor": 1000000000000001}`, 422, "invalid_field", "amount_minor", "amount_minor must be a whole number of minor units from 1"},
	}
}

func checkMalformed(t *testing.T, status int, h http.Header, body string, tc malformed) {
	t.Helper()
	e := checkRefusal(t, status, h, body)
	if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.says) {
		t.Errorf("%d %s\nwant %d %s at field %q saying %q", status, body, tc.status, tc.code, tc.field, tc.says)
	}
	if e.Error.Field != "" && !strings.Contains(e.Error.Message, e.Error.Field) {
		t.Errorf("the message %q does not name the field %s", e.Error.Message, e.Error.Field)
	}
}

// TestTerminalAPIDeclines: every reason a purchase is declined, each an
// answer (201, approved false) with the reason and its sentence, recorded
// on the holder's overview when there is a card to record it on.
func TestTerminalAPIDeclines(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			active := ada.openAccount()
			frozen, _ := s.sys.Cards.IssueVirtualCard(t.Context(), ada.id)
			cancelled, _ := s.sys.Cards.IssueVirtualCard(t.Context(), ada.id)
			if err := s.sys.Cards.ChangeCard(t.Context(), ada.id, frozen.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.sys.Cards.ChangeCard(t.Context(), ada.id, cancelled.ID, cards.Cancel, "lost"); err != nil {
				t.Fatal(err)
			}
			bob := s.user("Bob", contracts.RoleUser)
			closed := bob.openAccount()
			if _, err := s.db.Exec(`UPDATE accounts SET status = 'closed' WHERE user_id = $1`, bob.id); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name, body string
				reason     ledger.DeclineReason
			}{
				{"unknown card", purchase(newKey(), 100), ledger.DeclineUnknownCard},
				{"frozen card", purchase(frozen.ID, 100), ledger.DeclineCardFrozen},
				{"cancelled card", purchase(cancelled.ID, 100), ledger.DeclineCardCancelled},
				{"closed account", purchase(closed.ID, 100), ledger.DeclineAccountClosed},
				{"over the available credit", purchase(active.ID, cardstest.Limit+1), ledger.DeclineInsufficientCredit},
				{"another currency", strings.Replace(purchase(active.ID, 100), "SEK", "EUR", 1), ledger.DeclineWrongCurrency},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, _, body := s.api("/cards/api/v1/authorisations", newKey(), tc.body)
					a := decodeAuthorisation(t, body)
					if status != http.StatusCreated || a.Approved || a.Status != ledger.StatusDeclined || a.DeclineReason != tc.reason ||
						a.Message != tc.reason.Sentence() || a.ExpiresAt != nil {
						t.Errorf("%d %s, want 201 declined for %s", status, body, tc.reason)
					}
				})
			}
			_, page := ada.get("/cards/")
			want := []string{"The card does not take this currency.", "Not enough available credit.", "The card is cancelled.", "The card is frozen."}
			if got := texts(page, "decline-reason"); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("decline reasons on the overview %q, want %q", got, want)
			}
			if a := ada.overview().Account; a.Held != 0 || a.Posted != 0 {
				t.Errorf("declines held %d and posted %d", a.Held, a.Posted)
			}
		})
	}
}

// TestTerminalAPIIdempotency: a retry gets the first answer byte for byte,
// marked as replayed, even after the card changed; the key with another
// request, or on another operation, is refused. Both databases.
func TestTerminalAPIIdempotency(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			key := newKey()
			status, h, first := s.api("/cards/api/v1/authorisations", key, purchase(card.ID, 4_200))
			a := decodeAuthorisation(t, first)
			if status != http.StatusCreated || !a.Approved || a.Status != ledger.StatusPending || h.Get("Idempotent-Replayed") != "" {
				t.Fatalf("authorise: %d %s", status, first)
			}
			if err := s.sys.Cards.ChangeCard(t.Context(), ada.id, card.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}
			for _, retry := range []string{purchase(card.ID, 4_200), `{"merchant":"Kafé Java","currency":"SEK","amount_minor":4200,"card_id":"` + card.ID + `"}`} {
				status, h, again := s.api("/cards/api/v1/authorisations", key, retry)
				if status != http.StatusCreated || again != first || h.Get("Idempotent-Replayed") != "true" {
					t.Errorf("retry: %d %s (replayed %q)\nwant the first answer %s", status, again, h.Get("Idempotent-Replayed"), first)
				}
			}
			for _, other := range []struct{ path, body string }{
				{"/cards/api/v1/authorisations", purchase(card.ID, 4_201)},
				{"/cards/api/v1/authorisations", strings.Replace(purchase(card.ID, 4_200), "Kafé Java", "Kafé Lava", 1)},
				{"/cards/api/v1/forced-postings", purchase(card.ID, 4_200)},
				{"/cards/api/v1/authorisations/" + a.ID + "/capture", ``},
			} {
				status, h, body := s.api(other.path, key, other.body)
				if e := checkRefusal(t, status, h, body); status != http.StatusUnprocessableEntity || e.Error.Code != "idempotency_key_reused" {
					t.Errorf("the key on %s %s: %d %s, want 422 idempotency_key_reused", other.path, other.body, status, body)
				}
			}
			if o := ada.overview(); len(o.Transactions) != 1 || o.Account.Held != 4_200 {
				t.Errorf("%d transactions, held %d, want the one purchase", len(o.Transactions), o.Account.Held)
			}

			// A capture's retry, and a decline's, are replayed the same way.
			captureKey := newKey()
			status, _, captured := s.api("/cards/api/v1/authorisations/"+a.ID+"/capture", captureKey, `{"amount_minor": 4000}`)
			if status != http.StatusOK {
				t.Fatalf("capture: %d %s", status, captured)
			}
			status, h, again := s.api("/cards/api/v1/authorisations/"+a.ID+"/capture", captureKey, `{ "amount_minor" : 4000 }`)
			if status != http.StatusOK || again != captured || h.Get("Idempotent-Replayed") != "true" {
				t.Errorf("capture retry: %d %s, want %s replayed", status, again, captured)
			}
			declineKey := newKey()
			_, _, declined := s.api("/cards/api/v1/authorisations", declineKey, purchase(card.ID, 1))
			if _, h, again := s.api("/cards/api/v1/authorisations", declineKey, purchase(card.ID, 1)); again != declined || h.Get("Idempotent-Replayed") != "true" {
				t.Errorf("decline retry: %s, want %s replayed", again, declined)
			}
			if a := ada.overview().Account; a.Posted != 4_000 || a.Held != 0 {
				t.Errorf("after retries: owed %d, held %d; want one capture of 4000", a.Posted, a.Held)
			}
		})
	}
}

// TestTerminalAPISettlement: full and partial captures, voids, what cannot
// be settled, and an authorisation past its expiry. Both databases.
func TestTerminalAPISettlement(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			settle := func(id, action, body string) (int, string, apiError) {
				t.Helper()
				status, h, answer := s.api("/cards/api/v1/authorisations/"+id+"/"+action, newKey(), body)
				var e apiError
				if status >= 400 {
					e = checkRefusal(t, status, h, answer)
				}
				return status, answer, e
			}
			figures := func() (owed, held int64) { a := ada.overview().Account; return a.Posted, a.Held }

			full, empty := s.authorise(card.ID, 1_000, "A"), s.authorise(card.ID, 2_000, "B")
			for _, tc := range []struct {
				id, body string
				posted   int64
			}{{full.ID, ``, 1_000}, {empty.ID, `{}`, 2_000}} {
				status, body, _ := settle(tc.id, "capture", tc.body)
				a := decodeAuthorisation(t, body)
				if status != http.StatusOK || a.Status != ledger.StatusPosted || a.PostedMinor != tc.posted || !a.Approved || a.ExpiresAt != nil {
					t.Errorf("capture with %q: %d %s, want all %d posted", tc.body, status, body, tc.posted)
				}
			}
			if owed, held := figures(); owed != 3_000 || held != 0 {
				t.Errorf("after two full captures: owed %d, held %d", owed, held)
			}

			part := s.authorise(card.ID, 5_000, "C")
			status, _, e := settle(part.ID, "capture", `{"amount_minor": 5001}`)
			if status != http.StatusUnprocessableEntity || e.Error.Code != "amount_above_authorised" || e.Error.Field != "amount_minor" || !strings.Contains(e.Error.Message, "5000") {
				t.Errorf("capture above the authorised amount: %d %+v", status, e)
			}
			if owed, held := figures(); owed != 3_000 || held != 5_000 {
				t.Errorf("a refused capture changed the figures: owed %d, held %d", owed, held)
			}
			status, body, _ := settle(part.ID, "capture", `{"amount_minor": 1234}`)
			if a := decodeAuthorisation(t, body); status != http.StatusOK || a.PostedMinor != 1_234 || a.AmountMinor != 5_000 {
				t.Errorf("partial capture: %d %s", status, body)
			}
			if owed, held := figures(); owed != 4_234 || held != 0 {
				t.Errorf("a partial capture must release the rest of the hold: owed %d, held %d", owed, held)
			}
			for _, action := range []string{"capture", "void"} {
				status, _, e := settle(part.ID, action, ``)
				if status != http.StatusConflict || e.Error.Code != "not_pending" || !strings.Contains(e.Error.Message, "This authorisation is posted") {
					t.Errorf("%s of a posted purchase: %d %+v, want 409 not_pending", action, status, e)
				}
			}

			voided := s.authorise(card.ID, 700, "D")
			status, body, _ = settle(voided.ID, "void", ``)
			if a := decodeAuthorisation(t, body); status != http.StatusOK || a.Status != ledger.StatusVoided || a.PostedMinor != 0 {
				t.Errorf("void: %d %s", status, body)
			}
			for _, action := range []string{"capture", "void"} {
				if status, _, e := settle(voided.ID, action, ``); status != http.StatusConflict || e.Error.Code != "not_pending" {
					t.Errorf("%s of a voided purchase: %d %+v", action, status, e)
				}
			}

			// An id is a UUID in either case.
			upper := s.authorise(card.ID, 300, "G")
			if status, body, _ := settle(strings.ToUpper(upper.ID), "void", ``); status != http.StatusOK || decodeAuthorisation(t, body).ID != upper.ID {
				t.Errorf("void by the id in capitals: %d %s, want the purchase voided", status, body)
			}

			declined := s.authorise(card.ID, cardstest.Limit, "E")
			if status, _, e := settle(declined.ID, "capture", ``); status != http.StatusConflict || !strings.Contains(e.Error.Message, "declined") {
				t.Errorf("capture of a declined purchase: %d %+v", status, e)
			}
			for _, id := range []string{newKey(), "not-an-id", "{" + full.ID + "}"} {
				for _, action := range []string{"capture", "void"} {
					if status, _, e := settle(id, action, ``); status != http.StatusNotFound || e.Error.Code != "unknown_authorisation" {
						t.Errorf("%s of %s: %d %+v, want 404 unknown_authorisation", action, id, status, e)
					}
				}
			}

			// Past its time (an hour, see cardstest) an authorisation cannot be
			// captured, and its hold is released even before the job runs.
			late := s.authorise(card.ID, 900, "F")
			s.clock.Advance(time.Hour)
			if status, _, e := settle(late.ID, "capture", ``); status != http.StatusConflict || !strings.Contains(e.Error.Message, "expired") {
				t.Errorf("capture after the expiry: %d %+v", status, e)
			}
			if owed, held := figures(); owed != 4_234 || held != 0 {
				t.Errorf("after the expiry: owed %d, held %d", owed, held)
			}
			if _, page := ada.get("/cards/"); text(page, "tx-status") != ledger.StatusExpired || text(page, "available") != sek(cardstest.Limit-4_234) {
				t.Errorf("the overview shows the newest as %q, available %q", text(page, "tx-status"), text(page, "available"))
			}
		})
	}
}

// TestTerminalAPIForcedPostingOverTheLimit: a forced posting takes the
// account over its limit; the overview and the summary say so, purchases are
// declined, and paying the statement brings it back. Both databases.
func TestTerminalAPIForcedPostingOverTheLimit(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			status, _, body := s.api("/cards/api/v1/forced-postings", newKey(), purchase(card.ID, cardstest.Limit+100_000))
			a := decodeAuthorisation(t, body)
			if status != http.StatusCreated || !a.Forced || a.Status != ledger.StatusPosted || a.PostedMinor != cardstest.Limit+100_000 {
				t.Fatalf("forced posting: %d %s", status, body)
			}
			_, page := ada.get("/cards/")
			if got := text(page, "over-limit"); !strings.HasPrefix(got, "Over the limit by "+sek(100_000)+".") {
				t.Errorf("the over-limit warning says %q", got)
			}
			if text(page, "available") != sek(-100_000) || text(page, "posted") != sek(cardstest.Limit+100_000) || text(page, "tx-status") != "posted (forced)" {
				t.Errorf("over the limit: available %q, owed %q, row %q", text(page, "available"), text(page, "posted"), text(page, "tx-status"))
			}
			if _, _, fragment := ada.do(http.MethodGet, "/cards/fragments/summary/v1", nil); !strings.Contains(fragment, "Over the limit.") {
				t.Errorf("the summary does not say the account is over its limit: %s", fragment)
			}
			if got := s.authorise(card.ID, 1, "Kiosk"); got.Approved || got.DeclineReason != ledger.DeclineInsufficientCredit {
				t.Errorf("a purchase over the limit: %+v, want declined", got)
			}
			if status, _, body := s.api("/cards/api/v1/forced-postings", newKey(), strings.Replace(purchase(card.ID, 100), "SEK", "EUR", 1)); status != http.StatusUnprocessableEntity ||
				parseError(t, body).Error.Code != "wrong_currency" {
				t.Errorf("a forced posting in another currency: %d %s", status, body)
			}

			s.closePeriod(1)
			st := ada.overview().Statements[0]
			if status, _, _ := ada.post("/cards/statements/"+st.ID+"/pay", nil); status != http.StatusSeeOther {
				t.Fatalf("pay: %d", status)
			}
			_, page = ada.get("/cards/")
			if count(page, "over-limit") != 0 || text(page, "available") != sek(cardstest.Limit) {
				t.Errorf("after paying: %d warnings, available %q", count(page, "over-limit"), text(page, "available"))
			}
			if got := s.authorise(card.ID, cardstest.Limit, "Everything"); !got.Approved {
				t.Errorf("after paying, the whole limit is not available: %+v", got)
			}
			if got := s.authorise(card.ID, 1, "One more"); got.Approved {
				t.Error("the limit holds no more after the account was over it once")
			}
		})
	}
}

// TestTerminalAPICardIDInCapitals: a card's id is a UUID, which is the same
// in capitals: the purchase goes to that card, and a retry in the other case
// is the same request.
func TestTerminalAPICardIDInCapitals(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	key := newKey()
	status, _, first := s.api("/cards/api/v1/authorisations", key, purchase(strings.ToUpper(card.ID), 1_500))
	if a := decodeAuthorisation(t, first); status != http.StatusCreated || !a.Approved || a.CardID != card.ID {
		t.Errorf("the card's id in capitals: %d %s, want approved on %s", status, first, card.ID)
	}
	if _, h, again := s.api("/cards/api/v1/authorisations", key, purchase(card.ID, 1_500)); again != first || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the retry in lower case: %s, want the first answer replayed", again)
	}
	status, _, body := s.api("/cards/api/v1/forced-postings", newKey(), purchase(strings.ToUpper(card.ID), 500))
	if a := decodeAuthorisation(t, body); status != http.StatusCreated || a.CardID != card.ID {
		t.Errorf("a forced posting with the id in capitals: %d %s", status, body)
	}
	if a := ada.overview().Account; a.Held != 1_500 || a.Posted != 500 {
		t.Errorf("held %d, owed %d; want 1500 and 500", a.Held, a.Posted)
	}
}
