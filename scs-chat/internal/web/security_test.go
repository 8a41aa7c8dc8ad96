package web_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

// TestOthersConversationsAreNotFound is the IDOR check: a conversation is
// there only for its two members; to anyone else every address of it is a
// 404, and nothing they send changes it.
func TestOthersConversationsAreNotFound(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	carol := s.user(t, "Carol")
	page := "/chat/conversations/" + id

	for _, tc := range []struct {
		name string
		do   func() response
	}{
		{"page", func() response { return carol.get(page) }},
		{"page of a conversation that never was", func() response { return carol.get("/chat/conversations/" + newUUID(t)) }},
		{"message", func() response { return carol.post(page+"/messages", "client_id", "c1", "text", "hi there") }},
		{"empty message", func() response { return carol.post(page+"/messages", "client_id", "c2", "text", "") }},
		{"leave", func() response { return carol.post(page + "/leave") }},
		{"block", func() response { return carol.post(page + "/block") }},
		{"report", func() response { return carol.post(page+"/report", "reason", "spam") }},
		{"empty report", func() response { return carol.post(page+"/report", "reason", "") }},
		{"live", func() response { return carol.get("/chat/live?conversation=" + id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			if r.status != http.StatusNotFound {
				t.Fatalf("%d, want 404\n%s", r.status, r.body)
			}
			if strings.Contains(r.body, "Ada") || strings.Contains(r.body, "Bob") {
				t.Errorf("the 404 names a member:\n%s", r.body)
			}
		})
	}
	t.Run("live websocket", func(t *testing.T) {
		ws, resp := carol.dialLive("/chat/live?conversation=" + id)
		if ws != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("Carol's websocket to the conversation: %v, want 404", resp.Status)
		}
	})
	t.Run("send frame", func(t *testing.T) {
		ws := carol.live("/chat/live")
		ws.write(map[string]string{"type": "send", "conversation": id, "client_id": "c3", "text": "let me in"})
		if f := ws.expect("error"); f.str("client_id") != "c3" || !strings.Contains(f.str("error"), "no such conversation") {
			t.Errorf("error frame %v", f)
		}
	})

	if c := s.conversation(ada.id, id); !c.Active() || c.Messages != 0 {
		t.Errorf("the conversation changed: %+v", c)
	}
	if n := s.count(`SELECT count(*) FROM blocks`); n != 0 {
		t.Errorf("%d blocks", n)
	}
	if n := s.count(`SELECT count(*) FROM outbox WHERE type = $1`, contracts.TypeReportFiledV1); n != 0 {
		t.Errorf("%d reports", n)
	}
	if r := bob.get(page); r.status != http.StatusOK || find(t, r.body, "compose") == nil {
		t.Errorf("Bob's page: %d", r.status)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	s := newSite(t)
	ada, _, id := s.pair(t)
	page := "/chat/conversations/" + id
	carol := s.user(t, "Carol")
	message := url.Values{"client_id": {"x1"}, "text": {"pwned"}}.Encode()
	join := url.Values{"lat": {adaLat}, "lon": {adaLon}, "range": {"5"}}.Encode()

	for name, headers := range map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site", "same-site"},
		"Origin of another site":    {"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, post := range []struct {
				b          *browser
				path, body string
			}{
				{ada, page + "/messages", message},
				{ada, page + "/leave", ""},
				{ada, page + "/block", ""},
				{ada, page + "/report", "reason=spam"},
				{carol, "/chat/join", join},
				{ada, "/chat/waiting/stop", ""},
			} {
				r := post.b.do(http.MethodPost, post.path, post.body, headers...)
				if r.status != http.StatusForbidden || find(t, r.body, "error-page") == nil {
					t.Fatalf("POST %s: %d, want 403 with an error page\n%s", post.path, r.status, r.body)
				}
				if !strings.Contains(r.body, "sent from a page that is not part of the platform") {
					t.Errorf("the 403 does not say why:\n%s", r.body)
				}
			}
		})
	}
	if c := s.conversation(ada.id, id); !c.Active() || c.Messages != 0 {
		t.Errorf("a cross-origin POST changed the conversation: %+v", c)
	}
	if s.status(carol.id).Waiting {
		t.Error("a cross-origin join put Carol in the waiting room")
	}
	if n := s.count(`SELECT count(*) FROM blocks`) + s.count(`SELECT count(*) FROM reports`); n != 0 {
		t.Errorf("a cross-origin POST blocked or reported")
	}
	// The same form from the site itself works, with either header.
	if r := ada.do(http.MethodPost, page+"/messages", message, "Sec-Fetch-Site", "", "Origin", s.URL); r.status != http.StatusSeeOther {
		t.Errorf("a same-origin message: %d, want 303", r.status)
	}
	if r := ada.do(http.MethodPost, page+"/messages", message); r.status != http.StatusSeeOther || len(s.messages(ada.id, id)) != 1 {
		t.Errorf("a same-origin message: %d, want 303 and one message", r.status)
	}
}

