package web_test

import (
	"net/http"
	"strings"
	"testing"
)

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
