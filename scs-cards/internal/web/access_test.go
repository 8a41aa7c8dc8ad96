package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
)

// accountState is what another user's requests must leave alone: the
// account's figures, its cards with their histories, its statements.
type accountState struct {
	posted, held int64
	cards        []contracts.CardStatus
	changes      int
	paid         []int64
	transactions int
}

func (b *browser) state() accountState {
	b.site.t.Helper()
	o := b.overview()
	st := accountState{posted: o.Account.Posted, held: o.Account.Held, transactions: len(o.Transactions)}
	for _, c := range o.Cards {
		st.cards = append(st.cards, c.Status)
		changes, err := b.site.sys.Cards.CardChanges(context.Background(), b.id, c.ID)
		if err != nil {
			b.site.t.Fatal(err)
		}
		st.changes += len(changes)
	}
	for _, s := range o.Statements {
		st.paid = append(st.paid, s.Paid)
	}
	return st
}

func (a accountState) equal(b accountState) bool {
	return a.posted == b.posted && a.held == b.held && a.changes == b.changes && a.transactions == b.transactions &&
		slices.Equal(a.cards, b.cards) && slices.Equal(a.paid, b.paid)
}

// TestAnotherUsersCardsAndStatements: Eve, with an account of her own and
// without one, gets 404 for every route that names Ada's card or statement,
// exactly as for one that does not exist, and Ada's account is unchanged.
// Both databases.
func TestAnotherUsersCardsAndStatements(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			s.capture(s.authorise(card.ID, 1_000, "Kafé").ID, 0)
			s.closePeriod(1)
			statement := ada.overview().Statements[0].ID
			frozen, err := s.sys.Cards.IssueVirtualCard(context.Background(), ada.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.sys.Cards.ChangeCard(context.Background(), ada.id, frozen.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}
			before := ada.state()

			eve := s.user("Eve", contracts.RoleUser)
			eve.openAccount()
			mallory := s.user("Mallory", contracts.RoleUser) // no account at all
			for _, intruder := range []*browser{eve, mallory} {
				who := map[*browser]string{eve: "Eve", mallory: "Mallory, without an account"}[intruder]
				for _, tc := range []struct {
					name, method, path, other string
				}{
					{"card page", http.MethodGet, "/cards/cards/" + card.ID, "/cards/cards/" + newKey()},
					{"freeze", http.MethodPost, "/cards/cards/" + card.ID + "/freeze", "/cards/cards/" + newKey() + "/freeze"},
					{"unfreeze", http.MethodPost, "/cards/cards/" + frozen.ID + "/unfreeze", "/cards/cards/" + newKey() + "/unfreeze"},
					{"cancel", http.MethodPost, "/cards/cards/" + card.ID + "/cancel", "/cards/cards/" + newKey() + "/cancel"},
					{"pay", http.MethodPost, "/cards/statements/" + statement + "/pay", "/cards/statements/" + newKey() + "/pay"},
				} {
					var form url.Values
					if tc.method == http.MethodPost {
						form = url.Values{"reason": {"not mine"}}
					}
					status, _, page := intruder.do(tc.method, tc.path, form)
					otherStatus, _, _ := intruder.do(tc.method, tc.other, form)
					want := http.StatusNotFound
					if intruder == mallory && tc.name == "pay" {
						want = http.StatusConflict // "open an account first", for any statement
					}
					if status != want || otherStatus != status {
						t.Errorf("%s: %s: %d (%d for one that does not exist), want %d for both", who, tc.name, status, otherStatus, want)
					}
					if strings.Contains(page, "•••• "+card.Last4) || strings.Contains(page, "Ada") {
						t.Errorf("%s: %s: the answer shows Ada's card", who, tc.name)
					}
				}
			}
			if after := ada.state(); !after.equal(before) {
				t.Errorf("Ada's account changed: %+v, was %+v", after, before)
			}
			// Eve's own overview shows only her own card and no purchases.
			_, page := eve.get("/cards/")
			if strings.Contains(page, card.ID) || strings.Contains(page, frozen.ID) || count(page, "transaction") != 0 || count(page, "statement") != 0 {
				t.Error("Eve's overview shows Ada's cards, purchases or statements")
			}
		})
	}
}

