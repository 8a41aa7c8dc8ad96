package web_test

import (
	"context"
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// The helpers of these tests read pages the way the views are meant to be
// read, by their data-testid attributes, and drive the card service the way
// the terminal and the jobs do.

// texts returns the text of every element marked data-testid=id, unescaped.
func texts(page, id string) []string {
	re := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`)
	var list []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		list = append(list, strings.TrimSpace(html.UnescapeString(m[1])))
	}
	return list
}

// text returns the text of the first element marked data-testid=id, "" if
// there is none.
func text(page, id string) string {
	if list := texts(page, id); len(list) > 0 {
		return list[0]
	}
	return ""
}

// count is how many elements are marked data-testid=id.
func count(page, id string) int { return strings.Count(page, `data-testid="`+id+`"`) }

// fieldOf returns the markup of the form field named name: its label, hint,
// error and input, as the layout's field component draws them.
func fieldOf(t testing.TB, page, name string) string {
	t.Helper()
	input := strings.Index(page, `name="`+name+`"`)
	if input < 0 {
		t.Fatalf("no field %s on the page", name)
	}
	start := strings.LastIndex(page[:input], `<div class="field`)
	end := strings.Index(page[input:], `</div>`)
	if start < 0 || end < 0 {
		t.Fatalf("field %s is not drawn by the field component", name)
	}
	return page[start : input+end]
}

// checkFieldError checks that the field named name shows an error that says
// says, tied to the input for screen readers, and keeps the value typed.
func checkFieldError(t testing.TB, page, name, says, typed string) {
	t.Helper()
	f := fieldOf(t, page, name)
	if got := text(f, "error-"+name); !strings.Contains(got, says) {
		t.Errorf("field %s: error %q, want one saying %q", name, got, says)
	}
	if !strings.Contains(f, `aria-invalid="true"`) || !strings.Contains(f, `aria-describedby="`) || !strings.Contains(f, `f-`+name+`-error`) {
		t.Errorf("field %s: the error is not tied to the input: %s", name, f)
	}
	if !strings.Contains(f, `value="`+html.EscapeString(typed)+`"`) {
		t.Errorf("field %s: the value typed, %q, is lost: %s", name, typed, f)
	}
}

// uuidPattern matches the ids in a page, which are not card numbers.
var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// panLike matches 13 to 19 digits in a row, also grouped by spaces or
// dashes, as a card number is written.
var panLike = regexp.MustCompile(`[0-9](?:[ \-\x{a0}]?[0-9]){12,18}`)

// checkNoCardNumber fails t when page holds something written like a card
// number.
func checkNoCardNumber(t testing.TB, page string) {
	t.Helper()
	if n := panLike.FindString(uuidPattern.ReplaceAllString(page, "")); n != "" {
		t.Errorf("the page holds something like a card number: %q", n)
	}
}

// sek is minor units of SEK as the views write them.
func sek(minor int64) string { return money.Amount{Minor: minor, Currency: "SEK"}.Format() }

// authorise authorises a purchase through the service, as a terminal does,
// and returns its answer.
func (s *site) authorise(card string, minor int64, merchant string) terminal.Authorisation {
	s.t.Helper()
	reply, err := s.sys.Terminal.Authorise(context.Background(), "test-terminal", newKey(),
		terminal.AuthoriseRequest{CardID: card, Amount: money.Amount{Minor: minor, Currency: "SEK"}, Merchant: merchant})
	if err != nil || reply.Outcome != terminal.Recorded {
		s.t.Fatalf("authorise: %v %d %s", err, reply.Outcome, reply.Body)
	}
	var a terminal.Authorisation
	if err := json.Unmarshal(reply.Body, &a); err != nil {
		s.t.Fatal(err)
	}
	return a
}

// capture posts minor units (0: all) of the authorisation id.
func (s *site) capture(id string, minor int64) {
	s.t.Helper()
	reply, err := s.sys.Terminal.Capture(context.Background(), "test-terminal", newKey(), terminal.CaptureRequest{AuthorisationID: id, Amount: minor})
	if err != nil || reply.Outcome != terminal.Settled {
		s.t.Fatalf("capture: %v %d %s", err, reply.Outcome, reply.Body)
	}
}

// closePeriod moves the clock past the statement period (a minute, see
// cardstest) and runs the job that issues statements; it wants n issued.
func (s *site) closePeriod(n int) {
	s.t.Helper()
	s.clock.Advance(time.Minute)
	if got, err := s.sys.Ledger.CloseStatements(context.Background()); err != nil || got != n {
		s.t.Fatalf("CloseStatements: %d issued, %v; want %d", got, err, n)
	}
}

// overview is b's overview as the service has it, the first page.
func (b *browser) overview() cards.Overview {
	b.site.t.Helper()
	o, err := b.site.sys.Cards.Overview(context.Background(), b.id, 0, ledger.MaxPageSize)
	if err != nil {
		b.site.t.Fatal(err)
	}
	return o
}

// tokenFor signs a session token for userID as scs-users would, whether or
// not the replica knows the user.
func (s *site) tokenFor(userID string, role contracts.Role) string {
	s.t.Helper()
	now := time.Now()
	tok, err := authn.Sign(s.key, authn.Claims{KeyID: "k1", UserID: userID, SessionID: newKey(), Role: role,
		Audience: s.URL, IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}
