package config_test

import (
	"testing"

	"github.com/scs-platform/shared-events/runtime/runtimeconfig/configtest"

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
	load := func(getenv func(string) string) error { _, err := config.Load(getenv); return err }
	configtest.RefusesDevelopmentDefaults(t, load, production(), []configtest.Default{
		// Unset, the event keys are the development ones.
		{Variable: "EVENT_SIGNING_KEY", Value: ""},
		{Variable: "USERS_EVENT_KEYS", Value: ""},
		{Variable: "USERS_FEED_TOKEN", Value: config.DefaultUsersFeedToken},
	})
}
