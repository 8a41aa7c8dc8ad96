package pages_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

type component func(ctx context.Context, w io.Writer) error

func (c component) Render(ctx context.Context, w io.Writer) error { return c(ctx, w) }

func TestRender(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	w := httptest.NewRecorder()
	pages.Render(w, httptest.NewRequest(http.MethodGet, "/", nil), logger, http.StatusTeapot, component(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<p>hello</p>")
		return err
	}))
	if w.Code != http.StatusTeapot || w.Body.String() != "<p>hello</p>" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("Render = %d %q %q", w.Code, w.Body.String(), w.Header().Get("Content-Type"))
	}

	// A view that fails half-way sends a clean 500, never half a page.
	w = httptest.NewRecorder()
	pages.Render(w, httptest.NewRequest(http.MethodGet, "/", nil), logger, http.StatusOK, component(func(ctx context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "<p>half")
		return errors.New("broken view")
	}))
	if w.Code != http.StatusInternalServerError || w.Body.String() != "Something went wrong on our side. Please try again.\n" {
		t.Errorf("Render of a failing view = %d %q", w.Code, w.Body.String())
	}
}

func TestCrossOrigin(t *testing.T) {
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	post := func(c *http.CrossOriginProtection, origin string) int {
		r := httptest.NewRequest(http.MethodPost, "http://internal:8081/users/logout", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		c.Handler(ok).ServeHTTP(w, r)
		return w.Code
	}
	var logged strings.Builder
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	c := pages.CrossOrigin("https://platform.example", deny, logger)
	// The public origin is trusted although the Host the system sees differs.
	if got := post(c, "https://platform.example"); got != http.StatusOK {
		t.Errorf("POST from the public origin = %d, want 200", got)
	}
	if got := post(c, "https://evil.example"); got != http.StatusForbidden {
		t.Errorf("POST from another site = %d, want the deny handler's 403", got)
	}
	if logged.Len() != 0 {
		t.Errorf("CrossOrigin logged %q for a good origin", logged.String())
	}
	// A malformed origin is logged, and the protection still refuses.
	c = pages.CrossOrigin("not an origin", deny, logger)
	if !strings.Contains(logged.String(), "trust the public origin") {
		t.Errorf("CrossOrigin did not log the malformed origin: %q", logged.String())
	}
	if got := post(c, "https://evil.example"); got != http.StatusForbidden {
		t.Errorf("POST from another site with a malformed trusted origin = %d, want 403", got)
	}
}
