package frontdoor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scs-platform/e2e/frontdoor"
)

func TestFrontDoorRouting(t *testing.T) {
	backends := map[string][]*url.URL{}
	for _, s := range []struct{ name string }{{"users"}, {"chat"}, {"cards"}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-System", s.name)
			w.Header().Set("X-Host", r.Host)
			_, _ = io.WriteString(w, r.URL.RequestURI())
		}))
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		backends[s.name] = []*url.URL{u}
	}
	door := httptest.NewServer(frontdoor.New(backends))
	defer door.Close()
	doorHost := door.Listener.Addr().String()

	tests := []struct {
		path       string
		wantStatus int
		wantSystem string // "" when no system may see the request
		wantBody   string
		wantLoc    string
	}{
		{"/", http.StatusFound, "", "", "/users/"},
		{"/users/", http.StatusOK, "users", "/users/", ""},
		{"/users", http.StatusOK, "users", "/users", ""},
		{"/users/login?next=%2Fchat%2F", http.StatusOK, "users", "/users/login?next=%2Fchat%2F", ""},
		{"/chat/", http.StatusOK, "chat", "/chat/", ""},
		{"/chat/conversations/42", http.StatusOK, "chat", "/chat/conversations/42", ""},
		{"/cards/", http.StatusOK, "cards", "/cards/", ""},
		{"/cards/static/site.css", http.StatusOK, "cards", "/cards/static/site.css", ""},
		{"/healthz", http.StatusNotFound, "", "", ""},
		{"/readyz", http.StatusNotFound, "", "", ""},
		{"/metrics", http.StatusNotFound, "", "", ""},
		{"/users/internal/events/feed", http.StatusNotFound, "", "", ""},
		{"/users/internal/", http.StatusNotFound, "", "", ""},
		{"/chatroom", http.StatusNotFound, "", "", ""},
		{"/favicon.ico", http.StatusNotFound, "", "", ""},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(door.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("X-System"); got != tt.wantSystem {
				t.Errorf("served by %q, want %q", got, tt.wantSystem)
			}
			if tt.wantSystem != "" {
				if string(body) != tt.wantBody {
					t.Errorf("the system saw %q, want %q (paths are never rewritten)", body, tt.wantBody)
				}
				if got := resp.Header.Get("X-Host"); got != doorHost {
					t.Errorf("the system saw Host %q, want the front door's %q", got, doorHost)
				}
			}
			if got := resp.Header.Get("Location"); got != tt.wantLoc {
				t.Errorf("Location = %q, want %q", got, tt.wantLoc)
			}
		})
	}
}

func TestFrontDoorSystemDown(t *testing.T) {
	down, _ := url.Parse("http://127.0.0.1:1")
	door := httptest.NewServer(frontdoor.New(map[string][]*url.URL{"chat": {down}}))
	defer door.Close()
	resp, err := http.Get(door.URL + "/chat/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.StatusCode)
	}
}

func TestFrontDoorTakesInstancesInTurn(t *testing.T) {
	var urls []*url.URL
	for _, name := range []string{"one", "two"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		urls = append(urls, u)
	}
	door := httptest.NewServer(frontdoor.New(map[string][]*url.URL{"chat": urls}))
	defer door.Close()
	var got []string
	for range 4 {
		resp, err := http.Get(door.URL + "/chat/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, string(b))
	}
	if strings.Join(got, " ") != "one two one two" {
		t.Errorf("instances served %v, want them in turn", got)
	}
}