func TestTextOnly(t *testing.T) {
	s := newSite(t)
	ada, _, id := s.pair(t)
	page := "/chat/conversations/" + id
	carol := s.user(t, "Carol")

	for _, path := range []string{
		"/chat/?done=%FF",
		"/chat/?done=%00",
		"/chat/?%FF=1",
		"/chat/conversations/%FF",
		page + "?x=a%00b",
		"/chat/live?conversation=%C0%AF",
	} {
		t.Run("GET "+path, func(t *testing.T) {
			r := ada.get(path)
			if r.status != http.StatusBadRequest || find(t, r.body, "error-page") == nil {
				t.Fatalf("%d, want 400 with an error page\n%s", r.status, r.body)
			}
		})
	}
	for _, tc := range []struct {
		b          *browser
		path, body string
	}{
		{ada, page + "/messages", "client_id=a1&text=%FF%FE"},
		{ada, page + "/messages", "client_id=a2&text=a%00b"},
		{ada, page + "/messages", "client_id=a3&text=hi&%FF=1"},
		{ada, page + "/messages", "client_id=a4&text=%ED%A0%80"},
		{ada, page + "/report", "reason=spam%00"},
		{carol, "/chat/join", "lat=52.52%FF&lon=13.40&range=5"},
		{carol, "/chat/join", "lat=52.52&lon=13.40&range=5%00"},
	} {
		t.Run("POST "+tc.path+" "+tc.body, func(t *testing.T) {
			r := tc.b.do(http.MethodPost, tc.path, tc.body)
			if r.status != http.StatusBadRequest || find(t, r.body, "error-page") == nil || !strings.Contains(r.body, "characters that are not text") {
				t.Fatalf("%d, want 400 with the page saying the form is not text\n%s", r.status, r.body)
			}
		})
	}
	if n := len(s.messages(ada.id, id)); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if s.status(carol.id).Waiting {
		t.Error("Carol joined with a form that is not text")
	}
	if n := s.count(`SELECT count(*) FROM reports`); n != 0 {
		t.Errorf("%d reports", n)
	}
}

