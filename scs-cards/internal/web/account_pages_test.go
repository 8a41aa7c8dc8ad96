package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
)

// TestOverviewOfANewAccount: the open form with the default limit, its
// errors at the field with the value kept, then the overview of the new
// account with its figures and its one physical card drawn with the holder's
// name from the replica, on both databases.
func TestOverviewOfANewAccount(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada Lovelace", contracts.RoleUser)

			status, page := ada.get("/cards/")
			if status != http.StatusOK || count(page, "open-form") != 1 || text(page, "default-limit") != sek(cardstest.Limit) {
				t.Fatalf("no account: %d, default limit %q; want the open form with %s", status, text(page, "default-limit"), sek(cardstest.Limit))
			}
			for _, tc := range []struct{ name, typed, says string }{
				{"empty", "", "Enter a name for the account."},
				{"only spaces", "   ", "Enter a name for the account."},
				{"too long", strings.Repeat("Ö", ledger.MaxAccountName+1), "at most 80 characters; this has 81"},
				{"a right-to-left override", "Ada's \u202eBA senignE", "The name contains an invisible character that reverses text direction (U+202E); remove it."},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, _, page := ada.post("/cards/account", url.Values{"name": {tc.typed}})
					if status != http.StatusUnprocessableEntity || count(page, "open-form") != 1 {
						t.Fatalf("%d, want 422 and the form again", status)
					}
					checkFieldError(t, page, "name", tc.says, tc.typed)
				})
			}
			if _, err := ada.site.sys.Ledger.Account(context.Background(), ada.id); err != ledger.ErrNoAccount {
				t.Fatalf("after refused forms: %v, want still no account", err)
			}

			status, h, _ := ada.post("/cards/account", url.Values{"name": {"  Ada's Engines AB  "}})
			if status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=opened" {
				t.Fatalf("open: %d to %q, want 303 to /cards/?done=opened", status, h.Get("Location"))
			}
			status, page = ada.get("/cards/?done=opened")
			if status != http.StatusOK {
				t.Fatalf("overview: %d", status)
			}
			for id, want := range map[string]string{
				"done":      "Your card account is open, and your first card is on its way.",
				"limit":     sek(cardstest.Limit),
				"available": sek(cardstest.Limit),
				"spent":     sek(0),
				"held":      sek(0),
				"posted":    sek(0),
			} {
				if got := text(page, id); got != want {
					t.Errorf("%s: %q, want %q", id, got, want)
				}
			}
			if !strings.Contains(page, "<h1>Ada&#39;s Engines AB</h1>") {
				t.Error("the overview's heading is not the account's name, trimmed")
			}
			o := ada.overview()
			if len(o.Cards) != 1 || count(page, "card") != 1 || count(page, "card-art") != 1 {
				t.Fatalf("%d cards in the service, %d on the page, want one", len(o.Cards), count(page, "card"))
			}
			card := o.Cards[0]
			if card.Kind != contracts.CardPhysical || text(page, "card-status") != "active" {
				t.Errorf("the first card is %s and shown %q, want an active physical card", card.Kind, text(page, "card-status"))
			}
			art := page[strings.Index(page, "<svg"):strings.Index(page, "</svg>")]
			wantExpiry := s.clock.Now().AddDate(4, 0, 0).Format("01/06")
			for what, ok := range map[string]bool{
				"the holder's name from the replica": text(art, "art-holder") == "ADA LOVELACE",
				"the last 4 digits":                  text(art, "art-last4") == "•••• •••• •••• "+card.Last4,
				"the expiry":                         strings.Contains(art, ">"+wantExpiry+"</text>"),
				"the brand":                          strings.Contains(art, ">VISA</text>"),
				"a label for screen readers":         strings.Contains(art, `role="img"`) && strings.Contains(art, "<title id=\"art-"+card.ID+"\">Visa physical card •••• "+card.Last4),
			} {
				if !ok {
					t.Errorf("the card art lacks %s: %s", what, art)
				}
			}
			checkNoCardNumber(t, page)

			// The holder's name follows the replica: a rename in scs-users.
			if _, err := s.db.Exec(`UPDATE users_replica SET display_name = $2 WHERE user_id = $1`, ada.id, "Ada King"); err != nil {
				t.Fatal(err)
			}
			if _, page := ada.get("/cards/"); text(page, "art-holder") != "ADA KING" {
				t.Errorf("after a rename the card says %q, want ADA KING", text(page, "art-holder"))
			}

			// An additional virtual card.
			status, h, _ = ada.post("/cards/cards", nil)
			if status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=issued" {
				t.Fatalf("issue a virtual card: %d to %q", status, h.Get("Location"))
			}
			_, page = ada.get("/cards/?done=issued")
			o = ada.overview()
			if len(o.Cards) != 2 || o.Cards[1].Kind != contracts.CardVirtual || count(page, "card-art") != 2 ||
				!strings.Contains(page, "Visa virtual card •••• "+o.Cards[1].Last4) || text(page, "done") != "A new virtual card is ready to use." {
				t.Errorf("after issuing a virtual card: %d cards, page shows %d", len(o.Cards), count(page, "card-art"))
			}
			checkNoCardNumber(t, page)
		})
	}
}

