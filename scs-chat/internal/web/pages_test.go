package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"

	"github.com/scs-platform/scs-chat/internal/chat"
)

func TestGate(t *testing.T) {
	s := newSite(t)

	t.Run("a valid session gets the page", func(t *testing.T) {
		if r := s.user(t, "Ada").get("/chat/"); r.status != http.StatusOK || find(t, r.body, "join-form") == nil {
			t.Fatalf("GET /chat/ answered %d\n%s", r.status, r.body)
		}
	})
	t.Run("no cookie goes to the login", func(t *testing.T) {
		r := s.visitor(t).get("/chat/")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to /users/login?next=%%2Fchat%%2F", r.status, r.location)
		}
		r = s.visitor(t).get("/chat/conversations")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2Fconversations" {
			t.Fatalf("%d to %q, want the login returning to /chat/conversations", r.status, r.location)
		}
	})
	t.Run("a form without a cookie goes to the login, back to the start", func(t *testing.T) {
		r := s.visitor(t).post("/chat/join", "lat", adaLat, "lon", adaLon, "range", "5")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login returning to /chat/", r.status, r.location)
		}
	})
	t.Run("a banned user goes to the login", func(t *testing.T) {
		ada := s.user(t, "Ada")
		if _, err := s.db.ExecContext(context.Background(), `UPDATE users_replica SET status = 'banned' WHERE user_id = $1`, ada.id); err != nil {
			t.Fatal(err)
		}
		r := ada.get("/chat/")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login", r.status, r.location)
		}
	})
	t.Run("a user the replica does not know yet sees one moment", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.get("/chat/")
		if r.status != http.StatusServiceUnavailable || find(t, r.body, "error-page") == nil {
			t.Fatalf("%d, want 503 with an error page\n%s", r.status, r.body)
		}
		if !strings.Contains(r.body, "One moment") || r.header.Get("Retry-After") != "1" {
			t.Errorf("not the one-moment page (Retry-After %q)\n%s", r.header.Get("Retry-After"), r.body)
		}
		if href := attr(find(t, r.body, "retry"), "href"); href != "/chat/?lag=1" {
			t.Errorf("retry link %q, want /chat/?lag=1", href)
		}
		if content, noscript, ok := metaRefresh(t, r.body); !ok || noscript || content != "1; url=/chat/?lag=1" {
			t.Errorf("meta refresh %q (in noscript: %v, present: %v), want the retry after 1 s for every browser", content, noscript, ok)
		}
	})
	t.Run("one moment tries a few times by itself, then goes to the login", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		path := "/chat/conversations"
		for attempt := 1; ; attempt++ {
			r := b.get(path)
			if r.status == http.StatusSeeOther {
				if r.location != "/users/login?next=%2Fchat%2Fconversations" || attempt != 6 {
					t.Fatalf("attempt %d: 303 to %q, want the login after 5 attempts", attempt, r.location)
				}
				break
			}
			content, _, ok := metaRefresh(t, r.body)
			next, found := strings.CutPrefix(content, "1; url=")
			if r.status != http.StatusServiceUnavailable || !ok || !found || attempt > 5 {
				t.Fatalf("attempt %d: %d, meta refresh %q; want 503 refreshing to the next attempt", attempt, r.status, content)
			}
			if want := "/chat/conversations?lag=" + strconv.Itoa(attempt); next != want || attr(find(t, r.body, "retry"), "href") != want {
				t.Fatalf("attempt %d refreshes to %q, links to %q; want %q", attempt, next, attr(find(t, r.body, "retry"), "href"), want)
			}
			path = next
		}
	})
	t.Run("one moment never leads to another site", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		for _, path := range []string{"//evil.example/", "///evil.example/chat/", "/%2F%2Fevil.example/"} {
			r := b.get(path)
			content, _, _ := metaRefresh(t, r.body)
			retry := attr(find(t, r.body, "retry"), "href")
			if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(retry, "/chat/") || !strings.HasPrefix(content, "1; url=/chat/") {
				t.Errorf("GET %s: %d, retry link %q, meta refresh %q; want both under /chat/", path, r.status, retry, content)
			}
		}
	})
	t.Run("a form from a user the replica does not know yet is not retried", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.join(adaLat, adaLon, "5")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Send the form again") {
			t.Fatalf("%d, want 503 asking to send the form again\n%s", r.status, r.body)
		}
		if _, _, ok := metaRefresh(t, r.body); ok || find(t, r.body, "retry") != nil {
			t.Errorf("the page would send the form again by itself")
		}
	})
	t.Run("a user who never arrives goes to the login after a few tries", func(t *testing.T) {
		now := time.Now()
		b := &browser{t: t, site: s, id: newUUID(t)}
		b.token = s.token(b.id, now, now.Add(10*time.Minute))
		r := b.get("/chat/?lag=5")
		if r.status != http.StatusSeeOther || r.location != "/users/login?next=%2Fchat%2F" {
			t.Fatalf("%d to %q, want 303 to the login", r.status, r.location)
		}
	})
	t.Run("an expired token goes to the refresh", func(t *testing.T) {
		ada := s.user(t, "Ada")
		now := time.Now()
		ada.token = s.token(ada.id, now.Add(-20*time.Minute), now.Add(-10*time.Minute))
		r := ada.get("/chat/conversations")
		if r.status != http.StatusSeeOther || r.location != "/users/session/refresh?next=%2Fchat%2Fconversations" {
			t.Fatalf("%d to %q, want 303 to the refresh returning to /chat/conversations", r.status, r.location)
		}
	})
}