// TestTerminalIsForAdmins: a user, and an admin demoted since the token was
// issued, get 403 on the terminal page and on every one of its forms, which
// change nothing.
func TestTerminalIsForAdmins(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	pending := s.authorise(card.ID, 500, "Kiosk")
	demoted := s.user("Former admin", contracts.RoleAdmin)
	if _, err := s.db.Exec(`UPDATE users_replica SET role = 'user' WHERE user_id = $1`, demoted.id); err != nil {
		t.Fatal(err)
	}
	before := ada.state()
	for _, who := range []*browser{ada, demoted} {
		for _, tc := range []struct {
			method, path string
			form         url.Values
		}{
			{http.MethodGet, "/cards/terminal", nil},
			{http.MethodPost, "/cards/terminal/authorisations", url.Values{"key": {newKey()}, "card_id": {card.ID}, "amount": {"1.00"}, "currency": {"SEK"}, "merchant": {"Mine"}}},
			{http.MethodPost, "/cards/terminal/authorisations/" + pending.ID + "/capture", url.Values{"key": {newKey()}}},
			{http.MethodPost, "/cards/terminal/authorisations/" + pending.ID + "/void", url.Values{"key": {newKey()}}},
		} {
			status, _, page := who.do(tc.method, tc.path, tc.form)
			if status != http.StatusForbidden || !strings.Contains(page, "For admins only") {
				t.Errorf("%s %s: %d, want the 403 page", tc.method, tc.path, status)
			}
		}
	}
	if after := ada.state(); !after.equal(before) || after.held != 500 {
		t.Errorf("the account changed: %+v, was %+v", after, before)
	}
}

// TestFormsFromAnotherSite: every form of the pages, sent from another site
// (as a browser marks it, or only by its Origin), is refused with 403 and
// changes nothing.
func TestFormsFromAnotherSite(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	s.capture(s.authorise(card.ID, 1_000, "Kafé").ID, 0)
	s.closePeriod(1)
	statement := ada.overview().Statements[0].ID
	newcomer := s.user("Newcomer", contracts.RoleUser)
	admin := s.user("Grace", contracts.RoleAdmin)
	pending := s.authorise(card.ID, 700, "Kiosk")
	before := ada.state()

	for _, tc := range []struct {
		who  *browser
		path string
		form url.Values
	}{
		{newcomer, "/cards/account", url.Values{"name": {"Evil Corp"}}},
		{ada, "/cards/cards", url.Values{}},
		{ada, "/cards/cards/" + card.ID + "/freeze", url.Values{}},
		{ada, "/cards/cards/" + card.ID + "/cancel", url.Values{"reason": {"forged"}}},
		{ada, "/cards/statements/" + statement + "/pay", url.Values{}},
		{admin, "/cards/terminal/authorisations", url.Values{"key": {newKey()}, "card_id": {card.ID}, "amount": {"10"}, "currency": {"SEK"}, "merchant": {"Forged"}}},
		{admin, "/cards/terminal/authorisations/" + pending.ID + "/capture", url.Values{"key": {newKey()}}},
	} {
		for _, headers := range []map[string]string{
			{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": "https://evil.example"},
		} {
			req, err := http.NewRequest(http.MethodPost, s.URL+tc.path, strings.NewReader(tc.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: tc.who.token})
			status, _, page := s.send(req)
			if status != http.StatusForbidden || !strings.Contains(page, "Sent from another site") {
				t.Errorf("%s with %v: %d, want the 403 page", tc.path, headers, status)
			}
		}
	}
	if after := ada.state(); !after.equal(before) {
		t.Errorf("Ada's account changed: %+v, was %+v", after, before)
	}
	if _, err := s.sys.Ledger.Account(context.Background(), newcomer.id); err != ledger.ErrNoAccount {
		t.Errorf("a forged form opened an account: %v", err)
	}
}

// TestRequestsThePagesRefuse: a form that is not text, a form over the
// limit, an address that is not text, an unknown address, the wrong method
// (with the Allow header a 405 must have) and no session.
func TestRequestsThePagesRefuse(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	errorPage := func(status int) string { return `data-testid="error-page" data-status="` + strconv.Itoa(status) + `"` }

	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"NUL in a value", "name=a%00b", http.StatusBadRequest},
		{"not UTF-8 in a value", "name=%ff%fe", http.StatusBadRequest},
		{"not UTF-8 in a name", "%ff=x", http.StatusBadRequest},
		{"bad escape", "name=%zz", http.StatusBadRequest},
		{"over the limit", "name=" + strings.Repeat("x", 16<<10), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/cards/cards/"+card.ID+"/cancel", strings.NewReader(strings.Replace(tc.body, "name=", "reason=", 1)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: ada.token})
			if status, _, page := s.send(req); status != tc.status || !strings.Contains(page, errorPage(tc.status)) {
				t.Errorf("%d, want the %d page", status, tc.status)
			}
		})
	}
	if c, _ := s.sys.Cards.Card(context.Background(), ada.id, card.ID); c.Status != contracts.CardActive {
		t.Errorf("a refused form changed the card to %s", c.Status)
	}
	if status, page := ada.get("/cards/?before=%ff"); status != http.StatusBadRequest || !strings.Contains(page, "Not a valid address") {
		t.Errorf("an address that is not text: %d", status)
	}
	for _, path := range []string{"/cards/nowhere", "/cards/cards/" + card.ID + "/explode", "/cards/statements", "/cards/cards/"} {
		if status, page := ada.get(path); status != http.StatusNotFound || !strings.Contains(page, errorPage(404)) || !strings.Contains(page, "There is no page at this address.") {
			t.Errorf("GET %s: %d, want the 404 page", path, status)
		}
	}
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/cards/account", "POST"},
		{http.MethodGet, "/cards/cards", "POST"},
		{http.MethodGet, "/cards/cards/" + card.ID + "/freeze", "POST"},
		{http.MethodGet, "/cards/statements/" + newKey() + "/pay", "POST"},
		{http.MethodGet, "/cards/terminal/authorisations", "POST"},
		{http.MethodPost, "/cards/", "GET"},
		{http.MethodPost, "/cards/terminal", "GET"},
		{http.MethodDelete, "/cards/cards/" + card.ID, "GET"},
	} {
		var form url.Values
		if tc.method != http.MethodGet {
			form = url.Values{}
		}
		status, h, page := ada.do(tc.method, tc.path, form)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != tc.allow || !strings.Contains(page, errorPage(405)) {
			t.Errorf("%s %s: %d, Allow %q; want the 405 page with Allow %s", tc.method, tc.path, status, h.Get("Allow"), tc.allow)
		}
	}
	anon := &browser{site: s}
	for _, path := range []string{"/cards/", "/cards/cards/" + card.ID, "/cards/terminal"} {
		status, h, _ := anon.do(http.MethodGet, path, nil)
		if status != http.StatusSeeOther || h.Get("Location") != authn.LoginURL(path) {
			t.Errorf("GET %s without a session: %d to %q, want the login page coming back here", path, status, h.Get("Location"))
		}
	}
	status, h, _ := anon.post("/cards/cards/"+card.ID+"/cancel", url.Values{"reason": {"x"}})
	if status != http.StatusSeeOther || h.Get("Location") != authn.LoginURL("/cards/") {
		t.Errorf("a form without a session: %d to %q, want the login page, then the overview", status, h.Get("Location"))
	}
	if c, _ := s.sys.Cards.Card(context.Background(), ada.id, card.ID); c.Status != contracts.CardActive {
		t.Errorf("a form without a session changed the card to %s", c.Status)
	}
}

