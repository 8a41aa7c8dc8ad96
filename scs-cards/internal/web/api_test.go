package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// apiError is the JSON of a refusal.
type apiError struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func parseError(t testing.TB, body string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not a JSON error with a code and a message: %s (%v)", body, err)
	}
	return e
}

func purchase(card string, minor int64) string {
	return fmt.Sprintf(`{"card_id": %q, "amount_minor": %d, "currency": "SEK", "merchant": "Kafé Java"}`, card, minor)
}

// A body that names a field twice, or in two cases, would be read by
// encoding/json as its last spelling, whatever a terminal, a log or a filter on
// the way read as the first: it is refused, at any depth, naming the field.
func TestTerminalAPIRefusesAFieldSentTwiceOrInTwoCases(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	good := purchase(card.ID, 1250)
	authorised := decodeAuthorisation(t, func() string { _, _, b := s.api("/cards/api/v1/authorisations", newKey(), good); return b }())
	for _, tc := range []struct {
		name, path, body, field, says string
	}{
		{"the same field twice", "/cards/api/v1/authorisations", strings.Replace(good, `"amount_minor": 1250`, `"amount_minor": 1, "amount_minor": 1250`, 1),
			"amount_minor", `"amount_minor" appears twice`},
		{"a field in two cases", "/cards/api/v1/authorisations", strings.Replace(good, `"amount_minor": 1250`, `"amount_minor": 1, "AMOUNT_MINOR": 1250`, 1),
			"AMOUNT_MINOR", `"amount_minor" and "AMOUNT_MINOR" differ only in case`},
		{"the same field, escaped", "/cards/api/v1/authorisations", strings.Replace(good, `"merchant"`, `"merchant": "M", "merchan\u0074"`, 1),
			"merchant", `"merchant" appears twice`},
		{"the Kelvin sign for a K", "/cards/api/v1/authorisations", `{"\u212aey": 1, "key": 2}`,
			"key", `"Key" and "key" differ only in case`},
		{"deep in an unknown field", "/cards/api/v1/authorisations", strings.Replace(good, `{`, `{"extra": [{"a": 1}, {"b": {"c": 1, "c": 2}}], `, 1),
			"c", `"c" appears twice`},
		{"a capture", "/cards/api/v1/authorisations/" + authorised.ID + "/capture", `{"amount_minor": 1, "Amount_Minor": 1250}`,
			"Amount_Minor", "differ only in case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := s.api(tc.path, newKey(), tc.body)
			e := checkRefusal(t, status, h, body)
			if status != http.StatusBadRequest || e.Error.Code != "duplicate_field" || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.says) {
				t.Errorf("%d %+v, want 400 duplicate_field for %s saying %q", status, e.Error, tc.field, tc.says)
			}
		})
	}
	// The same field in two objects is no duplicate: this body is refused for
	// its unknown field, not for "b".
	status, _, body := s.api("/cards/api/v1/authorisations", newKey(), strings.Replace(good, `{`, `{"extra": [{"b": 1}, {"b": 1}], `, 1))
	if e := parseError(t, body); status != http.StatusBadRequest || e.Error.Code != "unknown_field" || e.Error.Field != "extra" {
		t.Errorf("the same field in two sibling objects: %d %+v, want only the unknown field refused", status, e.Error)
	}
	// Nothing was captured.
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM transactions WHERE status = 'posted'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d posted transactions after refused captures (%v)", n, err)
	}
}

