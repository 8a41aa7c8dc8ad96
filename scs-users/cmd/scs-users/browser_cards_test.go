package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scs-platform/shared-events/testkit/browsertest"
)

// summaryFragment is what scs-cards' summary fragment looks like: a stylesheet
// of cards' own, a section, and links under /cards/. Its script must not run.
const summaryFragment = `<link rel="stylesheet" href="/cards/static/fragment.css">
<section class="cards-summary" aria-label="Card account" data-testid="cards-fragment">
	<p>Available SEK 50,000.00</p>
	<p><a href="/cards/">Cards and transactions</a></p>
</section>
<script src="/cards/static/probe.js"></script>
`

// TestBrowserCardSummary: the account page transcludes scs-cards' summary
// fragment from the same origin, and keeps its plain link, which still works,
// whenever the fragment does not come as HTML with a 200 in time. The real
// program stands behind a front door of the test's own, where a stand-in
// answers for scs-cards.
func TestBrowserCardSummary(t *testing.T) {
	front := startFrontDoor(t)
	browser := browsertest.New(t)

	for i, tc := range []struct {
		name     string
		answer   http.HandlerFunc // the stand-in's answer to the fragment
		included bool
	}{
		{name: "the fragment", included: true, answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "private, max-age=30")
			fmt.Fprint(w, summaryFragment)
		}},
		{name: "cards unavailable", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<p data-testid="cards-fragment">Cards cannot answer right now.</p>`)
		}},
		{name: "no session for cards", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `<p data-testid="cards-fragment">Log in.</p>`)
		}},
		{name: "the front door's bad gateway", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `<h1 data-testid="cards-fragment">502 Bad Gateway</h1>`)
		}},
		{name: "not HTML", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprint(w, summaryFragment)
		}},
		// A redirect to a login page, which is HTML with a 200 in the end.
		{name: "a redirect", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/users/login?next=/cards/", http.StatusSeeOther)
		}},
		// Longer than the script's timeout: it answers only when the browser
		// gives up (or the test ends).
		{name: "too slow", answer: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-front.stop:
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cards := front.cards(tc.answer)
			user := browser.User(tc.name)
			// Signing up lands on the account page.
			user.Open(front.URL + "/users/signup")
			user.Fill("f-email", fmt.Sprintf("ada%d@example.com", i))
			user.Fill("f-display_name", "Ada")
			user.Fill("f-password", "correct horse battery staple")
			user.Submit("signup-submit")
			if got := user.Text("account-email"); !strings.HasSuffix(got, "@example.com") {
				t.Fatalf("not on the account page: %q at %s", got, user.Location())
			}

			got := cards.request(t)
			if !got.session || !strings.Contains(got.accept, "text/html") {
				t.Errorf("the fragment was asked for with session cookie %v and Accept %q", got.session, got.accept)
			}
			// The script marks the region busy before it asks, so once the
			// stand-in has the request, the mark going away means it is done.
			if err := wait(user, chromedp.WaitNotPresent(chromedp.CSS(`[data-include][aria-busy]`))); err != nil {
				t.Fatalf("the region is still busy: %v", err)
			}

			if tc.included {
				if text := user.Text("cards-summary"); !strings.Contains(text, "Available SEK 50,000.00") {
					t.Errorf("the region shows %q, want the fragment", text)
				}
				if n := user.Count("cards-link"); n != 0 {
					t.Errorf("the plain link is still there next to the fragment")
				}
				if cards.probed.Load() {
					t.Errorf("the fragment's script was loaded")
				}
				user.Screenshot("users-account-cards")
				return
			}
			if n := user.Count("cards-fragment"); n != 0 {
				t.Errorf("the region shows what cards answered: %q", user.Text("cards-fragment"))
			}
			if text := user.Text("cards-link"); text != "Your business card account" {
				t.Fatalf("the region's link reads %q", text)
			}
			if tc.name == "too slow" {
				select {
				case <-cards.gaveUp:
				case <-time.After(browsertest.Timeout):
					t.Errorf("the browser did not give up on the fragment")
				}
			}
			// The page works: a form, and the link to cards.
			user.Fill("f-display_name", "Ada Lovelace")
			user.Submit("name-submit")
			if got := user.Text("done"); !strings.Contains(got, "Your name is saved") {
				t.Errorf("after renaming: %q", got)
			}
			user.Submit("cards-link")
			if loc := user.Location(); loc != front.URL+"/cards/" {
				t.Errorf("the link led to %s", loc)
			}
		})
	}
}

// wait runs a chromedp wait in the user's tab, within browsertest.Timeout.
func wait(u *browsertest.User, a chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(u.Context(), browsertest.Timeout)
	defer cancel()
	return chromedp.Do(ctx, a)
}

// frontDoor is the one origin the browser sees: /users/ goes to the real
// program, /cards/ to a stand-in for scs-cards.
type frontDoor struct {
	*httptest.Server
	standIn atomic.Pointer[cardsStandIn]
	// stop ends the stand-in's requests that wait, so that the server can close.
	stop chan struct{}
}

func startFrontDoor(t *testing.T) *frontDoor {
	t.Helper()
	f := &frontDoor{Server: httptest.NewUnstartedServer(nil), stop: make(chan struct{})}
	t.Cleanup(f.Close)
	t.Cleanup(func() { close(f.stop) })              // before Close, which waits for them
	public := "http://" + f.Listener.Addr().String() // f.URL once started
	p := start(t, map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "users.db"),
		"AMQP_URL":     "amqp://guest:guest@127.0.0.1:1/", // pages need no broker
		"PUBLIC_URL":   public,
		// A user of its own for each case, all from 127.0.0.1.
		"LIMIT_SIGNUP_PER_IP": "50/1m",
	})
	users, err := url.Parse(p.Base)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/users/", httputil.NewSingleHostReverseProxy(users))
	mux.HandleFunc("GET /cards/fragments/summary/v1", func(w http.ResponseWriter, r *http.Request) {
		f.standIn.Load().fragment(w, r)
	})
	mux.HandleFunc("GET /cards/static/probe.js", func(w http.ResponseWriter, r *http.Request) {
		f.standIn.Load().probed.Store(true)
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.body.dataset.probe = "ran";`)
	})
	mux.HandleFunc("GET /cards/static/fragment.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `.cards-summary { font-weight: 600; }`)
	})
	mux.HandleFunc("GET /cards/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>Cards</title><h1>Cards</h1>`)
	})
	f.Config.Handler = mux
	f.Start()
	return f
}