// TestOverviewFigures: what a purchase does to limit, available, spent,
// pending and owed, and the ledger's rows with their statuses and reasons.
func TestOverviewFigures(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			s.capture(s.authorise(card.ID, 12_550, "Bistro").ID, 0)
			s.authorise(card.ID, 9_900, "Kiosk")
			if a := s.authorise(card.ID, cardstest.Limit, "Yacht"); a.Approved {
				t.Fatal("a purchase of the whole limit on top was approved")
			}
			_, page := ada.get("/cards/")
			for id, want := range map[string]string{
				"limit":     sek(cardstest.Limit),
				"available": sek(cardstest.Limit - 12_550 - 9_900),
				"spent":     sek(12_550),
				"held":      sek(9_900),
				"posted":    sek(12_550),
			} {
				if got := text(page, id); got != want {
					t.Errorf("%s: %q, want %q", id, got, want)
				}
			}
			if got, want := texts(page, "tx-status"), []string{"declined", "pending", "posted"}; !slices.Equal(got, want) {
				t.Errorf("transaction statuses %q, want %q (newest first)", got, want)
			}
			if got := texts(page, "decline-reason"); !slices.Equal(got, []string{"Not enough available credit."}) {
				t.Errorf("decline reasons %q", got)
			}
			if count(page, "over-limit") != 0 {
				t.Error("an account under its limit is shown over it")
			}
		})
	}
}

