package config_test

import (
	"strings"
	"testing"

	"github.com/scs-platform/scs-chat/internal/config"
)

// production is an environment fit for an https PUBLIC_URL: every
// development default replaced.
func production() map[string]string {
	return map[string]string{
		"EVENT_SIGNING_KEY": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"USERS_EVENT_KEYS":  "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
		"PUBLIC_URL":        "https://platform.example",
		"USERS_FEED_TOKEN":  "chat-feed-token-of-its-own",
	}
}

func TestEachDevelopmentDefaultIsRefusedWithAnHTTPSPublicURL(t *testing.T) {
	if _, err := config.Load(getenv(production())); err != nil {
		t.Fatalf("a production environment is refused: %v", err)
	}
	tests := []struct {
		variable, value string
	}{
		// Unset, the event keys are the development ones.
		{"EVENT_SIGNING_KEY", ""},
		{"USERS_EVENT_KEYS", ""},
		{"USERS_FEED_TOKEN", config.DefaultUsersFeedToken},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			env := production()
			env[tt.variable] = tt.value
			_, err := config.Load(getenv(env))
			if err == nil {
				t.Fatalf("accepted the development default of %s with an https PUBLIC_URL", tt.variable)
			}
			if !strings.Contains(err.Error(), tt.variable+" is the development default") {
				t.Errorf("error %q does not name %s as the development default", err, tt.variable)
			}
			if tt.value != "" && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q shows the value", err)
			}
			env["PUBLIC_URL"] = "http://localhost:8080"
			if _, err := config.Load(getenv(env)); err != nil {
				t.Errorf("with an http PUBLIC_URL the development default is refused: %v", err)
			}
		})
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}
