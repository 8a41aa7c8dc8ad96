// Package journeys drives the whole platform, built from the three modules and
// started as processes behind the front door (Caddy running deploy/Caddyfile),
// in headless Chromium, as people would use it.
package journeys

import (
	"os"
	"testing"

	"github.com/scs-platform/e2e/platform"
)

func TestMain(m *testing.M) {
	code := m.Run()
	platform.Cleanup()
	os.Exit(code)
}