// TestCardStatusChanges: freeze, unfreeze and a cancellation that needs a
// reason and is final, each recorded on the card's page, on both databases.
func TestCardStatusChanges(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			path := "/cards/cards/" + card.ID
			cardStatus := func() contracts.CardStatus {
				c, err := s.sys.Cards.Card(context.Background(), ada.id, card.ID)
				if err != nil {
					t.Fatal(err)
				}
				return c.Status
			}

			status, h, _ := ada.post(path+"/freeze", nil)
			if status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=frozen" || cardStatus() != contracts.CardFrozen {
				t.Fatalf("freeze: %d to %q, card %s", status, h.Get("Location"), cardStatus())
			}
			_, page := ada.get("/cards/?done=frozen")
			if text(page, "card-status") != "frozen" || count(page, "unfreeze") != 1 || count(page, "freeze") != 0 || !strings.Contains(page, ">FROZEN</text>") {
				t.Error("the overview does not show the card frozen, drawn as frozen, with an unfreeze button only")
			}
			if a := s.authorise(card.ID, 100, "Kiosk"); a.Approved || a.DeclineReason != ledger.DeclineCardFrozen {
				t.Errorf("a purchase on a frozen card: %+v, want declined card_frozen", a)
			}
			if _, page := ada.get("/cards/"); !slices.Contains(texts(page, "decline-reason"), "The card is frozen.") {
				t.Errorf("decline reasons on the overview %q, want the frozen card's", texts(page, "decline-reason"))
			}
			status, h, _ = ada.post(path+"/unfreeze", nil)
			if status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=unfrozen" || cardStatus() != contracts.CardActive {
				t.Fatalf("unfreeze: %d to %q, card %s", status, h.Get("Location"), cardStatus())
			}
			if _, page := ada.get("/cards/"); text(page, "card-status") != "active" || count(page, "freeze") != 1 {
				t.Error("the overview does not show the card active again with a freeze button")
			}

			for _, tc := range []struct{ name, typed, says string }{
				{"no reason", "", "Enter why you cancel the card."},
				{"only spaces", "  \t ", "Enter why you cancel the card."},
				{"too long", strings.Repeat("r", cards.MaxReason+1), "at most 200 characters"},
				{"a right-to-left isolate", "Lost \u2067it", "The reason contains an invisible character that reverses text direction (U+2067); remove it."},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, _, page := ada.post(path+"/cancel", url.Values{"reason": {tc.typed}})
					if status != http.StatusUnprocessableEntity || text(page, "card-ref") != card.ID {
						t.Fatalf("%d, want 422 on the card's page", status)
					}
					checkFieldError(t, page, "reason", tc.says, tc.typed)
					if cardStatus() != contracts.CardActive {
						t.Errorf("a refused cancellation changed the card to %s", cardStatus())
					}
				})
			}

			status, h, _ = ada.post(path+"/cancel", url.Values{"reason": {"Lost it on the train"}})
			if status != http.StatusSeeOther || h.Get("Location") != path+"?done=cancelled" || cardStatus() != contracts.CardCancelled {
				t.Fatalf("cancel: %d to %q, card %s", status, h.Get("Location"), cardStatus())
			}
			status, page = ada.get(path + "?done=cancelled")
			if status != http.StatusOK || text(page, "done") != "The card is cancelled for good." || text(page, "card-status") != "cancelled" || count(page, "cancel") != 0 {
				t.Errorf("the cancelled card's page: %d, status %q, done %q; want no cancel form", status, text(page, "card-status"), text(page, "done"))
			}
			history := texts(page, "card-change")
			if len(history) != 3 || !strings.HasPrefix(history[0], "active → cancelled by holder") || !strings.Contains(page, ": Lost it on the train") ||
				!strings.HasPrefix(history[1], "frozen → active by holder") || !strings.HasPrefix(history[2], "active → frozen by holder") {
				t.Errorf("the card's history %q, want the three changes newest first with the reason", history)
			}
			for _, change := range []string{"unfreeze", "freeze"} {
				status, _, page := ada.post(path+"/"+change, nil)
				if status != http.StatusConflict || !strings.Contains(page, "a cancelled card stays cancelled") || cardStatus() != contracts.CardCancelled {
					t.Errorf("%s a cancelled card: %d, card %s; want 409 and still cancelled", change, status, cardStatus())
				}
			}
			_, page = ada.get("/cards/")
			if text(page, "card-status") != "cancelled" || count(page, "freeze") != 0 || count(page, "unfreeze") != 0 {
				t.Error("the overview offers to freeze or unfreeze a cancelled card")
			}
			if a := s.authorise(card.ID, 100, "Kiosk"); a.Approved || a.DeclineReason != ledger.DeclineCardCancelled {
				t.Errorf("a purchase on a cancelled card: %+v, want declined card_cancelled", a)
			}
		})
	}
}

// TestCardFrozenByThePlatform: a card frozen because its holder was banned
// cannot be unfrozen by the holder, and the page says who froze it.
func TestCardFrozenByThePlatform(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	if _, err := s.db.Exec(`UPDATE cards SET status = 'frozen', frozen_by = 'ban' WHERE id = $1`, card.ID); err != nil {
		t.Fatal(err)
	}
	_, page := ada.get("/cards/")
	if text(page, "card-status") != "frozen by the platform" || count(page, "unfreeze") != 0 {
		t.Errorf("the overview shows %q with %d unfreeze buttons, want frozen by the platform and none", text(page, "card-status"), count(page, "unfreeze"))
	}
	status, _, page := ada.post("/cards/cards/"+card.ID+"/unfreeze", nil)
	if status != http.StatusConflict || !strings.Contains(page, "frozen by the platform") {
		t.Errorf("unfreeze: %d, want 409 saying the platform froze it", status)
	}
	if c, _ := s.sys.Cards.Card(context.Background(), ada.id, card.ID); c.Status != contracts.CardFrozen {
		t.Errorf("the card is %s after the refused unfreeze", c.Status)
	}
}