func TestJoinFormErrors(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name               string
		lat, lon, rangeKm  string
		field, wantMessage string
	}{
		{"empty latitude", "", adaLon, "5", "lat", "Latitude is missing."},
		{"empty longitude", adaLat, " ", "5", "lon", "Longitude is missing."},
		{"empty range", adaLat, adaLon, "", "range", "The range is missing."},
		{"a word", "abc", adaLon, "5", "lat", "Latitude must be a number"},
		{"latitude 91", "91", adaLon, "5", "lat", "Latitude must be a number from -90 to 90."},
		{"longitude -181", adaLat, "-181", "5", "lon", "Longitude must be a number from -180 to 180."},
		{"range 0", adaLat, adaLon, "0", "range", "The range must be from 0.1 to 500 km."},
		{"range 501", adaLat, adaLon, "501", "range", "The range must be from 0.1 to 500 km."},
		{"NaN", "NaN", adaLon, "5", "lat", "Latitude must be a number"},
		{"Infinity", adaLat, adaLon, "Infinity", "range", "The range must be a number"},
		{"1e400", adaLat, "1e400", "5", "lon", "Longitude must be a number"},
		{"hexadecimal", "0x1p5", adaLon, "5", "lat", "Latitude must be a number"},
		{"two commas", "52,5,2", adaLon, "5", "lat", "Latitude must be a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ada := s.user(t, "Ada")
			r := ada.join(tc.lat, tc.lon, tc.rangeKm)
			if r.status != http.StatusBadRequest || find(t, r.body, "join-form") == nil {
				t.Fatalf("%d, want 400 with the form again\n%s", r.status, r.body)
			}
			for _, f := range []string{"lat", "lon", "range"} {
				msg := find(t, r.body, "error-"+f)
				switch {
				case f == tc.field && !strings.Contains(text(msg), tc.wantMessage):
					t.Errorf("error-%s = %q, want %q", f, text(msg), tc.wantMessage)
				case f != tc.field && msg != nil:
					t.Errorf("an error at %s too: %q", f, text(msg))
				}
			}
			for name, typed := range map[string]string{"lat": tc.lat, "lon": tc.lon, "range": tc.rangeKm} {
				if v, ok := inputValue(t, r.body, name); !ok || v != typed {
					t.Errorf("input %s holds %q, want what was typed, %q", name, v, typed)
				}
			}
			if st := s.status(ada.id); st.Waiting {
				t.Errorf("a refused join put the user in the waiting room")
			}
		})
	}
	t.Run("a comma as the decimal mark", func(t *testing.T) {
		ada := s.user(t, "Ada")
		r := ada.join("52,52", "13,40", "2,5")
		if r.status != http.StatusSeeOther || r.location != "/chat/waiting" {
			t.Fatalf("%d to %q, want 303 to /chat/waiting\n%s", r.status, r.location, r.body)
		}
		if st := s.status(ada.id); !st.Waiting || st.RangeKm != 2.5 {
			t.Errorf("status %+v, want waiting within 2.5 km", st)
		}
	})
}

