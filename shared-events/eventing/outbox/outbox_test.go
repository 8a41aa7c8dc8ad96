package outbox_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func newEvent(t *testing.T, subject string, v int64) cloudevent.Event {
	ev, err := cloudevent.New("/scs-users", "users.user.updated.v1", subject, v, map[string]string{"s": subject})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestAppendReadAndBacklog(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			o := outbox.New(db, eventsig.DevelopmentSigner("users"))
			if err := o.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			old := newEvent(t, "a", 1)
			old.Time = time.Now().Add(-90 * time.Second)
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				return o.Append(ctx, tx, old, newEvent(t, "a", 2), newEvent(t, "b", 1))
			})
			if err != nil {
				t.Fatal(err)
			}
			// A rolled-back append leaves nothing behind.
			_ = db.InTx(ctx, func(tx *sql.Tx) error {
				if err := o.Append(ctx, tx, newEvent(t, "c", 1)); err != nil {
					t.Fatal(err)
				}
				return sql.ErrTxDone
			})

			events, head, err := o.Read(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 3 || head != events[2].Sequence {
				t.Fatalf("read %d events with head %d, want 3 ending at the head", len(events), head)
			}
			for i, ev := range events {
				if i > 0 && ev.Sequence <= events[i-1].Sequence {
					t.Errorf("sequence %d follows %d", ev.Sequence, events[i-1].Sequence)
				}
			}
			if events[0].ID != old.ID || !events[0].Time.Equal(old.Time.Truncate(time.Microsecond)) || string(events[0].Data) != string(old.Data) {
				t.Errorf("first event read back as %+v, want %+v", events[0], old)
			}
			page, _, err := o.Read(ctx, events[0].Sequence, 1)
			if err != nil || len(page) != 1 || page[0].ID != events[1].ID {
				t.Errorf("Read(after first, 1) = %v, %v; want the second event", page, err)
			}

			count, oldest, err := o.Backlog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if count != 3 || oldest < 90*time.Second || oldest > 5*time.Minute {
				t.Errorf("backlog %d, oldest %s; want 3 and about 90 s", count, oldest)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(o)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP outbox_backlog Events committed but not yet confirmed by the broker.
# TYPE outbox_backlog gauge
outbox_backlog 3
`), "outbox_backlog"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestAppendTakesTheTraceParentOfItsContext checks that an event appended
// while a span is in the context carries that span's traceparent, and that an
// event that already carries one, or one appended without a span, keeps its
// own.
func TestAppendTakesTheTraceParentOfItsContext(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			o := outbox.New(db, eventsig.DevelopmentSigner("users"))
			if err := o.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
			spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
			ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
			}))
			const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			fromContext, keepsOwn, withoutSpan := newEvent(t, "a", 1), newEvent(t, "b", 1), newEvent(t, "c", 1)
			keepsOwn.TraceParent = own
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return o.Append(ctx, tx, fromContext, keepsOwn) }); err != nil {
				t.Fatal(err)
			}
			bg := context.Background()
			if err := db.InTx(bg, func(tx *sql.Tx) error { return o.Append(bg, tx, withoutSpan) }); err != nil {
				t.Fatal(err)
			}
			events, _, err := o.Read(bg, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				fromContext.ID: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				keepsOwn.ID:    own,
				withoutSpan.ID: "",
			}
			if len(events) != len(want) {
				t.Fatalf("read %d events, want %d", len(events), len(want))
			}
			for _, ev := range events {
				if ev.TraceParent != want[ev.ID] {
					t.Errorf("event of %s has traceparent %q, want %q", ev.Subject, ev.TraceParent, want[ev.ID])
				}
			}
		})
	}
}

func TestAppendRefusesAnInvalidEvent(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	ctx := context.Background()
	o := outbox.New(db, eventsig.DevelopmentSigner("users"))
	if err := o.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	bad := newEvent(t, "a", 1)
	bad.AggregateVersion = 0
	err := db.InTx(ctx, func(tx *sql.Tx) error { return o.Append(ctx, tx, bad) })
	if err == nil || !strings.Contains(err.Error(), "aggregateversion") {
		t.Fatalf("Append = %v, want a refusal naming aggregateversion", err)
	}
}

func TestForget(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			o := outbox.New(db, eventsig.DevelopmentSigner("users"))
			if err := o.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			other, err := cloudevent.New("/scs-users", "users.session.revoked.v1", "a", 1, map[string]string{"s": "a"})
			if err != nil {
				t.Fatal(err)
			}
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				return o.Append(ctx, tx, newEvent(t, "a", 1), newEvent(t, "b", 1), newEvent(t, "a", 2), other, newEvent(t, "a", 3))
			})
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				n, err = o.Forget(ctx, tx, "users.user", "a", 3)
				return err
			})
			if err != nil || n != 2 {
				t.Fatalf("Forget = %d, %v; want 2 events forgotten", n, err)
			}
			events, _, err := o.Read(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, ev := range events {
				left = append(left, fmt.Sprintf("%s %s v%d", ev.Type, ev.Subject, ev.AggregateVersion))
			}
			want := []string{"users.user.updated.v1 b v1", "users.session.revoked.v1 a v1", "users.user.updated.v1 a v3"}
			if strings.Join(left, ", ") != strings.Join(want, ", ") {
				t.Errorf("left after Forget: %v, want %v", left, want)
			}
		})
	}
}

// insertRaw writes a row into the outbox as someone with write access to the
// database alone would: no key, so no valid signature.
func insertRaw(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ev cloudevent.Event, signatureKey, signature string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO outbox
		(event_id, source, type, subject, occurred_at_us, aggregate_version, traceparent, data, signature_key, signature)
		VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9)`,
		ev.ID, ev.Source, ev.Type, ev.Subject, ev.Time.UnixMicro(), ev.AggregateVersion, string(ev.Data), signatureKey, signature); err != nil {
		t.Fatal(err)
	}
}

