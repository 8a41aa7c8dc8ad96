// Package shape keeps the three systems the same house: each keeps its own
// look and its own logic, but the parts they share (the frame of the layout,
// a form's field) must not drift apart, and what the kit provides once (the
// base stylesheet, the technical plumbing) must not be copied back into a
// system.
package shape

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var systems = []string{"users", "chat", "cards"}

// root is the repository, seen from e2e/shape.
const root = "../.."

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// between is the text of s from the line holding begin up to, not including,
// the line holding end, with the system's own prefix and name made neutral.
func between(t *testing.T, system, s, begin, end string) string {
	t.Helper()
	i := strings.Index(s, begin)
	if i < 0 {
		t.Fatalf("scs-%s: no %q", system, begin)
	}
	i = strings.LastIndex(s[:i], "\n") + 1
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("scs-%s: no %q after %q", system, end, begin)
	}
	return strings.ReplaceAll(s[i:i+j], "/"+system+"/", "/SYSTEM/")
}

// sameIn fails unless part is the same in every system, naming the first line
// where one differs from scs-users.
func sameIn(t *testing.T, what string, part func(system string) string) {
	t.Helper()
	want := part(systems[0])
	for _, s := range systems[1:] {
		got := part(s)
		if got == want {
			continue
		}
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		for n := 0; n < max(len(wl), len(gl)); n++ {
			w, g := "", ""
			if n < len(wl) {
				w = wl[n]
			}
			if n < len(gl) {
				g = gl[n]
			}
			if w != g {
				t.Errorf("%s differs between scs-%s and scs-%s at its line %d:\n  %s: %q\n  %s: %q",
					what, systems[0], s, n+1, systems[0], w, s, g)
				break
			}
		}
	}
}

func TestTheBaseStylesheetIsServedFromTheKit(t *testing.T) {
	// routing.Prefix serves shared-events/httpkit/pages/static/site.css to
	// every system; a system's own copy would never be served, only drift.
	for _, s := range systems {
		if _, err := os.Stat(filepath.Join(root, "scs-"+s, "internal/web/static/site.css")); err == nil {
			t.Errorf("scs-%s has its own static/site.css: the platform's is in shared-events/httpkit/pages/static; a system's own rules go in its %s.css", s, s)
		}
	}
}

func TestTheLayoutsShareTheirFrame(t *testing.T) {
	layout := func(s string) string { return read(t, "scs-"+s+"/internal/web/layout.templ") }
	sameIn(t, "the navigation between the systems", func(s string) string {
		return strings.ReplaceAll(between(t, s, layout(s), "var navLinks = []navLink{", "\n}\n"), "/SYSTEM/", "/"+s+"/")
	})
	sameIn(t, "the head of the layout, up to the base stylesheet", func(s string) string {
		return between(t, s, layout(s), "<!DOCTYPE html>", `<link rel="stylesheet" href="/`+s+`/static/site.css"/>`)
	})
	sameIn(t, "the skip link and the systems' navigation", func(s string) string {
		return between(t, s, layout(s), `<a class="skip" href="#main">`, "</nav>")
	})
	sameIn(t, "a form's field (type Field and templ field)", func(s string) string {
		return between(t, s, layout(s), "// Field is one input", "// ErrorView is")
	})
	for _, s := range systems {
		if !strings.Contains(layout(s), `<link rel="stylesheet" href="/`+s+`/static/site.css"/>`) {
			t.Errorf("scs-%s's layout does not load its site.css", s)
		}
	}
}

// copies are the helpers the kit (shared-events) provides once; a system that
// defines one again has copied it back.
var copies = []struct {
	pattern *regexp.Regexp
	use     string
}{
	{regexp.MustCompile(`func RoutePattern\(`), "routing.Pattern"},
	{regexp.MustCompile(`func allowedMethods\(`), "routing.WithAllow"},
	{regexp.MustCompile(`func render\(w http.ResponseWriter`), "pages.Render"},
	{regexp.MustCompile(`http\.NewCrossOriginProtection\(\)`), "pages.CrossOrigin"},
	{regexp.MustCompile(`&http\.Server\{`), "serve.NewServer"},
	{regexp.MustCompile(`r\.Method\(http\.MethodGet, "/healthz"`), "routing.NewRouter"},
	{regexp.MustCompile(`for _, migrate := range`), "sqldb.DB.Apply"},
	{regexp.MustCompile(`func micros\(`), "time.Time's UnixMicro"},
	{regexp.MustCompile(`\.Dialect == sqldb\.`), "what sqldb says of the engine (LockTx, ForUpdateOf, ChainsWrites...)"},
}

func TestNoSystemCopiesTheKit(t *testing.T) {
	for _, s := range systems {
		eachSource(t, filepath.Join(root, "scs-"+s), func(path, _ string, src []byte) {
			for _, c := range copies {
				if loc := c.pattern.FindIndex(src); loc != nil {
					line := bytes.Count(src[:loc[0]], []byte("\n")) + 1
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s:%d has its own copy of what shared-events provides: use %s", rel, line, c.use)
				}
			}
		})
	}
}

// eachSource calls fn with every Go file below dir that is not a test: its
// path, its path relative to dir (with slashes) and its text.
func eachSource(t *testing.T, dir string, fn func(path, rel string, src []byte)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fn(path, filepath.ToSlash(rel), src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// httpPackages are the packages of a system that speak HTTP: its web package,
// and scs-chat's live, the websocket transport of its pages. The packages of
// what a system owns answer with results and errors; web decides the status.
var httpPackages = map[string]bool{"cmd": true, "web": true, "live": true}

func TestNoNetHTTPBelowWeb(t *testing.T) {
	for _, s := range systems {
		eachSource(t, filepath.Join(root, "scs-"+s, "internal"), func(_, rel string, src []byte) {
			pkg, _, _ := strings.Cut(rel, "/")
			if !httpPackages[pkg] && bytes.Contains(src, []byte(`"net/http"`)) {
				t.Errorf("scs-%s/internal/%s imports net/http: what a system owns answers with results and errors, and web decides the status", s, rel)
			}
		})
	}
}