// cards puts a new stand-in for scs-cards behind the front door, whose
// fragment answers with answer.
func (f *frontDoor) cards(answer http.HandlerFunc) *cardsStandIn {
	c := &cardsStandIn{answer: answer, requests: make(chan fragmentRequest, 8), gaveUp: make(chan struct{}, 8)}
	f.standIn.Store(c)
	return c
}

// cardsStandIn answers for scs-cards and tells the test what it was asked.
type cardsStandIn struct {
	answer   http.HandlerFunc
	requests chan fragmentRequest
	// gaveUp hears of each request for the fragment that the browser ended
	// before the answer was complete.
	gaveUp chan struct{}
	probed atomic.Bool // the fragment's script was fetched
}

// fragmentRequest is what a request for the fragment carried.
type fragmentRequest struct {
	session bool
	accept  string
}

func (c *cardsStandIn) fragment(w http.ResponseWriter, r *http.Request) {
	_, err := r.Cookie("scs_session")
	select {
	case c.requests <- fragmentRequest{session: err == nil, accept: r.Header.Get("Accept")}:
	default:
	}
	c.answer(w, r)
	if r.Context().Err() != nil {
		select {
		case c.gaveUp <- struct{}{}:
		default:
		}
	}
}

// request waits for the browser to ask for the fragment.
func (c *cardsStandIn) request(t *testing.T) fragmentRequest {
	t.Helper()
	select {
	case r := <-c.requests:
		return r
	case <-time.After(browsertest.Timeout):
		t.Fatal("the page did not ask for the fragment")
		return fragmentRequest{}
	}
}