// TestReplicaNotCaughtUp: a user whose sign-up the users replica has not
// seen yet gets a "one moment" page that retries the same page, and for a
// form asks to send it again; nothing is changed.
func TestReplicaNotCaughtUp(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	newcomer := &browser{site: s, id: newKey()}
	newcomer.token = s.tokenFor(newcomer.id, contracts.RoleUser)

	status, h, page := newcomer.do(http.MethodGet, "/cards/cards/x?y=1", nil)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "1" || !strings.Contains(page, "Cards is still getting to know your account.") {
		t.Fatalf("GET: %d (Retry-After %q), want the 503 one-moment page", status, h.Get("Retry-After"))
	}
	link := regexp.MustCompile(`href="([^"]+)" data-testid="retry"`).FindStringSubmatch(page)
	if count(page, "retry") != 1 || link == nil || !strings.HasPrefix(html.UnescapeString(link[1]), "/cards/cards/x?") || !strings.Contains(link[1], "lag=1") {
		t.Errorf("the retry link is %v, want this page again with the attempt counted", link)
	}
	status, _, page = newcomer.post("/cards/account", url.Values{"name": {"Too soon"}})
	if status != http.StatusServiceUnavailable || count(page, "retry") != 0 || !strings.Contains(page, "Send the form again in a moment.") {
		t.Errorf("POST: %d, want the 503 page asking to send the form again, without a link that would not", status)
	}
	if _, err := s.sys.Ledger.Account(context.Background(), newcomer.id); err != ledger.ErrNoAccount {
		t.Errorf("the form was carried out: %v", err)
	}
}