func TestJoinWaitAndMatch(t *testing.T) {
	s := newSite(t)
	ada, bob := s.user(t, "Ada"), s.user(t, "Bob")

	r := ada.get("/chat/")
	if r.status != http.StatusOK || find(t, r.body, "join-form") == nil {
		t.Fatalf("start page: %d\n%s", r.status, r.body)
	}
	if v, _ := inputValue(t, r.body, "range"); v != "5" {
		t.Errorf("the range starts at %q, want 5", v)
	}
	if got := text(find(t, r.body, "nav-user")); got != "Ada" {
		t.Errorf("the navigation names %q, want Ada", got)
	}

	if r := ada.join(adaLat, adaLon, "5"); r.status != http.StatusSeeOther || r.location != "/chat/waiting" {
		t.Fatalf("join: %d to %q, want 303 to /chat/waiting\n%s", r.status, r.location, r.body)
	}
	if r := ada.get("/chat/"); r.status != http.StatusSeeOther || r.location != "/chat/waiting" {
		t.Errorf("start page while waiting: %d to %q, want 303 to /chat/waiting", r.status, r.location)
	}
	r = ada.get("/chat/waiting")
	waiting := find(t, r.body, "waiting")
	if r.status != http.StatusOK || waiting == nil {
		t.Fatalf("waiting page: %d\n%s", r.status, r.body)
	}
	if attr(waiting, "data-live") != "/chat/live" {
		t.Errorf("the waiting page's live address is %q", attr(waiting, "data-live"))
	}
	if content, noscript, ok := metaRefresh(t, r.body); !ok || !noscript || content == "" {
		t.Errorf("meta refresh %q (in noscript: %v, present: %v), want one inside <noscript>", content, noscript, ok)
	}
	if !strings.Contains(text(waiting), "within 5 km") {
		t.Errorf("the waiting page does not say the range: %q", text(waiting))
	}

	r = bob.join(bobLat, bobLon, "5")
	id, ok := strings.CutPrefix(r.location, "/chat/conversations/")
	if r.status != http.StatusSeeOther || !ok || id == "" {
		t.Fatalf("Bob's join: %d to %q, want 303 to the conversation", r.status, r.location)
	}
	for _, b := range []*browser{ada, bob} {
		if r := b.get("/chat/"); r.status != http.StatusSeeOther || r.location != "/chat/conversations/"+id {
			t.Errorf("%s's start page: %d to %q, want 303 to the conversation", b.name, r.status, r.location)
		}
	}
	if r := ada.get("/chat/waiting"); r.status != http.StatusSeeOther || r.location != "/chat/conversations/"+id {
		t.Errorf("Ada's waiting page after the match: %d to %q, want 303 to the conversation", r.status, r.location)
	}
	if r := bob.join(bobLat, bobLon, "5"); r.status != http.StatusSeeOther || r.location != "/chat/conversations/"+id {
		t.Errorf("joining again in a conversation: %d to %q, want 303 back to it", r.status, r.location)
	}
	if r := ada.get("/chat/conversations/" + id); r.status != http.StatusOK || find(t, r.body, "conversation") == nil {
		t.Errorf("the conversation page: %d", r.status)
	}
	r = ada.get("/chat/conversations")
	if rows := findAll(t, r.body, "conversation-row"); r.status != http.StatusOK || len(rows) != 1 || !strings.Contains(text(rows[0]), "Bob") {
		t.Errorf("the list of conversations: %d, %d rows\n%s", r.status, len(rows), r.body)
	}
}

func TestStopWaiting(t *testing.T) {
	s := newSite(t)
	ada := s.user(t, "Ada")
	ada.join(adaLat, adaLon, "5")

	r := ada.post("/chat/waiting/stop")
	if r.status != http.StatusSeeOther || r.location != "/chat/?done=stopped" {
		t.Fatalf("stop: %d to %q, want 303 to /chat/?done=stopped", r.status, r.location)
	}
	if s.status(ada.id).Waiting {
		t.Fatal("still waiting after stopping")
	}
	r = ada.get(r.location)
	if r.status != http.StatusOK || find(t, r.body, "join-form") == nil || text(find(t, r.body, "done")) != "You are no longer waiting." {
		t.Errorf("the start page after stopping: %d, done %q", r.status, text(find(t, r.body, "done")))
	}
	if r := ada.get("/chat/waiting"); r.status != http.StatusSeeOther || r.location != "/chat/?done=expired" {
		t.Errorf("the waiting page after stopping: %d to %q", r.status, r.location)
	}
	// Nobody is matched with a user who stopped.
	if r := s.user(t, "Bob").join(bobLat, bobLon, "5"); r.location != "/chat/waiting" {
		t.Errorf("Bob's join after Ada stopped: %d to %q, want the waiting room", r.status, r.location)
	}
	// Stopping when not waiting is harmless.
	if r := ada.post("/chat/waiting/stop"); r.status != http.StatusSeeOther {
		t.Errorf("stopping again: %d", r.status)
	}
}

