package pages_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

func TestParseForm(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       error
	}{
		{"a form", "name=Ada&text=caf%C3%A9", nil},
		{"invalid UTF-8", "name=%FF", pages.ErrNotText},
		{"a NUL", "name=a%00b", pages.ErrNotText},
		{"a key that is not text", "%FF=1", pages.ErrNotText},
		{"too large", "name=" + strings.Repeat("a", 100), pages.ErrTooLarge},
		{"not a form", "name=%zz", pages.ErrUnreadable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			err := pages.ParseForm(httptest.NewRecorder(), r, 64)
			if !errors.Is(err, tc.want) {
				t.Errorf("ParseForm = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTextOnly(t *testing.T) {
	h := pages.TextOnly(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for target, want := range map[string]int{
		"/chat/?q=caf%C3%A9": 200,
		"/chat/?q=%FF":       400,
		"/chat/%FF":          400,
		"/chat/?q=a%00":      400,
		"/chat/?%FF=1":       400,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", target, w.Code, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	pages.SecurityHeaders(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	for k, v := range map[string]string{"Content-Security-Policy": pages.ContentSecurityPolicy, "X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	w = httptest.NewRecorder()
	pages.StaticFiles(fstest.MapFS{"site.css": {Data: []byte("body{}")}}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/site.css", nil))
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=3600" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("an asset = %d with %v", w.Code, w.Header())
	}
	for _, dir := range []string{"/", ""} {
		w = httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = dir
		pages.StaticFiles(fstest.MapFS{"site.css": {Data: []byte("body{}")}}).ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("the directory %q = %d, want 404 (no listing)", dir, w.Code)
		}
	}
}
