package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
)

// fuzzOperations are the terminal operations FuzzTerminalRequests sends a
// body to; a capture or void goes to a pending authorisation of its own.
var fuzzOperations = []string{"authorise", "forced-posting", "capture", "void"}

// fuzzCard stands for the card in the seeds: each fuzzing process builds its
// own site, whose card has another id, and puts it in place of this one.
const fuzzCard = "11111111-1111-7111-8111-111111111111"

// FuzzTerminalRequests sends any body to each terminal operation through the
// real handler on SQLite, and then the same request again under the same key.
// It never answers 5xx; a refusal is a 4xx JSON error whose message names the
// field it is about; a success has the shape of its operation; and the retry
// gets the same answer, marked as replayed when it was stored.
func FuzzTerminalRequests(f *testing.F) {
	s := newSite(f, servicetest.SQLite(f))
	card := s.user("Ada", contracts.RoleUser).openAccount()
	for op := range fuzzOperations {
		f.Add(uint8(op), purchase(fuzzCard, 1250))
		f.Add(uint8(op), ``)
		f.Add(uint8(op), `{"amount_minor": 100}`)
		for _, tc := range malformedPurchases(fuzzCard) {
			f.Add(uint8(op), tc.body)
		}
		for _, tc := range malformedSettlements() {
			f.Add(uint8(op), tc.body)
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		fs := *s // the site, failing this input's t
		fs.t = t
		body = strings.ReplaceAll(body, fuzzCard, card.ID)
		operation := fuzzOperations[int(op)%len(fuzzOperations)]
		path := map[string]string{"authorise": "/cards/api/v1/authorisations", "forced-posting": "/cards/api/v1/forced-postings"}[operation]
		if path == "" {
			path = "/cards/api/v1/authorisations/" + fs.authorise(card.ID, 1, "Fuzz").ID + "/" + operation
		}
		key := newKey()
		status, h, answer := fs.api(path, key, body)
		checkTerminalAnswer(t, operation, body, status, h, answer)

		again, h, replay := fs.api(path, key, body)
		if again != status || replay != answer {
			t.Fatalf("%s %q: the retry got %d %s, the first %d %s", operation, body, again, replay, status, answer)
		}
		if status < 300 && h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s %q: the retry of a success is not marked as replayed", operation, body)
		}
	})
}

// checkTerminalAnswer checks what every answer of the terminal API must be.
func checkTerminalAnswer(t *testing.T, operation, body string, status int, h http.Header, answer string) {
	t.Helper()
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s %q: %d answered as %q (Cache-Control %q): %s", operation, body, status, h.Get("Content-Type"), h.Get("Cache-Control"), answer)
	}
	if status >= 300 {
		if status < 400 || status > 499 {
			t.Fatalf("%s %q: %d %s, want a 2xx or a 4xx", operation, body, status, answer)
		}
		var e apiError
		if err := json.Unmarshal([]byte(answer), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %q: %d %s is not a JSON error with a code and a message", operation, body, status, answer)
		}
		// An unknown field may be called "" (and then there is no "field").
		if (e.Error.Code == "invalid_field" && e.Error.Field == "") ||
			((e.Error.Code == "invalid_field" || e.Error.Code == "unknown_field") && !strings.Contains(e.Error.Message, e.Error.Field)) {
			t.Fatalf("%s %q: the refusal %s does not name its field", operation, body, answer)
		}
		return
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		t.Fatalf("%s %q: %d %s is not a JSON object", operation, body, status, answer)
	}
	approved, isBool := a["approved"].(bool)
	st, _ := a["status"].(string)
	amount, _ := a["amount_minor"].(float64)
	currency, _ := a["currency"].(string)
	id, _ := a["id"].(string)
	if !isBool || id == "" || amount < 1 || amount > money.MaxMinor || len(currency) != 3 || strings.ToUpper(currency) != currency {
		t.Fatalf("%s %q: %d %s lacks approved, id, amount or currency", operation, body, status, answer)
	}
	want := map[string]struct {
		status int
		ok     func() bool
	}{
		"authorise": {http.StatusCreated, func() bool {
			reason, _ := a["decline_reason"].(string)
			message, _ := a["message"].(string)
			return (approved && st == ledger.StatusPending && reason == "") ||
				(!approved && st == ledger.StatusDeclined && reason != "" && message == ledger.DeclineReason(reason).Sentence())
		}},
		"forced-posting": {http.StatusCreated, func() bool { return approved && st == ledger.StatusPosted && a["forced"] == true }},
		"capture":        {http.StatusOK, func() bool { return approved && st == ledger.StatusPosted && a["posted_minor"] != nil }},
		"void":           {http.StatusOK, func() bool { return approved && st == ledger.StatusVoided }},
	}[operation]
	if status != want.status || !want.ok() {
		t.Fatalf("%s %q: %d %s is not the answer of a %s", operation, body, status, answer, operation)
	}
}