// TestTransactionsPagedByKeyset follows "Older transactions" through 45
// purchases: 20, 20 and 5, newest first, none twice, none missing, on both
// databases.
func TestTransactionsPagedByKeyset(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			var want []string
			for i := range 45 {
				want = append(want, s.authorise(card.ID, int64(100+i), "Shop").ID)
			}
			slices.Reverse(want) // newest first
			older := regexp.MustCompile(`href="(/cards/\?before=[0-9]+)" data-testid="older"`)
			id := regexp.MustCompile(`data-testid="transaction" data-status="[a-z]+" data-id="([^"]+)"`)
			var got []string
			var sizes []int
			next := "/cards/"
			for next != "" && len(sizes) < 10 {
				status, page := ada.get(next)
				if status != http.StatusOK {
					t.Fatalf("%s: %d", next, status)
				}
				if newest := strings.Contains(page, `<a href="/cards/">Newest transactions</a>`); newest != (next != "/cards/") {
					t.Errorf("%s: a link to the newest transactions: %v", next, newest)
				}
				n := 0
				for _, m := range id.FindAllStringSubmatch(page, -1) {
					got = append(got, m[1])
					n++
				}
				sizes = append(sizes, n)
				next = ""
				if m := older.FindStringSubmatch(page); m != nil {
					next = m[1]
				}
			}
			if !slices.Equal(sizes, []int{ledger.DefaultPageSize, ledger.DefaultPageSize, 5}) {
				t.Errorf("pages of %v transactions, want 20, 20, 5", sizes)
			}
			if !slices.Equal(got, want) {
				t.Errorf("the pages hold %d transactions in another order or with repeats or gaps:\n got %v\nwant %v", len(got), got, want)
			}
		})
	}
}

// TestTransactionsCursorRefused: a ?before= that no page links to is a bad
// address, not a database error.
func TestTransactionsCursorRefused(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	ada.openAccount()
	for _, bad := range []string{"abc", "0", "-1", "99999999999999999999", "1.5", "1e3", " 7", "0x10", "%00"} {
		status, page := ada.get("/cards/?before=" + url.QueryEscape(bad))
		if status != http.StatusBadRequest || !strings.Contains(page, `data-testid="error-page" data-status="400"`) {
			t.Errorf("?before=%q: %d, want the 400 page", bad, status)
		}
	}
	// The largest cursor is the newest page.
	if status, page := ada.get("/cards/?before=9223372036854775807"); status != http.StatusOK || count(page, "summary") != 1 {
		t.Errorf("?before=MaxInt64: %d, want the overview", status)
	}
}

// TestStatementPaidOnItsPage: a statement closed by the job shows its amount
// and due date, turns overdue after it, and paying it restores the credit
// once; paying again is refused with a page that says why. Both databases.
func TestStatementPaidOnItsPage(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.Open(t))
			ada := s.user("Ada", contracts.RoleUser)
			card := ada.openAccount()
			if _, page := ada.get("/cards/"); count(page, "statement") != 0 || !strings.Contains(page, "No statements yet.") {
				t.Error("a new account shows a statement")
			}
			s.capture(s.authorise(card.ID, 25_000, "Hotel").ID, 0)
			s.closePeriod(1)
			o := ada.overview()
			if len(o.Statements) != 1 || o.Statements[0].Due != 25_000 {
				t.Fatalf("statements %+v, want one of 25000 due", o.Statements)
			}
			st := o.Statements[0]
			_, page := ada.get("/cards/")
			if text(page, "amount-due") != sek(25_000) || text(page, "statement-status") != "due" || !strings.Contains(page, "due "+st.DueDate) ||
				text(page, "available") != sek(cardstest.Limit-25_000) || text(page, "spent") != sek(0) {
				t.Errorf("the statement shows %q %q (due %s), available %q, spent %q", text(page, "amount-due"), text(page, "statement-status"), st.DueDate, text(page, "available"), text(page, "spent"))
			}
			if text(page, "pay") != "Pay "+sek(25_000) {
				t.Errorf("pay button %q", text(page, "pay"))
			}
			// Past its due date (25 days after the period) it is overdue.
			s.clock.Advance(26 * 24 * time.Hour)
			if _, page := ada.get("/cards/"); text(page, "statement-status") != "overdue" {
				t.Errorf("after the due date the statement is %q, want overdue", text(page, "statement-status"))
			}

			status, h, _ := ada.post("/cards/statements/"+st.ID+"/pay", nil)
			if status != http.StatusSeeOther || h.Get("Location") != "/cards/?done=paid" {
				t.Fatalf("pay: %d to %q", status, h.Get("Location"))
			}
			_, page = ada.get("/cards/?done=paid")
			if text(page, "available") != sek(cardstest.Limit) || text(page, "statement-status") != "paid" || count(page, "pay") != 0 ||
				text(page, "done") != "Thank you: the payment is made, and your available credit is back." || text(page, "tx-status") != "payment" {
				t.Errorf("after paying: available %q, statement %q, %d pay buttons, newest row %q", text(page, "available"), text(page, "statement-status"), count(page, "pay"), text(page, "tx-status"))
			}
			status, _, page = ada.post("/cards/statements/"+st.ID+"/pay", nil)
			if status != http.StatusConflict || !strings.Contains(page, `data-testid="error-page" data-status="409"`) || !strings.Contains(page, "Nothing is due on this statement any more.") {
				t.Errorf("paying again: %d, want the 409 page saying nothing is due", status)
			}
			if a := ada.overview().Account; a.Posted != 0 || a.Available() != cardstest.Limit {
				t.Errorf("after paying twice: owed %d, available %d; want one payment", a.Posted, a.Available())
			}
		})
	}
}

