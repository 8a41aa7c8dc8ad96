package config_test

import (
	"testing"

	"github.com/scs-platform/shared-events/runtime/runtimeconfig/configtest"

	"github.com/scs-platform/scs-users/internal/config"
)

// production is an environment fit for an https PUBLIC_URL: every
// development default replaced.
func production() map[string]string {
	return map[string]string{
		"EVENT_SIGNING_KEY":  "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"CHAT_EVENT_KEYS":    "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
		"PUBLIC_URL":         "https://platform.example",
		"FEED_TOKENS":        "chat-feed-token-of-its-own,cards-feed-token-of-its-own",
		"KEY_ENCRYPTION_KEY": "cHJvZHVjdGlvbi1rZXktZW5jcnlwdGlvbi1rZXkhISE=",
	}
}

func TestEachDevelopmentDefaultIsRefusedWithAnHTTPSPublicURL(t *testing.T) {
	load := func(getenv func(string) string) error { _, err := config.Load(getenv); return err }
	configtest.RefusesDevelopmentDefaults(t, load, production(), []configtest.Default{
		// Unset, the event keys are the development ones.
		{Variable: "EVENT_SIGNING_KEY", Value: ""},
		{Variable: "CHAT_EVENT_KEYS", Value: ""},
		// Unset takes the development key.
		{Variable: "KEY_ENCRYPTION_KEY", Value: ""},
		{Variable: "FEED_TOKENS", Value: config.DefaultFeedTokens},
		{Variable: "FEED_TOKENS", Value: "chat-feed-token-of-its-own," + config.DefaultFeedTokens},
	})
}
