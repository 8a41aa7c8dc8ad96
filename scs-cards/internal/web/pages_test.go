package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

var cardNumber = regexp.MustCompile(`[0-9]{13,19}`)

func TestOpenAccountPage(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada Lovelace", contracts.RoleUser)
	status, page := ada.get("/cards/")
	if status != http.StatusOK || !strings.Contains(page, `data-testid="open-form"`) || !strings.Contains(page, "SEK 50,000.00") {
		t.Fatalf("a user without an account: %d, want the form with the default limit", status)
	}
	for _, name := range []string{"", strings.Repeat("n", 81)} {
		status, _, page := ada.post("/cards/account", url.Values{"name": {name}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="error-name"`) || !strings.Contains(page, `value="`+name+`"`) {
			t.Errorf("name %q: %d, want 422 with the error at the field and the value kept", name, status)
		}
	}
	ada.openAccount()
	status, page = ada.get("/cards/?done=opened")
	for _, want := range []string{"Ada&#39;s Engines AB", `data-testid="limit">SEK 50,000.00`, `data-testid="available">SEK 50,000.00`,
		`data-testid="card-art"`, "ADA LOVELACE", "Your card account is open"} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview (%d) lacks %s", status, want)
		}
	}
	if n := cardNumber.FindString(page); n != "" {
		t.Errorf("the overview holds something like a card number: %s", n)
	}
	if status, _, _ := ada.post("/cards/account", url.Values{"name": {"Again"}}); status != http.StatusConflict {
		t.Errorf("a second account: %d, want 409", status)
	}
	if status, h, _ := ada.post("/cards/cards", nil); status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=issued" {
		t.Errorf("issue a virtual card: %d", status)
	}
	if _, page := ada.get("/cards/"); strings.Count(page, `data-testid="card-art"`) != 2 || !strings.Contains(page, "VIRTUAL") {
		t.Error("the overview does not show the virtual card")
	}
}

func TestCardPages(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	path := "/cards/cards/" + card.ID
	if status, h, _ := ada.post(path+"/freeze", nil); status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=frozen" {
		t.Fatalf("freeze: %d", status)
	}
	if _, page := ada.get("/cards/"); !strings.Contains(page, `data-status="frozen"`) || !strings.Contains(page, `data-testid="unfreeze"`) {
		t.Error("the overview does not show the card frozen with an unfreeze button")
	}
	if status, _, _ := ada.post(path+"/unfreeze", nil); status != http.StatusSeeOther {
		t.Errorf("unfreeze: %d", status)
	}
	status, _, page := ada.post(path+"/cancel", url.Values{"reason": {""}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="error-reason"`) {
		t.Errorf("cancel without a reason: %d, want 422 with the error at the field", status)
	}
	if status, h, _ := ada.post(path+"/cancel", url.Values{"reason": {"Lost it"}}); status != http.StatusSeeOther || h.Get("Location") != path+"?done=cancelled" {
		t.Errorf("cancel: %d to %q", status, h.Get("Location"))
	}
	if status, _, page := ada.post(path+"/unfreeze", nil); status != http.StatusConflict || !strings.Contains(page, "stays cancelled") {
		t.Errorf("unfreeze a cancelled card: %d", status)
	}
	if _, page := ada.get(path); !strings.Contains(page, "Lost it") || !strings.Contains(page, "CANCELLED") {
		t.Error("the card's page lacks the cancellation and its reason")
	}
}

func TestTransactionsPaging(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	for i := range 45 {
		if status, _, body := s.api("/cards/api/v1/authorisations", newKey(), purchase(card.ID, int64(100+i))); status != http.StatusCreated {
			t.Fatalf("%d %s", status, body)
		}
	}
	id := regexp.MustCompile(`data-testid="transaction" data-status="[a-z]+" data-id="([^"]+)"`)
	older := regexp.MustCompile(`href="(/cards/\?before=[0-9]+)" data-testid="older"`)
	seen := map[string]bool{}
	var order []string
	next := "/cards/"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("the pages never end")
		}
		status, page := ada.get(next)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", next, status)
		}
		for _, m := range id.FindAllStringSubmatch(page, -1) {
			if seen[m[1]] {
				t.Errorf("%s appears twice", m[1])
			}
			seen[m[1]] = true
			order = append(order, m[1])
		}
		next = ""
		if m := older.FindStringSubmatch(page); m != nil {
			next = m[1]
		}
	}
	if len(order) != 45 {
		t.Errorf("%d transactions over the pages, want 45", len(order))
	}
	for i := 1; i < len(order); i++ {
		if order[i] > order[i-1] { // UUIDv7s grow with time: newest first means falling
			t.Errorf("not newest first at %d", i)
		}
	}
	for _, bad := range []string{"abc", "0", "-1", "99999999999999999999", "1.5"} {
		if status, _ := ada.get("/cards/?before=" + url.QueryEscape(bad)); status != http.StatusBadRequest {
			t.Errorf("?before=%s: %d, want 400", bad, status)
		}
	}
}