func TestConversationPage(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)

	r := ada.get("/chat/conversations/" + id)
	if r.status != http.StatusOK {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
	if got := text(find(t, r.body, "partner")); got != "Bob" {
		t.Errorf("Ada's partner is %q, want Bob", got)
	}
	if got := text(find(t, r.body, "distance")); got != "about 2 km away" {
		t.Errorf("distance %q, want about 2 km away", got)
	}
	for _, where := range []string{adaLat, adaLon, bobLat, bobLon, "52.520", "52.538", "13.404"} {
		if strings.Contains(r.body, where) {
			t.Errorf("the page gives away a location: it holds %q", where)
		}
	}
	section := find(t, r.body, "conversation")
	if attr(section, "data-live") != "/chat/live?conversation="+id || attr(section, "data-me") != ada.id {
		t.Errorf("live %q, me %q", attr(section, "data-live"), attr(section, "data-me"))
	}
	if find(t, r.body, "compose") == nil || !hasAttr(find(t, r.body, "ended"), "hidden") {
		t.Errorf("an active conversation shows the compose form and hides the ended notice")
	}
	if got := text(find(t, bob.get("/chat/conversations/"+id).body, "partner")); got != "Ada" {
		t.Errorf("Bob's partner is %q, want Ada", got)
	}

	t.Run("renames show up", func(t *testing.T) {
		if _, err := s.db.ExecContext(context.Background(), `UPDATE users_replica SET display_name = 'Robert' WHERE user_id = $1`, bob.id); err != nil {
			t.Fatal(err)
		}
		r := ada.get("/chat/conversations/" + id)
		if got := text(find(t, r.body, "partner")); got != "Robert" {
			t.Errorf("after the rename Ada's partner is %q, want Robert", got)
		}
		if got := text(find(t, r.body, "block")); got != "Block Robert" {
			t.Errorf("block button %q", got)
		}
		if got := text(find(t, bob.get("/chat/conversations/"+id).body, "nav-user")); got != "Robert" {
			t.Errorf("Bob's navigation names %q, want Robert", got)
		}
	})
}

