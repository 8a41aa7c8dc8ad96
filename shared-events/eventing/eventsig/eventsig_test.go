package eventsig_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
)

func newSigner(t *testing.T, owner string) *eventsig.Signer {
	t.Helper()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	s, err := eventsig.NewSigner(owner, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func event(t *testing.T) cloudevent.Event {
	t.Helper()
	ev, err := cloudevent.New("/scs-users", "users.user.updated.v1", "u1", 3, map[string]string{"display_name": "Ada <&>"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Sequence = 42
	return ev
}

// wire sends ev through its JSON encoding, as the broker and the feed do.
func wire(t *testing.T, ev cloudevent.Event) cloudevent.Event {
	t.Helper()
	body, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := cloudevent.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestASignedEventVerifiesAfterTheWireAndNotAfterAnyChange(t *testing.T) {
	t.Parallel()
	s := newSigner(t, "users")
	signed, err := s.Sign(event(t))
	if err != nil {
		t.Fatal(err)
	}
	keys := s.Keys()
	if err := keys.Verify(wire(t, signed)); err != nil {
		t.Fatalf("the owner's own event is refused: %v", err)
	}
	for name, change := range map[string]func(*cloudevent.Event){
		"data":             func(e *cloudevent.Event) { e.Data = []byte(`{"display_name":"Eve"}`) },
		"aggregateversion": func(e *cloudevent.Event) { e.AggregateVersion = 1000 },
		"subject":          func(e *cloudevent.Event) { e.Subject = "u2" },
		"time":             func(e *cloudevent.Event) { e.Time = e.Time.Add(1) },
		"id":               func(e *cloudevent.Event) { e.ID = "0190d8f2-0000-7000-8000-000000000000" },
		"type":             func(e *cloudevent.Event) { e.Type = "users.user.registered.v1" },
		"traceparent":      func(e *cloudevent.Event) { e.TraceParent = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" },
	} {
		t.Run(name, func(t *testing.T) {
			ev := signed
			change(&ev)
			err := keys.Verify(wire(t, ev))
			if err == nil || !strings.Contains(err.Error(), "signature does not match the content") {
				t.Errorf("Verify of an event whose %s changed after signing = %v; want a refusal", name, err)
			}
		})
	}
}

// The sequence is the outbox's, assigned as it stores the signed event; no
// consumer applies it (it pages the feed), so it is not signed.
func TestTheSequenceIsNotSigned(t *testing.T) {
	t.Parallel()
	s := newSigner(t, "users")
	signed, err := s.Sign(event(t))
	if err != nil {
		t.Fatal(err)
	}
	signed.Sequence = 43
	if err := s.Keys().Verify(wire(t, signed)); err != nil {
		t.Errorf("Verify after the outbox numbered the event = %v", err)
	}
}

func TestVerifyRefusesWhatTheOwnerDidNotSign(t *testing.T) {
	t.Parallel()
	owner, other := newSigner(t, "users"), newSigner(t, "users")
	keys := owner.Keys()
	forged, _ := other.Sign(event(t))
	unsigned := event(t)
	moved, _ := owner.Sign(event(t))
	moved.SignatureKey = other.KeyID()
	garbled, _ := owner.Sign(event(t))
	garbled.Signature = "not base64!"
	for name, tc := range map[string]struct {
		ev   cloudevent.Event
		want string
	}{
		"unsigned":                 {unsigned, "not signed"},
		"signed by another key":    {forged, "signed by key \"" + other.KeyID() + "\", not one of the pinned keys of users"},
		"signature moved to a key": {moved, "signed by key"},
		"garbled signature":        {garbled, "malformed signature"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := keys.Verify(wire(t, tc.ev)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestASignerSignsOnlyItsOwnersEvents(t *testing.T) {
	t.Parallel()
	s := newSigner(t, "chat")
	if _, err := s.Sign(event(t)); err == nil {
		t.Error("chat's key signed a users event")
	}
}

// TestRotatingTheOwnersKey follows the README's rotation: consumers pin the
// new key beside the old one, the owner switches, consumers drop the old one.
// Events are signed when they leave the owner, so after the switch even its
// history (the feed) comes signed with the new key.
func TestRotatingTheOwnersKey(t *testing.T) {
	t.Parallel()
	old, next := newSigner(t, "users"), newSigner(t, "users")
	both, err := eventsig.ParseKeys("users", old.PublicKey()+", "+next.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	byOld, _ := old.Sign(event(t))
	byNext, _ := next.Sign(event(t))
	for _, ev := range []cloudevent.Event{byOld, byNext} {
		if err := both.Verify(wire(t, ev)); err != nil {
			t.Errorf("during the rotation an event signed by %s is refused: %v", ev.SignatureKey, err)
		}
	}
	after, err := eventsig.ParseKeys("users", next.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := after.Verify(wire(t, byNext)); err != nil {
		t.Errorf("after the rotation the new key's event is refused: %v", err)
	}
	if err := after.Verify(wire(t, byOld)); err == nil {
		t.Error("after the rotation an event signed with the retired key is still accepted")
	}
}

func TestKeysAreReadAsConfigured(t *testing.T) {
	t.Parallel()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s, err := eventsig.ParseSigner("users", " "+enc.EncodeToString(seed)+"\n")
		if err != nil {
			t.Fatalf("ParseSigner(%v) = %v", enc, err)
		}
		want, _ := eventsig.NewSigner("users", seed)
		if s.KeyID() != want.KeyID() {
			t.Errorf("ParseSigner read another key")
		}
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(make([]byte, 31)), base64.StdEncoding.EncodeToString(make([]byte, 64))} {
		if _, err := eventsig.ParseSigner("users", bad); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("ParseSigner(%q) = %v, want a refusal that says how to make a key", bad, err)
		}
	}
	for _, bad := range []string{"", " , ", "nope", base64.RawURLEncoding.EncodeToString(make([]byte, 31))} {
		if _, err := eventsig.ParseKeys("users", bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted it", bad)
		}
	}
}

func TestTheDevelopmentKeyIsKnownForWhatItIs(t *testing.T) {
	t.Parallel()
	dev := eventsig.DevelopmentSigner("users")
	if !dev.IsDevelopment() || newSigner(t, "users").IsDevelopment() {
		t.Error("IsDevelopment does not tell the development key from another")
	}
	if !eventsig.DevelopmentKeys("users").Has(dev.KeyID()) || eventsig.DevelopmentKeys("chat").Has(dev.KeyID()) {
		t.Error("DevelopmentKeys does not pin exactly the owner's development key")
	}
}

func BenchmarkSign(b *testing.B) {
	s := eventsig.DevelopmentSigner("users")
	ev, _ := cloudevent.New("/scs-users", "users.user.updated.v1", "u1", 3, map[string]string{"display_name": "Ada"})
	ev.Sequence = 1
	for b.Loop() {
		if _, err := s.Sign(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s := eventsig.DevelopmentSigner("users")
	ev, _ := cloudevent.New("/scs-users", "users.user.updated.v1", "u1", 3, map[string]string{"display_name": "Ada"})
	ev.Sequence = 1
	ev, _ = s.Sign(ev)
	keys := s.Keys()
	for b.Loop() {
		if err := keys.Verify(ev); err != nil {
			b.Fatal(err)
		}
	}
}