func TestFormsAreBounded(t *testing.T) {
	s := newSite(t)
	ada, _, id := s.pair(t)
	carol := s.user(t, "Carol")
	big := strings.Repeat("a", 64<<10)
	for _, tc := range []struct {
		b          *browser
		path, body string
	}{
		{ada, "/chat/conversations/" + id + "/messages", "client_id=big&text=" + big},
		{ada, "/chat/conversations/" + id + "/report", "reason=" + big},
		{carol, "/chat/join", "lat=52.52&lon=13.40&range=5&pad=" + big},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := tc.b.do(http.MethodPost, tc.path, tc.body)
			if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "Too much text") {
				t.Fatalf("%d, want 413\n%s", r.status, r.body)
			}
		})
	}
	if n := len(s.messages(ada.id, id)); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if s.status(carol.id).Waiting {
		t.Error("an oversized join was carried out")
	}
	// Just under the bound, the form is read (and the message refused as too long).
	r := ada.do(http.MethodPost, "/chat/conversations/"+id+"/messages", "client_id=ok&text="+strings.Repeat("a", 60<<10))
	if r.status != http.StatusBadRequest || find(t, r.body, "error-text") == nil {
		t.Errorf("a 60 KiB message: %d, want 400 with error-text", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	ada, _, id := s.pair(t)
	carol := s.user(t, "Carol")
	carol.join("0", "0", "5")
	stranger := &browser{t: t, site: s, token: s.token(newUUID(t), time.Now(), time.Now().Add(time.Minute))}

	for name, r := range map[string]response{
		"start page":        s.user(t, "Dan").get("/chat/"),
		"waiting page":      carol.get("/chat/waiting"),
		"conversation page": ada.get("/chat/conversations/" + id),
		"list":              ada.get("/chat/conversations"),
		"form error":        s.user(t, "Eve").join("", "", ""),
		"not found":         ada.get("/chat/conversations/" + newUUID(t)),
		"no such page":      ada.get("/chat/nothing-here"),
		"bad address":       ada.get("/chat/?done=%FF"),
		"one moment":        stranger.get("/chat/"),
		"to the login":      s.visitor(t).get("/chat/"),
		"redirect":          ada.post("/chat/waiting/stop"),
	} {
		t.Run(name, func(t *testing.T) {
			h := r.header
			for header, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(header); got != want {
					t.Errorf("%s: %q, want %q (status %d)", header, got, want, r.status)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
				}
			}
			if r.status == http.StatusOK && h.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	s := newSite(t)
	for _, name := range []string{"live.js", "start.js", "site.css", "chat.css"} {
		t.Run(name, func(t *testing.T) {
			r := s.visitor(t).get("/chat/static/" + name)
			want, err := os.ReadFile("static/" + name)
			if errors.Is(err, fs.ErrNotExist) {
				// The platform's own assets come from the kit (routing.Prefix).
				want, err = fs.ReadFile(pages.Assets(), name)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK || r.body != string(want) {
				t.Fatalf("%d, %d bytes, want 200 with the file's %d", r.status, len(r.body), len(want))
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", r.header.Get("X-Content-Type-Options"))
			}
			cc := r.header.Get("Cache-Control")
			m := regexp.MustCompile(`max-age=(\d+)`).FindStringSubmatch(cc)
			if m == nil || !strings.Contains(cc, "public") {
				t.Fatalf("Cache-Control %q, want public with a max-age", cc)
			}
			if age, _ := strconv.Atoi(m[1]); age < 600 || age > 86400 {
				t.Errorf("max-age %d, want between ten minutes and a day", age)
			}
			ct := r.header.Get("Content-Type")
			if (strings.HasSuffix(name, ".js") && !strings.HasPrefix(ct, "text/javascript")) || (strings.HasSuffix(name, ".css") && !strings.HasPrefix(ct, "text/css")) {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if r := s.visitor(t).get("/chat/static/nothing.js"); r.status != http.StatusNotFound {
		t.Errorf("a missing asset: %d, want 404", r.status)
	}
}

// TestDoneShowsOnlyItsOwnSentences: ?done= picks one of a few fixed
// confirmations; whatever else it says is not shown.
func TestDoneShowsOnlyItsOwnSentences(t *testing.T) {
	s := newSite(t)
	ada := s.user(t, "Ada")
	if got := text(find(t, ada.get("/chat/?done=stopped").body, "done")); got != "You are no longer waiting." {
		t.Errorf("done=stopped shows %q", got)
	}
	for _, q := range []string{"%3Cscript%3Ealert(1)%3C%2Fscript%3E", "You+won", "toString", ""} {
		r := ada.get("/chat/?done=" + q)
		if r.status != http.StatusOK || find(t, r.body, "done") != nil || strings.Contains(r.body, "<script>alert") {
			t.Errorf("done=%s: %d, shows %q", q, r.status, text(find(t, r.body, "done")))
		}
	}
}

func TestOperationsAndRedirects(t *testing.T) {
	s := newSite(t)
	visitor := s.visitor(t)
	if r := visitor.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := visitor.get("/chat"); r.status != http.StatusMovedPermanently || r.location != "/chat/" {
		t.Errorf("/chat: %d to %q, want 301 to /chat/", r.status, r.location)
	}
	ada := s.user(t, "Ada")
	if r := ada.get("/chat/nothing-here"); r.status != http.StatusNotFound || find(t, r.body, "error-page") == nil {
		t.Errorf("an unknown page: %d, want 404 with an error page", r.status)
	}
	// A form's address typed into the address bar: a page that says so.
	if r := ada.get("/chat/join"); r.status != http.StatusMethodNotAllowed || find(t, r.body, "error-page") == nil || r.header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /chat/join: %d, want 405 with an error page and the security headers", r.status)
	}
	if r := visitor.get("/chat/static/"); r.status != http.StatusNotFound {
		t.Errorf("/chat/static/: %d, want 404 (no listing of the assets)", r.status)
	}
}