// TestWhatUsersTypeIsEscaped: an account's name, a holder's name from the
// replica and a merchant's name from a terminal reach the pages as text,
// never as markup.
func TestWhatUsersTypeIsEscaped(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user(`<b onclick="x()">Ada</b>`, contracts.RoleUser)
	if status, _, _ := ada.post("/cards/account", url.Values{"name": {`<script>alert("name")</script>`}}); status != http.StatusSeeOther {
		t.Fatalf("open: %d", status)
	}
	card := ada.overview().Cards[0]
	s.authorise(card.ID, 100, `<img src=x onerror="alert('merchant')">`)
	admin := s.user("Grace", contracts.RoleAdmin)
	_, overview := ada.get("/cards/")
	_, cardPage := ada.get("/cards/cards/" + card.ID)
	_, terminal := admin.get("/cards/terminal")
	_, _, fragment := ada.do(http.MethodGet, summaryPath, nil)
	for name, page := range map[string]string{"overview": overview, "card page": cardPage, "terminal": terminal, "fragment": fragment} {
		for _, markup := range []string{"<script>alert", "<img src=x", "<b onclick"} {
			if strings.Contains(page, markup) {
				t.Errorf("the %s holds %s as markup", name, markup)
			}
		}
	}
	if !strings.Contains(overview, "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;") || text(overview, "art-holder") != `<B ONCLICK="X()">ADA</B>` ||
		!strings.Contains(terminal, "&lt;img src=x onerror=&#34;alert(&#39;merchant&#39;)&#34;&gt;") {
		t.Errorf("the names are not shown as the text they are (the card says %q)", text(overview, "art-holder"))
	}
}

// TestClosedAccountPage: the account of a user deleted in scs-users is
// closed; its overview says so, keeps its records and offers no new card.
func TestClosedAccountPage(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	s.authorise(card.ID, 100, "Kiosk")
	if _, err := s.db.Exec(`UPDATE accounts SET status = 'closed' WHERE user_id = $1`, ada.id); err != nil {
		t.Fatal(err)
	}
	_, page := ada.get("/cards/")
	if count(page, "closed") != 1 || count(page, "issue-virtual") != 0 || count(page, "transaction") != 1 {
		t.Errorf("a closed account's overview: %d closed notes, %d issue buttons, %d transactions", count(page, "closed"), count(page, "issue-virtual"), count(page, "transaction"))
	}
	status, _, page := ada.post("/cards/cards", nil)
	if status != http.StatusConflict || !strings.Contains(page, "This card account is closed") {
		t.Errorf("a new card on a closed account: %d, want 409", status)
	}
	if n := len(ada.overview().Cards); n != 1 {
		t.Errorf("%d cards after the refusal", n)
	}
}
