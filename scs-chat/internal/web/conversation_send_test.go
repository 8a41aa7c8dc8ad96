package web_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/scs-platform/shared-events/httpkit/ratelimit"

	"github.com/scs-platform/scs-chat/internal/chat"
)

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
