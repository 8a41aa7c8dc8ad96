package topology_test

import (
	"reflect"
	"regexp"
	"testing"

	"github.com/scs-platform/shared-events/eventing/topology"
)

// TestChatsPermissionsNameItsOwnResourcesOnly spells out one identity's
// permissions and checks them against names: its own, and its neighbours'.
func TestChatsPermissionsNameItsOwnResourcesOnly(t *testing.T) {
	chat, ok := topology.PlatformIdentity("chat")
	if !ok {
		t.Fatal("the platform has no chat identity")
	}
	got := chat.Permissions()
	want := topology.Permissions{
		Configure: `^(chat\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$`,
		Write:     `^(chat\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$`,
		Read:      `^(users\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$`,
		Topics: []topology.TopicPermission{
			{Exchange: "chat.events", Write: `^chat\.`, Read: `^chat\.`},
			{Exchange: "users.events", Write: `^users\.`, Read: `^users\.`},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chat's permissions:\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct {
		pattern, name string
		matches       bool
	}{
		{got.Configure, "chat.events", true},
		{got.Configure, "chat.from-users", true},
		{got.Configure, "chat.from-users.dead", true},
		{got.Configure, topology.InstanceQueue("chat.live", "abc234"), true},
		{got.Configure, "users.events", false},
		{got.Configure, "cards.from-users", false},
		{got.Configure, "chat.from-cards", false},
		{got.Configure, "amq.gen-abc", false},
		{got.Configure, "chat.events.x", false},
		{got.Write, "amq.default", false},
		{got.Write, "users.events", false},
		{got.Read, "users.events", true},
		{got.Read, "chat.events", false},
		{got.Read, "cards.from-users", false},
	} {
		if regexp.MustCompile(c.pattern).MatchString(c.name) != c.matches {
			t.Errorf("%s matches %q: %v, want %v", c.pattern, c.name, !c.matches, c.matches)
		}
	}
}

// TestAnIdentityThatConsumesNothingReadsNothing: an identity that consumes
// nothing may touch no queue and read nothing.
func TestAnIdentityThatConsumesNothingReadsNothing(t *testing.T) {
	p := topology.Identity{System: "audit"}.Permissions()
	if p.Read != "^$" {
		t.Errorf("read = %q, want ^$ (nothing)", p.Read)
	}
	if p.Configure != `^(audit\.events|audit\.dead-letters)$` {
		t.Errorf("configure = %q", p.Configure)
	}
}
