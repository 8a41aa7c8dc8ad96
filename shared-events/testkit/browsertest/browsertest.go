// Package browsertest drives a real headless Chromium for the systems' browser
// tests: each test gets a browser of its own, and as many independent users in
// it as it needs, each with its own cookies (a browser context, like a private
// window).
//
// Chromium is Debian's (/usr/bin/chromium; CHROMIUM overrides). When it is
// missing, a test is skipped on a laptop and fails under CI=true, which
// installs it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// Timeout bounds every step of a browser test, so that a page that never
// shows what a test waits for fails the test instead of hanging it.
const Timeout = 15 * time.Second

// Browser is one Chromium process.
type Browser struct {
	t   *testing.T
	ctx context.Context
}

// New starts a headless Chromium with an empty profile, stopped when the test
// ends.
func New(t *testing.T) *Browser {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		servicetest.Unavailable(t, "Chromium ("+path+")", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Root in a container has no sandbox to drop into.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(412, 915), // a phone: the pages are mobile first
		// The machine's network is closed: without these, Chromium keeps trying
		// to reach Google's services, and its refused connections pile up.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	// The first Run starts the browser, and the browser lives as long as the
	// context of that Run: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{t: t, ctx: ctx}
}

// User is one person in the browser: a tab in a browser context of its own,
// so that two users never share cookies.
type User struct {
	t    *testing.T
	ctx  context.Context
	name string
}

// User opens a tab for a new user, named for the failure messages.
func (b *Browser) User(name string) *User {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("open a tab for %s: %v", name, err)
	}
	return &User{t: b.t, ctx: ctx, name: name}
}

// Context is the user's chromedp context, for actions this package lacks.
func (u *User) Context() context.Context { return u.ctx }

func (u *User) step(what string, a chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		u.t.Fatalf("%s: %s: %v (at %s)", u.name, what, err, u.Location())
	}
}

// TestID is the CSS selector of the element whose data-testid is id.
func TestID(id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id))
}

// Open loads url and waits for the page.
func (u *User) Open(url string) {
	u.t.Helper()
	u.step("open "+url, chromedp.Navigate(url))
}

// Fill replaces the text of the field with the id with value, typing it key by
// key as a person would.
func (u *User) Fill(id, value string) {
	u.t.Helper()
	// Emptied by a script rather than Clear, which fails on an empty textarea.
	empty := chromedp.Evaluate[bool](fmt.Sprintf(`(el => { el.value = ""; return true })(document.getElementById(%q))`, id))
	u.step("fill #"+id, chromedp.Steps(chromedp.WaitReady(chromedp.ID(id)), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := empty(ctx, t)
		return err
	}), chromedp.SendKeys(chromedp.ID(id), value)))
}

// Submit clicks the element with the data-testid and waits for the page the
// click leads to.
func (u *User) Submit(testID string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(TestID(testID))); err != nil {
		u.t.Fatalf("%s: click %s: %v (at %s)", u.name, testID, err, u.Location())
	}
}

// Click clicks the element with the data-testid and does not wait for a page:
// for what a script handles in the page (a message sent over a websocket).
func (u *User) Click(testID string) {
	u.t.Helper()
	u.step("click "+testID, chromedp.Click(TestID(testID)))
}

// Text returns the text of the element with the data-testid, once it is
// visible.
func (u *User) Text(testID string) string {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(TestID(testID))); err != nil {
		u.t.Fatalf("%s: wait for %s: %v (at %s)", u.name, testID, err, u.Location())
	}
	s, err := chromedp.Run(ctx, chromedp.Text(TestID(testID)))
	if err != nil {
		u.t.Fatalf("%s: read %s: %v", u.name, testID, err)
	}
	return s
}

// Count returns how many elements have the data-testid.
func (u *User) Count(testID string) int {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('[data-testid=%q]').length`, testID)))
	if err != nil {
		u.t.Fatalf("%s: count %s: %v", u.name, testID, err)
	}
	return n
}

// Value returns the current value of the field with the id.
func (u *User) Value(id string) string {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		u.t.Fatalf("%s: value of #%s: %v", u.name, id, err)
	}
	return v
}

// Location is the URL of the user's page.
func (u *User) Location() string {
	ctx, cancel := context.WithTimeout(u.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// Screenshot saves the whole page as a PNG in the directory that the
// SCREENSHOTS variable names, if it names one: the README's pictures come
// from the browser tests, so that they show what the pages really look like.
func (u *User) Screenshot(name string) {
	u.t.Helper()
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(u.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Fatalf("%s: screenshot: %v", u.name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// Reload loads the page again.
func (u *User) Reload() {
	u.t.Helper()
	u.step("reload", chromedp.Reload())
}
