package usersreplica_test

import (
	"context"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

const (
	userID    = "01a19b53-741b-74c0-9095-71d6b11f635f"
	sessionID = "01a19b53-7aef-7893-aca7-3d0dae96154d"
)

type userRow struct {
	name, role, status string
	validAfterUS       int64
}

// TestUsersReplica applies a user's life to the replica through the consumer, on
// every database backend.
func TestUsersReplica(t *testing.T) {
	t.Parallel()
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			ctx := context.Background()
			db, c, apply := newReplica(t, backend.Open)
			user := func() userRow {
				t.Helper()
				var u userRow
				if err := db.QueryRowContext(ctx, `SELECT display_name, role, status, tokens_valid_after_us FROM users_replica WHERE user_id = $1`,
					userID).Scan(&u.name, &u.role, &u.status, &u.validAfterUS); err != nil {
					t.Fatal(err)
				}
				return u
			}
			t0 := time.Date(2026, 11, 2, 8, 15, 0, 123000000, time.UTC)
			snapshot := contracts.UserSnapshot{UserID: userID, DisplayName: "Ada Lovelace", Role: contracts.RoleUser,
				Status: contracts.StatusActive, TokensValidAfter: t0}

			apply(contracts.UserRegisteredV1{UserSnapshot: snapshot}, 1)
			if got, want := user(), (userRow{"Ada Lovelace", "user", "active", t0.UnixMicro()}); got != want {
				t.Errorf("after registration: %+v, want %+v", got, want)
			}

			banned := snapshot
			banned.Status = contracts.StatusBanned
			banned.TokensValidAfter = t0.Add(time.Hour)
			apply(contracts.UserUpdatedV1{UserSnapshot: banned, Changes: []contracts.UserChange{contracts.UserChangeStatus, contracts.UserChangeTokensValidAfter}}, 2)
			if got, want := user(), (userRow{"Ada Lovelace", "user", "banned", t0.Add(time.Hour).UnixMicro()}); got != want {
				t.Errorf("after the ban: %+v, want %+v", got, want)
			}

			apply(contracts.SessionRevokedV1{SessionID: sessionID, UserID: userID, RevokedAt: t0.Add(time.Hour)}, 1)
			var revoked int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM revoked_sessions WHERE session_id = $1 AND user_id = $2`, sessionID, userID).Scan(&revoked); err != nil || revoked != 1 {
				t.Errorf("revoked session rows = %d, %v; want 1", revoked, err)
			}

			deletedAt := t0.Add(2 * time.Hour)
			apply(contracts.UserDeletedV1{UserID: userID, DeletedAt: deletedAt}, 3)
			if got, want := user(), (userRow{"", "", "deleted", deletedAt.UnixMicro()}); got != want {
				t.Errorf("after deletion: %+v, want %+v", got, want)
			}
			// A late update must not bring the name back.
			late, err := contracts.NewEvent(contracts.UserUpdatedV1{UserSnapshot: snapshot, Changes: []contracts.UserChange{contracts.UserChangeDisplayName}}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := c.Apply(ctx, late); err != nil || out != consumer.Stale {
				t.Errorf("late update: %s, %v; want stale", out, err)
			}
			if got := user(); got.name != "" {
				t.Errorf("a late update brought the name back: %+v", got)
			}

			key := contracts.SigningKeyPublishedV1{KeyID: "k-2026-11", Algorithm: contracts.AlgorithmEdDSA,
				PublicKey: "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2Ic", NotBefore: t0, NotAfter: t0.AddDate(0, 3, 0)}
			apply(key, 1)
			var publicKey string
			var notAfterUS int64
			if err := db.QueryRowContext(ctx, `SELECT public_key, not_after_us FROM signing_keys WHERE kid = $1`, key.KeyID).Scan(&publicKey, &notAfterUS); err != nil {
				t.Fatal(err)
			}
			if publicKey != key.PublicKey || notAfterUS != key.NotAfter.UnixMicro() {
				t.Errorf("signing key = %q until %d, want %q until %d", publicKey, notAfterUS, key.PublicKey, key.NotAfter.UnixMicro())
			}
		})
	}
}

// TestUsersReplicaRefusesBadData checks that an event whose data breaks the
// contract fails its handler (and so ends in the dead-letter queue).
func TestUsersReplicaRefusesBadData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	if err := consumer.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := usersreplica.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	c := &consumer.Consumer{DB: db, Name: "test", Owner: "users", Handlers: usersreplica.Handlers()}
	ev, err := cloudevent.New("/scs-users", contracts.TypeUserRegisteredV1, userID, 1, map[string]string{"user_id": userID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, ev); err == nil {
		t.Fatal("a registration without a display name was applied")
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users_replica`).Scan(&n); err != nil || n != 0 {
		t.Errorf("users_replica rows = %d, %v; want 0", n, err)
	}
}

// newReplica opens a database, migrates the inbox and the replica into it and
// returns it with the consumer that applies scs-users' events to it, and a
// function that applies one payload through that consumer and wants it applied.
func newReplica(t *testing.T, open func(testing.TB) *sqldb.DB) (*sqldb.DB, *consumer.Consumer, func(contracts.Payload, int64)) {
	t.Helper()
	ctx := context.Background()
	db := open(t)
	if err := consumer.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := usersreplica.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	c := &consumer.Consumer{DB: db, Name: "test", Owner: "users", Handlers: usersreplica.Handlers()}
	apply := func(p contracts.Payload, version int64) {
		t.Helper()
		ev, err := contracts.NewEvent(p, version)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := c.Apply(ctx, ev); err != nil || out != consumer.Applied {
			t.Fatalf("apply %s: %s, %v", ev.Type, out, err)
		}
	}
	return db, c, apply
}