func TestEventsAreSignedAsTheyAreStored(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			signer := eventsig.DevelopmentSigner("users")
			o := outbox.New(db, signer)
			if err := o.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return o.Append(ctx, tx, newEvent(t, "a", 1)) }); err != nil {
				t.Fatal(err)
			}
			insertRaw(t, db, newEvent(t, "b", 1), "", "")
			events, _, err := o.Read(ctx, 0, 10)
			if err != nil || len(events) != 2 {
				t.Fatalf("Read = %d events, %v", len(events), err)
			}
			if err := signer.Keys().Verify(events[0]); err != nil {
				t.Errorf("the appended event does not verify: %v", err)
			}
			// The outbox passes on what it holds; the consumers refuse it.
			if err := signer.Keys().Verify(events[1]); err == nil {
				t.Error("a row written into the table without the key verifies")
			}
			// Nor does a start sign it: only the rows from before signatures are.
			if n, err := o.SignStored(ctx); err != nil || n != 0 {
				t.Errorf("SignStored = %d, %v; want nothing signed", n, err)
			}
		})
	}
}

func TestTheRowsFromBeforeSignaturesAreSignedOnce(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	ctx := context.Background()
	signer := eventsig.DevelopmentSigner("users")
	o := outbox.New(db, signer)
	if err := o.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// As the migration finds a table of unsigned rows.
	insertRaw(t, db, newEvent(t, "old-1", 1), "", "")
	insertRaw(t, db, newEvent(t, "old-2", 1), "", "")
	if _, err := db.ExecContext(ctx, `UPDATE outbox_unsigned_through SET seq = (SELECT MAX(seq) FROM outbox)`); err != nil {
		t.Fatal(err)
	}
	insertRaw(t, db, newEvent(t, "later", 1), "", "")
	if n, err := o.SignStored(ctx); err != nil || n != 2 {
		t.Fatalf("SignStored = %d, %v; want the two old rows", n, err)
	}
	if n, err := o.SignStored(ctx); err != nil || n != 0 {
		t.Errorf("SignStored again = %d, %v; want nothing", n, err)
	}
	events, _, err := o.Read(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		err := signer.Keys().Verify(ev)
		if ev.Subject == "later" && err == nil {
			t.Error("a row without a signature stored after the migration was signed")
		}
		if ev.Subject != "later" && err != nil {
			t.Errorf("old row %s: %v", ev.Subject, err)
		}
	}
}

func TestResignMovesTheOwnersHistoryToItsNewKeyAndNothingElse(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			old, next, stranger := newSigner(t), newSigner(t), newSigner(t)
			before := outbox.New(db, old)
			if err := before.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				return before.Append(ctx, tx, newEvent(t, "a", 1), newEvent(t, "b", 1))
			}); err != nil {
				t.Fatal(err)
			}
			foreign, err := stranger.Sign(newEvent(t, "c", 1))
			if err != nil {
				t.Fatal(err)
			}
			insertRaw(t, db, foreign, foreign.SignatureKey, foreign.Signature)
			after := outbox.New(db, next)
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return after.Append(ctx, tx, newEvent(t, "d", 1)) }); err != nil {
				t.Fatal(err)
			}

			resigned, refused, err := after.Resign(ctx, old.Keys())
			if err != nil || resigned != 2 || refused != 1 {
				t.Fatalf("Resign = %d resigned, %d refused, %v; want 2 and 1", resigned, refused, err)
			}
			events, _, err := after.Read(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range events {
				err := next.Keys().Verify(ev)
				if ev.Subject == "c" && err == nil {
					t.Error("Resign signed a row the old key never signed")
				}
				if ev.Subject != "c" && err != nil {
					t.Errorf("%s does not verify with the new key: %v", ev.Subject, err)
				}
			}
		})
	}
}

func newSigner(t *testing.T) *eventsig.Signer {
	t.Helper()
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	s, err := eventsig.NewSigner("users", seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
