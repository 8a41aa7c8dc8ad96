package web

import (
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"", "/users/account"},
		{"/chat/", "/chat/"},
		{"/chat", "/chat"},
		{"/cards/statements?page=2#top", "/cards/statements?page=2#top"},
		{"/users/admin/users?q=a%20b", "/users/admin/users?q=a%20b"},
		{"/users/login?next=/chat/", "/users/account"},
		{"/users/logout", "/users/account"},
		{"/users/internal/events/feed", "/users/account"},
		{"/", "/users/account"},
		{"/elsewhere", "/users/account"},
		{"/chatroom", "/users/account"},
		{"https://evil.example/chat/", "/users/account"},
		{"http:/chat/", "/users/account"},
		{"//evil.example/chat/", "/users/account"},
		{"///evil.example/chat/", "/users/account"},
		{`/\evil.example/chat/`, "/users/account"},
		{"/%5Cevil.example", "/users/account"},
		{"/chat/%2e%2e/%2e%2e/evil", "/users/account"},
		{"/chat/../users/logout", "/users/account"},
		{"/chat/./", "/users/account"},
		{"/chat/\x00", "/users/account"},
		{"/chat/\t", "/users/account"},
		{"/chat/\n/evil", "/users/account"},
		{"javascript:alert(1)", "/users/account"},
		{" /chat/", "/users/account"},
		{"/" + strings.Repeat("a", 3000), "/users/account"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// FuzzSafeNext checks the one promise safeNext makes, whatever it is given:
// the answer is a path under one of the platform's systems, on this origin, as
// a browser resolves it.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/chat/", "//evil", `/\evil`, "/chat/%2e%2e/x", "/cards/?a=b#c", "https://x/chat/", "/users/\x7f"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://platform.example/users/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not parse: %v", next, got, err)
		}
		resolved := base.ResolveReference(u)
		if resolved.Host != base.Host || resolved.Scheme != base.Scheme {
			t.Fatalf("safeNext(%q) = %q leads to %s", next, got, resolved)
		}
		p := resolved.Path
		if path.Clean(p) != strings.TrimSuffix(p, "/") && path.Clean(p) != p {
			t.Fatalf("safeNext(%q) = %q resolves to a path with dot segments: %q", next, got, p)
		}
		ok := strings.HasPrefix(p, "/users/") || strings.HasPrefix(p, "/chat") || strings.HasPrefix(p, "/cards")
		if !ok || strings.ContainsAny(got, "\\\x00\r\n\t") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:4242", nil, "203.0.113.5"},
		{"direct, forged header ignored", "203.0.113.5:4242", []string{"1.2.3.4"}, "203.0.113.5"},
		{"through the front door", "127.0.0.1:5555", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client-written hops to the left are ignored", "127.0.0.1:5555", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"two trusted proxies", "127.0.0.1:5555", []string{"198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"two headers", "127.0.0.1:5555", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk", "127.0.0.1:5555", []string{"198.51.100.7, nonsense, 10.1.2.3"}, "10.1.2.3"},
		{"only proxies", "127.0.0.1:5555", []string{"10.0.0.1"}, "10.0.0.1"},
		{"no header from a proxy", "127.0.0.1:5555", nil, "127.0.0.1"},
		{"IPv6 client", "127.0.0.1:5555", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4-mapped IPv6 peer", "[::ffff:203.0.113.5]:1", nil, "203.0.113.5"},
	} {
		r := httptest.NewRequest("GET", "/users/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, trusted); got != tc.want {
			t.Errorf("%s: clientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDescribeDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36":                         "Chrome on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0":           "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0":                                                                  "Firefox on Linux",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36":                   "Chrome on Android",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36":                           "Headless Chrome on Linux",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
	} {
		if got := describeDevice(ua); got != want {
			t.Errorf("describeDevice(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 90 * time.Second: "a minute ago", 5 * time.Minute: "5 minutes ago",
		80 * time.Minute: "an hour ago", 5 * time.Hour: "5 hours ago", 72 * time.Hour: "on 29 Nov 2026",
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%s) = %q, want %q", d, got, want)
		}
	}
}
