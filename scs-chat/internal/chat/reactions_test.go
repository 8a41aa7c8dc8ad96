package chat_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-chat/internal/chat/chattest"
)

func userEvent(t *testing.T, p contracts.Payload, version int64) cloudevent.Event {
	t.Helper()
	ev, err := contracts.NewEvent(p, version)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestABanEndsTheWaitAndTheConversationAndIsRecorded(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			s, _ := chattest.NewService(t, db)
			ctx := context.Background()
			handlers := s.UsersHandlers()
			run := func(ev cloudevent.Event) {
				t.Helper()
				if err := db.InTx(ctx, func(tx *sql.Tx) error { return handlers[ev.Type](ctx, tx, ev) }); err != nil {
					t.Fatalf("%s: %v", ev.Type, err)
				}
			}
			snapshot := func(id string, status contracts.Status) contracts.UserSnapshot {
				return contracts.UserSnapshot{UserID: id, DisplayName: "User " + id[:4], Role: contracts.RoleUser, Status: status, TokensValidAfter: time.Now().UTC()}
			}
			ada, bob, cyd := newID(), newID(), newID()
			for _, u := range []string{ada, bob, cyd} {
				run(userEvent(t, contracts.UserRegisteredV1{UserSnapshot: snapshot(u, contracts.StatusActive)}, 1))
			}
			after, err := s.LastAccessChange(ctx)
			if err != nil {
				t.Fatal(err)
			}
			join(t, s, ada, alex, 5)
			id := join(t, s, bob, twoKmEast, 5).ConversationID
			join(t, s, cyd, fiftyNorth, 5)

			run(userEvent(t, contracts.UserUpdatedV1{UserSnapshot: snapshot(ada, contracts.StatusBanned), Changes: []contracts.UserChange{contracts.UserChangeStatus}}, 2))
			run(userEvent(t, contracts.UserDeletedV1{UserID: cyd, DeletedAt: time.Now().UTC()}, 2))

			c, err := s.Conversation(ctx, bob, id)
			if err != nil || c.Active() {
				t.Errorf("bob's conversation with banned ada = %+v, %v; want ended", c, err)
			}
			if st, _ := s.Status(ctx, cyd); st.Waiting {
				t.Error("the deleted user still waits")
			}
			// Nobody is matched with the deleted user's stale index entry.
			if j := join(t, s, newID(), fiftyNorth, 5); j.ConversationID != "" {
				t.Error("a join was matched with the deleted user")
			}
			changes, err := s.AccessChanges(ctx, after)
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 2 || changes[0].UserID != ada || changes[0].PartnerID != bob || changes[0].ConversationID != id ||
				changes[1].UserID != cyd || changes[1].PartnerID != "" {
				t.Errorf("access changes = %+v, want ada's (ending the conversation with bob), then cyd's", changes)
			}
			if later, _ := s.AccessChanges(ctx, changes[1].Seq); len(later) != 0 {
				t.Errorf("after the last seq: %+v, want none", later)
			}
		})
	}
}
