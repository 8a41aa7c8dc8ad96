package routing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/runtime/health"
)

func serve(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func router(t *testing.T) (*chi.Mux, *health.RequestDurations) {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	durations := health.NewRequestDurations(routing.Pattern)
	r := routing.NewRouter(routing.Operations{Ready: ok, Metrics: ok, Durations: durations})
	routing.Prefix(r, "/demo", fstest.MapFS{
		"demo.css": {Data: []byte(".demo{}")},
		"site.css": {Data: []byte("/* a stale copy */")},
	})
	r.Get("/demo/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "page") })
	r.Post("/demo/form", func(w http.ResponseWriter, r *http.Request) {})
	r.MethodNotAllowed(routing.WithAllow(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	return r, durations
}

func TestPrefix(t *testing.T) {
	r, _ := router(t)
	if w := serve(t, r, http.MethodGet, "/demo"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/demo/" {
		t.Errorf("GET /demo = %d to %q, want 301 to /demo/", w.Code, w.Header().Get("Location"))
	}
	w := serve(t, r, http.MethodGet, "/demo/static/site.css")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "The platform's base look") {
		t.Errorf("GET /demo/static/site.css = %d %.60q, want the platform's site.css (not the system's stale copy)", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=3600" {
		t.Errorf("site.css Cache-Control = %q", got)
	}
	if w := serve(t, r, http.MethodGet, "/demo/static/demo.css"); w.Code != http.StatusOK || w.Body.String() != ".demo{}" {
		t.Errorf("GET /demo/static/demo.css = %d %q, want the system's own asset", w.Code, w.Body.String())
	}
	if w := serve(t, r, http.MethodGet, "/demo/static/"); w.Code != http.StatusNotFound {
		t.Errorf("GET /demo/static/ = %d, want 404 (no listing)", w.Code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if w := serve(t, r, http.MethodGet, path); w.Code != http.StatusOK {
			t.Errorf("GET %s = %d", path, w.Code)
		}
	}
}

func TestWithAllowNamesTheMethodsOfThePath(t *testing.T) {
	r, _ := router(t)
	for path, want := range map[string]string{"/demo/form": "POST", "/demo/": "GET"} {
		method := http.MethodGet
		if want == "GET" {
			method = http.MethodPost
		}
		w := serve(t, r, method, path)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != want {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", method, path, w.Code, w.Header().Get("Allow"), want)
		}
	}
}

func TestPatternKeepsTheTrailingSlash(t *testing.T) {
	r := chi.NewRouter()
	var got []string
	record := func(w http.ResponseWriter, req *http.Request) { got = append(got, routing.Pattern(req)) }
	r.Get("/demo", record)
	r.Get("/demo/", record)
	r.Route("/demo/items", func(r chi.Router) { r.Get("/{id}", record) })
	for _, p := range []string{"/demo", "/demo/", "/demo/items/7"} {
		serve(t, r, http.MethodGet, p)
	}
	want := []string{"/demo", "/demo/", "/demo/items/{id}"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("patterns = %q, want %q", got, want)
	}
}