func TestStatementPayment(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			_, _, body := s.api("/cards/api/v1/authorisations", newKey(), purchase(card.ID, 25_000))
			id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]
			if status, _, body := s.api("/cards/api/v1/authorisations/"+id+"/capture", newKey(), ``); status != http.StatusOK {
				t.Fatalf("capture: %d %s", status, body)
			}
			s.clock.Advance(time.Minute)
			if n, err := s.sys.Ledger.CloseStatements(context.Background()); err != nil || n != 1 {
				t.Fatalf("CloseStatements: %d %v", n, err)
			}
			_, page := ada.get("/cards/")
			if !strings.Contains(page, `data-testid="amount-due">SEK 250.00`) || !strings.Contains(page, `data-testid="available">SEK 49,750.00`) {
				t.Fatal("the overview lacks the statement's amount due or the reduced available credit")
			}
			st := regexp.MustCompile(`action="/cards/statements/([^/]+)/pay"`).FindStringSubmatch(page)
			if st == nil {
				t.Fatal("no pay button")
			}
			if status, h, _ := ada.post("/cards/statements/"+st[1]+"/pay", nil); status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=paid" {
				t.Fatalf("pay: %d", status)
			}
			if _, page := ada.get("/cards/"); !strings.Contains(page, `data-testid="available">SEK 50,000.00`) || !strings.Contains(page, `data-status="paid"`) {
				t.Error("after paying, the available credit is not restored or the statement is not paid")
			}
			if status, _, _ := ada.post("/cards/statements/"+st[1]+"/pay", nil); status != http.StatusConflict {
				t.Errorf("paying twice: %d, want 409", status)
			}
		})
	}
}

// TestAccessControl: every route that names a card or a statement answers
// 404 to another user, and changes nothing.
func TestAccessControl(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada, eve := s.user("Ada", contracts.RoleUser), s.user("Eve", contracts.RoleUser)
	card := ada.openAccount()
	eve.openAccount()
	_, _, body := s.api("/cards/api/v1/authorisations", newKey(), purchase(card.ID, 1_000))
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]
	s.api("/cards/api/v1/authorisations/"+id+"/capture", newKey(), ``)
	s.clock.Advance(time.Minute)
	if _, err := s.sys.Ledger.CloseStatements(context.Background()); err != nil {
		t.Fatal(err)
	}
	o, err := s.sys.Cards.Overview(context.Background(), ada.id, 0, 1)
	if err != nil || len(o.Statements) != 1 {
		t.Fatal(o.Statements, err)
	}
	statement := o.Statements[0].ID

	if status, _ := eve.get("/cards/cards/" + card.ID); status != http.StatusNotFound {
		t.Errorf("Eve opens Ada's card: %d", status)
	}
	for _, path := range []string{"/cards/cards/" + card.ID + "/freeze", "/cards/cards/" + card.ID + "/unfreeze",
		"/cards/cards/" + card.ID + "/cancel", "/cards/statements/" + statement + "/pay"} {
		if status, _, _ := eve.post(path, url.Values{"reason": {"mine"}}); status != http.StatusNotFound {
			t.Errorf("Eve posts %s: %d, want 404", path, status)
		}
	}
	if _, page := eve.get("/cards/"); strings.Contains(page, card.Last4+"</text>") && strings.Contains(page, "Kafé") {
		t.Error("Eve's overview shows Ada's purchase")
	}
	o, err = s.sys.Cards.Overview(context.Background(), ada.id, 0, 1)
	if err != nil || o.Cards[0].Status != contracts.CardActive || o.Statements[0].Paid != 0 {
		t.Errorf("Ada's card or statement changed: %+v %+v %v", o.Cards[0], o.Statements[0], err)
	}
	// The terminal page and its forms are for admins only.
	for _, try := range []func() int{
		func() int { status, _ := ada.get("/cards/terminal"); return status },
		func() int {
			status, _, _ := ada.post("/cards/terminal/authorisations", url.Values{"key": {newKey()}, "card_id": {card.ID}, "amount": {"1"}, "currency": {"SEK"}, "merchant": {"M"}})
			return status
		},
		func() int {
			status, _, _ := ada.post("/cards/terminal/authorisations/"+id+"/void", url.Values{"key": {newKey()}})
			return status
		},
	} {
		if status := try(); status != http.StatusForbidden {
			t.Errorf("a user on the terminal: %d, want 403", status)
		}
	}
}