func TestMessagesByForm(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id
	const attack = `<script>alert(1)</script>`

	r := ada.get(page)
	clientID, _ := inputValue(t, r.body, "client_id")
	if clientID == "" {
		t.Fatalf("no client_id in the compose form\n%s", r.body)
	}
	for range 2 { // the second is the same form sent again
		r = ada.post(page+"/messages", "client_id", clientID, "text", attack)
		if r.status != http.StatusSeeOther || r.location != page+"#latest" {
			t.Fatalf("send: %d to %q, want 303 to %s#latest\n%s", r.status, r.location, page, r.body)
		}
	}
	if got := s.messages(ada.id, id); len(got) != 1 || got[0].Text != attack || got[0].SenderID != ada.id {
		t.Fatalf("stored %+v, want the one message once", got)
	}
	for _, b := range []*browser{ada, bob} {
		r := b.get(page)
		msgs := findAll(t, r.body, "message")
		if len(msgs) != 1 || !strings.Contains(text(msgs[0]), attack) {
			t.Fatalf("%s sees the messages %d: %q", b.name, len(msgs), text(find(t, r.body, "messages")))
		}
		if strings.Contains(r.body, "<script>alert") || !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s's page does not escape the message", b.name)
		}
		if scripts := elements(t, r.body, func(n *html.Node) bool { return n.Data == "script" && attr(n, "src") == "" }); len(scripts) != 0 {
			t.Errorf("%s's page holds an inline script", b.name)
		}
		who := map[*browser]string{ada: "You", bob: "Them"}[b]
		if !strings.HasPrefix(text(msgs[0]), who) {
			t.Errorf("%s's page says the message is from %q, want %q", b.name, text(msgs[0]), who)
		}
	}

	for _, tc := range []struct{ name, text, want string }{
		{"empty", "   \n ", "A message cannot be empty."},
		{"2001 characters", strings.Repeat("é", 2001), "at most 2000 characters; this one has 2001"},
		{"a control character", "bell\a", "not text"},
		{"a right-to-left override", "pay me \u202e01$", "The message contains an invisible character that reverses text direction (U+202E); remove it."},
		{"a left-to-right isolate", "\u2066hi", "The message contains an invisible character that reverses text direction (U+2066); remove it."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ada.send(id, tc.text)
			msg := find(t, r.body, "error-text")
			if r.status != http.StatusBadRequest || msg == nil || hasAttr(msg, "hidden") || !strings.Contains(text(msg), tc.want) {
				t.Fatalf("%d, error-text %q (hidden %v), want 400 saying %q", r.status, text(msg), hasAttr(msg, "hidden"), tc.want)
			}
			if v, _ := textareaValue(t, r.body, "text"); v != tc.text && strings.TrimLeft(v, "\n") != strings.TrimLeft(tc.text, "\n") {
				t.Errorf("the textarea holds %q, want what was typed", v)
			}
			if n := len(s.messages(ada.id, id)); n != 1 {
				t.Errorf("%d messages stored, want still 1", n)
			}
		})
	}
	if r := ada.send(id, strings.Repeat("é", 2000)); r.status != http.StatusSeeOther {
		t.Errorf("a message of 2000 characters: %d, want 303", r.status)
	}
	if n := len(s.messages(bob.id, id)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	if !hasAttr(find(t, ada.get(page).body, "error-text"), "hidden") {
		t.Errorf("the error-text is shown without an error")
	}
}

