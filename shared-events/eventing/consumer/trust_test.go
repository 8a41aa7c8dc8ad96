package consumer_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestEventsTheOwnerDidNotSignAreDeadLetteredAndNeverApplied plays whoever holds
// a broker credential: every event below reaches the consumer's queue, and none
// of it may reach the replica.
func TestEventsTheOwnerDidNotSignAreDeadLetteredAndNeverApplied(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	c := w.newConsumer()
	w.declare(c)

	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	forger, err := eventsig.NewSigner(w.owner, seed)
	must(t, err)
	owner := eventsig.DevelopmentSigner(w.owner)

	unsigned := w.event("unsigned", 1)
	unsigned.Sequence = 1
	forged := w.event("forged", 1)
	forged.Sequence = 2
	forged, err = forger.Sign(forged)
	must(t, err)
	// Signed by the owner, then altered: a higher version to make every later
	// genuine event stale.
	altered := w.event("altered", 1)
	altered.Sequence = 3
	altered, err = owner.Sign(altered)
	must(t, err)
	altered.AggregateVersion = 1000
	// The owner's key vouches only for the owner's types: an event of another
	// system signed with it (which the signer itself refuses to make) is refused.
	foreign := w.event("foreign", 1)
	foreign.Sequence = 4
	foreign, err = owner.Sign(foreign)
	must(t, err)
	foreign.Type, foreign.Source = "other.thing.changed.v1", "/scs-other"

	for _, ev := range []cloudevent.Event{unsigned, forged, altered, foreign} {
		body, err := ev.MarshalJSON()
		must(t, err)
		w.publishRaw(body)
	}
	genuine := w.event("altered", 2)
	w.publishRaw(sequenced(genuine, 5))

	start(t, c.Run)
	dlq := topology.DeadLetterQueue(c.Queue().Name())
	servicetest.Eventually(t, 20*time.Second, "four dead letters and the genuine event applied", func() bool {
		return w.queueDepth(dlq) == 4 && things(t, w.replica)["altered"] == 2
	})
	if got := things(t, w.replica); len(got) != 1 {
		t.Errorf("replica holds %v; only the genuine event may be applied", got)
	}
	reasons := deadLetterReasons(t, dlq)
	for _, want := range []string{
		"signature: not signed: every event of " + w.owner + " must be signed",
		"signature: signed by key \"" + forger.KeyID() + "\", not one of the pinned keys of " + w.owner,
		"signature: signature does not match the content: forged, or altered after " + w.owner + " signed it",
		"signature: not an event of " + w.owner + ": its type belongs to another owner",
	} {
		if !strings.Contains(reasons, want) {
			t.Errorf("dead letter reasons\n%s\ndo not say %q", reasons, want)
		}
	}
}

func TestAConsumerWithoutPinnedKeysRefusesToRun(t *testing.T) {
	t.Parallel()
	c := &consumer.Consumer{Name: "chat", Owner: "users"}
	err := c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no keys of users are pinned") {
		t.Errorf("Run without keys = %v, want a refusal", err)
	}
	c = &consumer.Consumer{Name: "chat", Owner: "users", Keys: eventsig.DevelopmentKeys("cards")}
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "are cards's, not users's") {
		t.Errorf("Run with another owner's keys = %v, want a refusal", err)
	}
}

// TestAdmitHoldsSignedEventsToTheOwnersContract: a signature says who sent an
// event, not that it is sound. An owner that is itself compromised (or has a
// bug) still cannot push past its published contract into a replica.
func TestAdmitHoldsSignedEventsToTheOwnersContract(t *testing.T) {
	t.Parallel()
	c := &consumer.Consumer{Name: "chat", Owner: "users", Keys: eventsig.DevelopmentKeys("users"),
		Handlers: map[string]consumer.Handler{contracts.TypeUserUpdatedV1: nil, contracts.TypeSessionRevokedV1: nil}}
	snapshot := func(mutate func(map[string]any)) map[string]any {
		d := map[string]any{"user_id": "01a19b53-741b-74c0-9095-71d6b11f635f", "display_name": "Ada", "role": "user",
			"status": "active", "tokens_valid_after": "2026-01-02T15:04:05Z", "changes": []string{"display_name"}}
		mutate(d)
		return d
	}
	userID := "01a19b53-741b-74c0-9095-71d6b11f635f"
	for _, tc := range []struct {
		name, typ, subject string
		data               any
		want               string // "" admits
	}{
		{"a sound update", contracts.TypeUserUpdatedV1, userID, snapshot(func(map[string]any) {}), ""},
		{"a name of 20 MB", contracts.TypeUserUpdatedV1, userID, snapshot(func(d map[string]any) {
			d["display_name"] = strings.Repeat("x", 20<<20)
		}), `field "display_name" has 20971520 characters, more than 50`},
		{"a role the contract does not have", contracts.TypeUserUpdatedV1, userID, snapshot(func(d map[string]any) { d["role"] = "root" }),
			`field "role" is "root", must be "user" or "admin"`},
		{"a subject that is not the aggregate in the data", contracts.TypeUserUpdatedV1, "0190d8f2-0000-7000-8000-000000000000",
			snapshot(func(map[string]any) {}), `field "user_id" is "` + userID + `" but the event's subject is`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := cloudevent.New("/scs-users", tc.typ, tc.subject, 1, tc.data)
			must(t, err)
			ev.Sequence = 1
			ev, err = eventsig.DevelopmentSigner("users").Sign(ev)
			must(t, err)
			kind, err := c.Admit(ev)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Admit = %s, %v; want admitted", kind, err)
				}
				return
			}
			if err == nil || kind != "contract" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Admit = %q, %v; want a contract refusal saying %q", kind, err, tc.want)
			}
		})
	}
	// A type the consumer has no handler for is acknowledged as ignored later,
	// whatever its data: only its signature is checked.
	ev, err := cloudevent.New("/scs-users", contracts.TypeUserRegisteredV1, userID, 1, json.RawMessage(`{"anything":1}`))
	must(t, err)
	ev.Sequence = 1
	ev, err = eventsig.DevelopmentSigner("users").Sign(ev)
	must(t, err)
	if kind, err := c.Admit(ev); err != nil {
		t.Errorf("Admit of a signed event of an unhandled type = %s, %v; want admitted (and then ignored)", kind, err)
	}
}