func TestRefusedRequests(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	ada.openAccount()
	// Cross-site forms are refused.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/cards/cards", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: "session", Value: ada.token})
	if status, _, _ := s.send(req); status != http.StatusForbidden {
		t.Errorf("a cross-site form: %d, want 403", status)
	}
	if status, _, _ := ada.post("/cards/account", url.Values{"name": {strings.Repeat("x", 20<<10)}}); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over the limit: %d, want 413", status)
	}
	if status, _, _ := ada.post("/cards/account", url.Values{"name": {"a\x00b"}}); status != http.StatusBadRequest {
		t.Errorf("a form that is not text: %d, want 400", status)
	}
	if status, _ := ada.get("/cards/nowhere"); status != http.StatusNotFound {
		t.Errorf("an unknown page: %d", status)
	}
	if status, _ := ada.get("/cards/account"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET of a form's address: %d", status)
	}
	anon := &browser{site: s}
	if status, h, _ := anon.do(http.MethodGet, "/cards/", nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/users/login?next=") {
		t.Errorf("no session: %d to %q, want the login page", status, h.Get("Location"))
	}
}

func TestTerminalPage(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	admin := s.user("Grace", contracts.RoleAdmin)
	status, page := admin.get("/cards/terminal")
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if status != http.StatusOK || key == nil {
		t.Fatalf("the terminal page: %d, no key in its form", status)
	}
	bad := url.Values{"key": {key[1]}, "card_id": {"nope"}, "amount": {"12.345"}, "currency": {"SEK"}, "merchant": {""}}
	status, _, page = admin.post("/cards/terminal/authorisations", bad)
	for _, field := range []string{"card_id", "amount", "merchant"} {
		if !strings.Contains(page, `data-testid="error-`+field+`"`) {
			t.Errorf("no error at %s (%d)", field, status)
		}
	}
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, `value="12.345"`) {
		t.Errorf("bad form: %d, want 422 with the values kept", status)
	}
	form := url.Values{"key": {key[1]}, "card_id": {card.ID}, "amount": {"125.50"}, "currency": {"SEK"}, "merchant": {"Bistro"}}
	for range 2 { // sent twice: one effect
		if status, h, _ := admin.post("/cards/terminal/authorisations", form); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "outcome=approved") {
			t.Fatalf("authorise: %d to %q", status, h.Get("Location"))
		}
	}
	o, err := s.sys.Cards.Overview(context.Background(), ada.id, 0, 10)
	if err != nil || len(o.Transactions) != 1 || o.Account.Held != 12_550 {
		t.Fatalf("after the form sent twice: %d transactions, held %d (%v), want one of 12550", len(o.Transactions), o.Account.Held, err)
	}
	_, page = admin.get("/cards/terminal")
	capture := regexp.MustCompile(`action="(/cards/terminal/authorisations/[^/]+/capture)"><input type="hidden" name="key" value="([^"]+)"`).FindStringSubmatch(page)
	if capture == nil {
		t.Fatal("no capture button")
	}
	if status, h, _ := admin.post(capture[1], url.Values{"key": {capture[2]}}); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "outcome=captured") {
		t.Errorf("capture: %d to %q", status, h.Get("Location"))
	}
	if o, _ := s.sys.Cards.Overview(context.Background(), ada.id, 0, 10); o.Account.Posted != 12_550 || o.Account.Held != 0 {
		t.Errorf("after the capture: posted %d, held %d", o.Account.Posted, o.Account.Held)
	}
}

func TestSummaryFragment(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	anon := &browser{site: s}
	if status, h, _ := anon.do(http.MethodGet, "/cards/fragments/summary/v1", nil); status != http.StatusUnauthorized || h.Get("Location") != "" {
		t.Errorf("no session: %d (to %q), want 401 without a redirect", status, h.Get("Location"))
	}
	ada := s.user("Ada", contracts.RoleUser)
	status, h, page := ada.do(http.MethodGet, "/cards/fragments/summary/v1", nil)
	if status != http.StatusOK || !strings.Contains(page, `data-testid="cards-open"`) {
		t.Errorf("no account: %d, want the link that opens one", status)
	}
	ada.openAccount()
	status, h, page = ada.do(http.MethodGet, "/cards/fragments/summary/v1", nil)
	if status != http.StatusOK || !strings.Contains(page, `data-testid="cards-available">SEK 50,000.00`) || !strings.Contains(page, "1 active card") {
		t.Errorf("with an account: %d %s", status, page)
	}
	if strings.Contains(page, "<html") || strings.Contains(page, "<nav") {
		t.Error("the fragment has a layout")
	}
	if h.Get("Cache-Control") != "private, no-cache" || h.Get("Vary") != "Cookie" || h.Get("ETag") == "" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("headers %v", h)
	}
	// Asked again with its ETag: 304 while nothing changed, the new summary once
	// something did.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/cards/fragments/summary/v1", nil)
	req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: ada.token})
	req.Header.Set("If-None-Match", h.Get("ETag"))
	if status, _, body := s.send(req); status != http.StatusNotModified || body != "" {
		t.Errorf("revalidated unchanged: %d %q, want 304", status, body)
	}
	if _, err := s.sys.Cards.IssueVirtualCard(context.Background(), ada.id); err != nil {
		t.Fatal(err)
	}
	if status, _, body := s.send(req.Clone(context.Background())); status != http.StatusOK || !strings.Contains(body, "2 active cards") {
		t.Errorf("revalidated after a change: %d %s, want 200 with the new summary", status, body)
	}
}