func TestMessagesAreRateLimited(t *testing.T) {
	s := newSite(t, func(svc *chat.Service) {
		svc.Messages = &ratelimit.Memory{Rate: ratelimit.Rate{Burst: 2, Every: time.Minute}}
	})
	ada, _, id := s.pair(t)
	page := "/chat/conversations/" + id
	for i := range 2 {
		if r := ada.post(page+"/messages", "client_id", "m"+strconv.Itoa(i), "text", "hello"); r.status != http.StatusSeeOther {
			t.Fatalf("message %d: %d", i, r.status)
		}
	}
	r := ada.post(page+"/messages", "client_id", "m2", "text", "one too many")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("the third message: %d, want 429\n%s", r.status, r.body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	if msg := text(find(t, r.body, "error-text")); !strings.Contains(msg, "too fast") {
		t.Errorf("error-text %q", msg)
	}
	if v, _ := textareaValue(t, r.body, "text"); v != "one too many" {
		t.Errorf("the textarea holds %q, want the text kept", v)
	}
	if n := len(s.messages(ada.id, id)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	// A resent form is not a new message and passes.
	if r := ada.post(page+"/messages", "client_id", "m0", "text", "hello"); r.status != http.StatusSeeOther {
		t.Errorf("resending the first message: %d, want 303", r.status)
	}
}

func TestLeave(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id

	r := ada.post(page + "/leave")
	if r.status != http.StatusSeeOther || r.location != page+"?done=left" {
		t.Fatalf("leave: %d to %q, want 303 to %s?done=left", r.status, r.location, page)
	}
	if s.conversation(ada.id, id).Active() {
		t.Fatal("the conversation is still active")
	}
	r = ada.get(r.location)
	ended := find(t, r.body, "ended")
	if r.status != http.StatusOK || ended == nil || hasAttr(ended, "hidden") || !strings.Contains(text(ended), "You left") {
		t.Errorf("Ada's page: %d, ended %q (hidden %v)", r.status, text(ended), hasAttr(ended, "hidden"))
	}
	if text(find(t, r.body, "done")) != "You left the conversation." {
		t.Errorf("done %q", text(find(t, r.body, "done")))
	}
	for _, b := range []*browser{ada, bob} {
		r := b.get(page)
		if find(t, r.body, "compose") != nil || find(t, r.body, "leave") != nil || attr(find(t, r.body, "conversation"), "data-live") != "" {
			t.Errorf("%s's page of an ended conversation still offers to write, leave or go live", b.name)
		}
		if ended := find(t, r.body, "ended"); hasAttr(ended, "hidden") {
			t.Errorf("%s's page hides the ended notice", b.name)
		}
	}
	if got := text(find(t, bob.get(page).body, "ended")); !strings.Contains(got, "Ada left this conversation") {
		t.Errorf("Bob's ended notice %q", got)
	}
	if r := bob.post(page+"/messages", "client_id", "late", "text", "still there?"); r.status != http.StatusConflict {
		t.Errorf("a message to an ended conversation: %d, want 409", r.status)
	}
	if n := len(s.messages(bob.id, id)); n != 0 {
		t.Errorf("%d messages stored in an ended conversation", n)
	}
	if r := ada.post(page + "/leave"); r.status != http.StatusSeeOther {
		t.Errorf("leaving again: %d, want 303", r.status)
	}
	if r := ada.get("/chat/"); r.status != http.StatusOK || find(t, r.body, "join-form") == nil {
		t.Errorf("the start page after leaving: %d to %q, want the join form", r.status, r.location)
	}
}

func TestBlock(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id

	r := ada.post(page + "/block")
	if r.status != http.StatusSeeOther || r.location != page+"?done=blocked" {
		t.Fatalf("block: %d to %q, want 303 to %s?done=blocked", r.status, r.location, page)
	}
	r = ada.get(r.location)
	if !strings.Contains(text(find(t, r.body, "done")), "Blocked") || hasAttr(find(t, r.body, "ended"), "hidden") {
		t.Errorf("Ada's page after blocking: done %q", text(find(t, r.body, "done")))
	}
	if s.conversation(bob.id, id).Active() {
		t.Error("blocking did not end the conversation")
	}
	// The two are never matched again.
	ada.join(adaLat, adaLon, "5")
	if r := bob.join(bobLat, bobLon, "5"); r.location != "/chat/waiting" {
		t.Errorf("Bob's join after the block: %d to %q, want the waiting room", r.status, r.location)
	}
}

func TestReport(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id
	reports := func() int {
		return s.count(`SELECT count(*) FROM outbox WHERE type = $1`, contracts.TypeReportFiledV1)
	}

	for _, tc := range []struct{ name, reason, want string }{
		{"empty", "", "Say what happened"},
		{"blank", "  \n ", "Say what happened"},
		{"too long", strings.Repeat("x", contracts.ReportMaxReasonLength+1), "at most"},
		{"a right-to-left embedding", "he said \u202bsorry", "The reason contains an invisible character that reverses text direction (U+202B); remove it."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ada.post(page+"/report", "reason", tc.reason)
			if msg := find(t, r.body, "error-reason"); r.status != http.StatusBadRequest || !strings.Contains(text(msg), tc.want) {
				t.Fatalf("%d, error-reason %q, want 400 saying %q", r.status, text(msg), tc.want)
			}
			if v, _ := textareaValue(t, r.body, "reason"); strings.TrimLeft(v, "\n") != strings.TrimLeft(tc.reason, "\n") {
				t.Errorf("the reason's textarea holds %q, want what was typed", v)
			}
			if n := reports(); n != 0 {
				t.Errorf("%d reports filed", n)
			}
		})
	}

	r := ada.post(page+"/report", "reason", "Rude to me.")
	if r.status != http.StatusSeeOther || r.location != page+"?done=reported" {
		t.Fatalf("report: %d to %q, want 303 to %s?done=reported\n%s", r.status, r.location, page, r.body)
	}
	var data string
	if err := s.db.QueryRowContext(context.Background(), `SELECT data FROM outbox WHERE type = $1`, contracts.TypeReportFiledV1).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var filed contracts.ReportFiledV1
	if err := json.Unmarshal([]byte(data), &filed); err != nil {
		t.Fatal(err)
	}
	if filed.ReporterID != ada.id || filed.ReportedUserID != bob.id || filed.ConversationID != id || filed.Reason != "Rude to me." {
		t.Errorf("the event says %+v", filed)
	}
	r = ada.get(r.location)
	if !strings.Contains(text(find(t, r.body, "done")), "The report is with the moderators") || find(t, r.body, "compose") == nil {
		t.Errorf("after the report: done %q; the conversation goes on", text(find(t, r.body, "done")))
	}
}