func TestTerminalAPIRefusesBadRequests(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	good := purchase(card.ID, 1250)
	for _, tc := range []struct {
		name, body, key string
		status          int
		code, says      string
	}{
		{"not JSON", `card=1`, "", 400, "invalid_json", "not valid JSON"},
		{"empty", ``, "", 400, "empty_body", "empty"},
		{"an array", `[1, 2]`, "", 400, "invalid_json", "must be a JSON object"},
		{"trailing data", good + ` {}`, "", 400, "invalid_json", "more after its JSON object"},
		{"cut short", `{"card_id": "x"`, "", 400, "invalid_json", "ends in the middle"},
		{"unknown field", `{"card_id": "x", "pan": "4111111111111111"}`, "", 400, "unknown_field", `"pan"`},
		{"amount as a string", fmt.Sprintf(`{"card_id": %q, "amount_minor": "12.50", "currency": "SEK", "merchant": "M"}`, card.ID), "", 400, "invalid_field", "amount_minor must be a whole number"},
		{"amount as a fraction", fmt.Sprintf(`{"card_id": %q, "amount_minor": 12.5, "currency": "SEK", "merchant": "M"}`, card.ID), "", 400, "invalid_field", "amount_minor"},
		{"no card", `{"amount_minor": 100, "currency": "SEK", "merchant": "M"}`, "", 422, "invalid_field", "card_id is required"},
		{"card not a UUID", `{"card_id": "4111111111111111", "amount_minor": 100, "currency": "SEK", "merchant": "M"}`, "", 422, "invalid_field", "card_id must be"},
		{"zero amount", purchase(card.ID, 0), "", 422, "invalid_field", "amount_minor must be"},
		{"negative amount", purchase(card.ID, -5), "", 422, "invalid_field", "amount_minor must be"},
		{"amount too large", purchase(card.ID, 1_000_000_000_000_001), "", 422, "invalid_field", "amount_minor must be"},
		{"amount beyond int64", fmt.Sprintf(`{"card_id": %q, "amount_minor": 99999999999999999999, "currency": "SEK", "merchant": "M"}`, card.ID), "", 400, "invalid_field", "amount_minor"},
		{"no currency", fmt.Sprintf(`{"card_id": %q, "amount_minor": 100, "merchant": "M"}`, card.ID), "", 422, "invalid_field", "currency is required"},
		{"lower-case currency", strings.Replace(good, "SEK", "sek", 1), "", 422, "invalid_field", "ISO 4217 code in capitals"},
		{"unknown currency", strings.Replace(good, "SEK", "XYZ", 1), "", 422, "invalid_field", `"XYZ" is not one`},
		{"no merchant", fmt.Sprintf(`{"card_id": %q, "amount_minor": 100, "currency": "SEK"}`, card.ID), "", 422, "invalid_field", "merchant is required"},
		{"merchant with a line break", strings.Replace(good, "Kafé Java", `Kafé\nJava`, 1), "", 422, "invalid_field", "control characters"},
		{"merchant too long", strings.Replace(good, "Kafé Java", strings.Repeat("m", 101), 1), "", 422, "invalid_field", "at most 100"},
		{"merchant with a right-to-left override", strings.Replace(good, "Kafé Java", `Kafé \u202eavaJ`, 1), "", 422, "invalid_field",
			"The merchant name contains an invisible character that reverses text direction (U+202E); remove it."},
		{"not UTF-8", "{\"card_id\": \"\xff\"}", "", 400, "invalid_json", "UTF-8"},
		{"key with a space", good, "a key", 400, "idempotency_key_invalid", "printable ASCII"},
		{"key too long", good, strings.Repeat("k", 256), 400, "idempotency_key_invalid", "at most 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if key == "" {
				key = newKey()
			}
			status, h, body := s.api("/cards/api/v1/authorisations", key, tc.body)
			if status != tc.status || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("%d (%s) %s, want %d JSON", status, h.Get("Content-Type"), body, tc.status)
			}
			e := parseError(t, body)
			if e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.says) {
				t.Errorf("error %+v, want code %s saying %q", e.Error, tc.code, tc.says)
			}
		})
	}
	// The disguised merchant is refused on its field, whichever control it is.
	for _, r := range []string{`\u202a`, `\u202e`, `\u2066`, `\u2069`} {
		status, _, body := s.api("/cards/api/v1/forced-postings", newKey(), strings.Replace(good, "Kafé Java", "Kafé"+r+"Java", 1))
		if e := parseError(t, body); status != http.StatusUnprocessableEntity || e.Error.Field != "merchant" || !strings.Contains(e.Error.Message, "reverses text direction") {
			t.Errorf("a forced posting at a merchant with %s: %d %+v, want 422 on merchant", r, status, e.Error)
		}
	}
	// Nothing reached the ledger.
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM transactions`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d transactions after only bad requests (%v)", n, err)
	}

	t.Run("no credential", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + terminalToken, terminalToken} {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/cards/api/v1/authorisations", strings.NewReader(good))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", newKey())
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			status, h, body := s.send(req)
			if status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" || parseError(t, body).Error.Code != "unauthorised" {
				t.Errorf("Authorization %q: %d %s", auth, status, body)
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		status, _, body := s.api("/cards/api/v1/authorisations", "", good)
		if status != http.StatusBadRequest || parseError(t, body).Error.Code != "idempotency_key_missing" {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/cards/api/v1/authorisations", strings.NewReader(good))
		req.Header.Set("Authorization", "Bearer "+terminalToken)
		req.Header.Set("Idempotency-Key", newKey())
		req.Header.Set("Content-Type", "text/plain")
		if status, _, body := s.send(req); status != http.StatusUnsupportedMediaType || parseError(t, body).Error.Code != "unsupported_media_type" {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := strings.Replace(good, "Kafé Java", strings.Repeat("m", 9000), 1)
		if status, _, body := s.api("/cards/api/v1/authorisations", newKey(), big); status != http.StatusRequestEntityTooLarge || parseError(t, body).Error.Code != "too_large" {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("unknown operation and method", func(t *testing.T) {
		if status, _, body := s.api("/cards/api/v1/refunds", newKey(), good); status != http.StatusNotFound || parseError(t, body).Error.Code != "not_found" {
			t.Errorf("%d %s", status, body)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/cards/api/v1/authorisations", nil)
		req.Header.Set("Authorization", "Bearer "+terminalToken)
		if status, _, body := s.send(req); status != http.StatusMethodNotAllowed || parseError(t, body).Error.Code != "method_not_allowed" {
			t.Errorf("%d %s", status, body)
		}
		if status, _, body := s.api("/cards/api/v1/authorisations/not-an-id/capture", newKey(), ``); status != http.StatusNotFound || parseError(t, body).Error.Code != "unknown_authorisation" {
			t.Errorf("%d %s", status, body)
		}
	})
}

func TestTerminalAPI(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()

			key := newKey()
			status, h, first := s.api("/cards/api/v1/authorisations", key, purchase(card.ID, 12_550))
			var a terminal.Authorisation
			if status != http.StatusCreated || json.Unmarshal([]byte(first), &a) != nil || !a.Approved || a.Status != "pending" || h.Get("Idempotent-Replayed") != "" {
				t.Fatalf("authorise: %d %s", status, first)
			}
			// A retry, spaced differently, is the same request: the same bytes back.
			status, h, again := s.api("/cards/api/v1/authorisations", key, strings.ReplaceAll(purchase(card.ID, 12_550), ": ", ":"))
			if status != http.StatusCreated || again != first || h.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry: %d %s (replayed %q), want the first answer", status, again, h.Get("Idempotent-Replayed"))
			}
			if status, _, body := s.api("/cards/api/v1/authorisations", key, purchase(card.ID, 99)); status != http.StatusUnprocessableEntity || parseError(t, body).Error.Code != "idempotency_key_reused" {
				t.Errorf("the key with another body: %d %s", status, body)
			}

			// Captures: part, then a second is refused; more than authorised is refused.
			status, _, body := s.api("/cards/api/v1/authorisations/"+a.ID+"/capture", newKey(), `{"amount_minor": 10000}`)
			if status != http.StatusOK || !strings.Contains(body, `"status":"posted"`) || !strings.Contains(body, `"posted_minor":10000`) {
				t.Errorf("capture: %d %s", status, body)
			}
			if status, _, body := s.api("/cards/api/v1/authorisations/"+a.ID+"/capture", newKey(), ``); status != http.StatusConflict || parseError(t, body).Error.Code != "not_pending" {
				t.Errorf("a second capture: %d %s", status, body)
			}
			status, _, body = s.api("/cards/api/v1/authorisations", newKey(), purchase(card.ID, 500))
			_ = json.Unmarshal([]byte(body), &a)
			if status, _, body := s.api("/cards/api/v1/authorisations/"+a.ID+"/capture", newKey(), `{"amount_minor": 501}`); status != http.StatusUnprocessableEntity || parseError(t, body).Error.Code != "amount_above_authorised" {
				t.Errorf("capture above the authorised amount: %d %s", status, body)
			}
			if status, _, body := s.api("/cards/api/v1/authorisations/"+a.ID+"/void", newKey(), ``); status != http.StatusOK || !strings.Contains(body, `"status":"voided"`) {
				t.Errorf("void: %d %s", status, body)
			}
			if status, _, body := s.api("/cards/api/v1/authorisations/"+newKey()+"/void", newKey(), `{}`); status != http.StatusNotFound || parseError(t, body).Error.Code != "unknown_authorisation" {
				t.Errorf("void of an unknown authorisation: %d %s", status, body)
			}

			// Declines say why.
			for _, tc := range []struct {
				body   string
				reason ledger.DeclineReason
			}{
				{purchase(newKey(), 100), ledger.DeclineUnknownCard},
				{purchase(card.ID, 10_000_000), ledger.DeclineInsufficientCredit},
				{strings.Replace(purchase(card.ID, 100), "SEK", "EUR", 1), ledger.DeclineWrongCurrency},
			} {
				status, _, body := s.api("/cards/api/v1/authorisations", newKey(), tc.body)
				if status != http.StatusCreated || !strings.Contains(body, `"approved":false`) || !strings.Contains(body, `"decline_reason":"`+string(tc.reason)+`"`) {
					t.Errorf("%s: %d %s, want declined for %s", tc.body, status, body, tc.reason)
				}
			}

			// A forced posting takes the account over its limit; the overview says so.
			status, _, body = s.api("/cards/api/v1/forced-postings", newKey(), purchase(card.ID, 5_000_000))
			if status != http.StatusCreated || !strings.Contains(body, `"forced":true`) {
				t.Fatalf("forced posting: %d %s", status, body)
			}
			if status, page := ada.get("/cards/"); status != http.StatusOK || !strings.Contains(page, `data-testid="over-limit"`) {
				t.Errorf("the overview after a forced posting over the limit: %d, no over-limit warning", status)
			}
			if status, _, body := s.api("/cards/api/v1/forced-postings", newKey(), purchase(newKey(), 100)); status != http.StatusNotFound || parseError(t, body).Error.Code != "unknown_card" {
				t.Errorf("a forced posting on an unknown card: %d %s", status, body)
			}
		})
	}
}

// FuzzTerminalJSON sends any body to the authorisation and capture
// operations: never a 5xx, and every refusal is a 4xx whose JSON says what is
// wrong.
func FuzzTerminalJSON(f *testing.F) {
	s := newSite(f, servicetest.SQLite(f))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	for _, seed := range []string{
		purchase(card.ID, 1250), `{}`, ``, `[]`, `null`, `"x"`, `{"card_id": 1}`, `{"amount_minor": 1e3}`,
		`{"card_id": "` + card.ID + `", "amount_minor": 100, "currency": "SEK", "merchant": "M", "x": 1}`,
		`{"amount_minor": -1}`, `{"amount_minor": 9223372036854775808}`, "{\"merchant\": \"\u0000\"}", `{"a":` + strings.Repeat("[", 200),
		`{"amount_minor": 1, "amount_minor": 2}`, `{"amount_minor": 1, "AMOUNT_MINOR": 2}`, `{"a": [{"b": 1}, {"b": 1, "B": 2}]}`,
		"{\"merchant\": \"Kaf\u00e9 \u202eavaJ\"}",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	// Under -fuzz, each worker builds its own site, so a seed's card is
	// unknown there: those inputs then exercise the "unknown card" answer.
	_, _, body := s.api("/cards/api/v1/authorisations", newKey(), purchase(card.ID, 1))
	var a terminal.Authorisation
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.ID == "" {
		f.Fatalf("a pending authorisation to capture: %s", body)
	}
	pending := a.ID
	f.Fuzz(func(t *testing.T, body string, capture bool) {
		path := "/cards/api/v1/authorisations"
		if capture {
			path += "/" + pending + "/capture"
		}
		st := *s // the same site, failing this input's t
		st.t = t
		status, h, answer := st.api(path, newKey(), body)
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("%d answered as %q: %s", status, h.Get("Content-Type"), answer)
		}
		switch {
		case status >= 500:
			t.Fatalf("%q: %d %s", body, status, answer)
		case status >= 400:
			parseError(t, answer)
		default:
			var a terminal.Authorisation
			if err := json.Unmarshal([]byte(answer), &a); err != nil || a.ID == "" || a.Status == "" {
				t.Fatalf("%q: %d %s", body, status, answer)
			}
		}
	})
}
