// Package configtest checks, the same way in every system, that a system's
// configuration keeps development secrets out of production (see
// runtimeconfig.Parser.RefuseDevelopmentDefault).
package configtest

import (
	"maps"
	"strings"
	"testing"
)

// Default names a development default of a secret: the variable, and the
// value that selects the default ("" for unset, when unset is the default).
type Default struct {
	Variable, Value string
}

// RefusesDevelopmentDefaults checks that load accepts production, an
// environment fit for an https PUBLIC_URL, and that it refuses each of
// defaults put into it, with a message that names the variable and does not
// show the value, while the same environment with an http PUBLIC_URL is
// accepted.
func RefusesDevelopmentDefaults(t *testing.T, load func(getenv func(string) string) error, production map[string]string, defaults []Default) {
	t.Helper()
	if err := load(getenv(production)); err != nil {
		t.Fatalf("a production environment is refused: %v", err)
	}
	for _, d := range defaults {
		t.Run(d.Variable+"="+d.Value, func(t *testing.T) {
			env := maps.Clone(production)
			env[d.Variable] = d.Value
			err := load(getenv(env))
			if err == nil {
				t.Fatalf("accepted the development default of %s with an https PUBLIC_URL", d.Variable)
			}
			if !strings.Contains(err.Error(), d.Variable+" is the development default") {
				t.Errorf("error %q does not name %s as the development default", err, d.Variable)
			}
			for part := range strings.SplitSeq(d.Value, ",") {
				if part != "" && strings.Contains(err.Error(), part) {
					t.Errorf("error %q shows the value", err)
				}
			}
			env["PUBLIC_URL"] = "http://localhost:8080"
			if err := load(getenv(env)); err != nil {
				t.Errorf("with an http PUBLIC_URL the development default is refused: %v", err)
			}
		})
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}
