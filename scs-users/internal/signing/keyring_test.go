package signing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-users/internal/migrations"
	"github.com/scs-platform/scs-users/internal/signing"
)

const (
	lifetime    = 30 * 24 * time.Hour
	propagation = 5 * time.Minute
	tokenTTL    = 10 * time.Minute
)

// clock is a settable clock shared by the keyrings of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func open(t *testing.T, db *sqldb.DB) *outbox.Outbox {
	t.Helper()
	if err := migrations.Apply(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return outbox.New(db, eventsig.DevelopmentSigner("users"))
}

func newKeyring(t *testing.T, db *sqldb.DB, o *outbox.Outbox, c *clock, kek []byte) *signing.Keyring {
	t.Helper()
	sealer, err := signing.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	return &signing.Keyring{DB: db, Outbox: o, Sealer: sealer, Lifetime: lifetime, Propagation: propagation,
		TokenTTL: tokenTTL, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Now: c.Now}
}

// published returns the signing key events in the outbox by kid, the latest
// version of each.
func published(t *testing.T, o *outbox.Outbox) map[string]struct {
	p       contracts.SigningKeyPublishedV1
	version int64
} {
	t.Helper()
	events, _, err := o.Read(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		p       contracts.SigningKeyPublishedV1
		version int64
	}{}
	for _, ev := range events {
		p, err := contracts.Decode[contracts.SigningKeyPublishedV1](ev)
		if err != nil {
			t.Fatalf("event %s: %v", ev.Type, err)
		}
		out[p.KeyID] = struct {
			p       contracts.SigningKeyPublishedV1
			version int64
		}{p, ev.AggregateVersion}
	}
	return out
}

func TestKeyLife(t *testing.T) {
	t.Parallel()
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t)
			o := open(t, db)
			c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
			k := newKeyring(t, db, o, c, kek)

			if _, _, err := k.Signer(ctx); !errors.Is(err, signing.ErrNoKey) {
				t.Fatalf("Signer before Ensure = %v, want ErrNoKey", err)
			}
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			keys, err := k.List(ctx)
			if err != nil || len(keys) != 1 || keys[0].State != "signing" {
				t.Fatalf("after Ensure twice: %+v, %v; want one signing key", keys, err)
			}
			first := keys[0]
			if !first.SignsFrom.Equal(c.Now()) {
				t.Errorf("the first key signs from %s, want at once (%s)", first.SignsFrom, c.Now())
			}
			pub := published(t, o)
			if ev, ok := pub[first.ID]; !ok || ev.version != 1 || !ev.p.NotAfter.Equal(first.NotAfter) {
				t.Fatalf("published %+v, want %s at version 1 until %s", pub, first.ID, first.NotAfter)
			}

			// A token signed now verifies with the keyring as the key store, and
			// with the published key, as another system would.
			kid, priv, err := k.Signer(ctx)
			if err != nil || kid != first.ID {
				t.Fatalf("Signer = %s, %v; want %s", kid, err, first.ID)
			}
			token := signToken(t, kid, priv, c.Now())
			parser := authn.Parser{Keys: k, Audience: "http://localhost:8080", Now: c.Now}
			if _, err := parser.Parse(ctx, token); err != nil {
				t.Fatalf("Parse with the keyring: %v", err)
			}
			pk, err := pub[first.ID].p.Key()
			if err != nil || !pk.Equal(priv.Public()) {
				t.Errorf("published public key %v does not match the signer's (%v)", pk, err)
			}

			// Not due yet: a day later, Ensure makes nothing.
			c.Advance(24 * time.Hour)
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			if keys, _ := k.List(ctx); len(keys) != 1 {
				t.Fatalf("Ensure a day later made a key: %+v", keys)
			}

			// Due: the successor is published now, signs after the propagation
			// delay, and the first key retires when its last token expires.
			c.Advance(lifetime - 24*time.Hour - propagation)
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			keys, _ = k.List(ctx)
			if len(keys) != 2 || keys[0].ID != first.ID || keys[0].State != "signing" || keys[1].State != "next" {
				t.Fatalf("after the due Ensure: %+v; want the first signing and a next one", keys)
			}
			second := keys[1]
			if want := c.Now().Add(propagation); !second.SignsFrom.Equal(want) {
				t.Errorf("the successor signs from %s, want %s", second.SignsFrom, want)
			}
			if want := second.SignsFrom.Add(tokenTTL + authn.DefaultLeeway + time.Minute); !keys[0].NotAfter.Equal(want) {
				t.Errorf("the first key verifies until %s, want %s", keys[0].NotAfter, want)
			}
			pub = published(t, o)
			if pub[first.ID].version != 2 || !pub[first.ID].p.NotAfter.Equal(keys[0].NotAfter) {
				t.Errorf("the retirement was published as %+v, want version 2 until %s", pub[first.ID], keys[0].NotAfter)
			}
			if _, ok := pub[second.ID]; !ok {
				t.Errorf("the successor %s was not published", second.ID)
			}
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			if keys, _ := k.List(ctx); len(keys) != 2 {
				t.Fatalf("Ensure with a successor pending made another key: %+v", keys)
			}

			// The successor takes over at signs_from; the old token still
			// verifies until it expires.
			c.Advance(propagation)
			if kid, _, _ := k.Signer(ctx); kid != second.ID {
				t.Errorf("Signer after the propagation delay = %s, want %s", kid, second.ID)
			}
			old := signToken(t, first.ID, priv, c.Now().Add(-time.Minute))
			if _, err := parser.Parse(ctx, old); err != nil {
				t.Errorf("a token of the retiring key, still valid: %v", err)
			}
			c.Advance(tokenTTL + authn.DefaultLeeway + time.Minute)
			if _, err := parser.Parse(ctx, signToken(t, first.ID, priv, c.Now().Add(-time.Minute))); !errors.Is(err, authn.ErrKeyNotValid) {
				t.Errorf("a token of the retired key = %v, want ErrKeyNotValid", err)
			}
		})
	}
}

func TestRotateNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	k := newKeyring(t, db, o, c, make([]byte, 32))
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := k.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != "next" || !info.SignsFrom.Equal(c.Now().Add(propagation)) {
		t.Errorf("Rotate = %+v, want a key that signs after the propagation delay", info)
	}
	if keys, _ := k.List(ctx); len(keys) != 2 {
		t.Errorf("keys after Rotate: %+v", keys)
	}
}

// TestOneRotationAcrossInstances runs Ensure on four keyrings of one
// PostgreSQL database at once: one key is made.
func TestOneRotationAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := servicetest.PostgresURL(t)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	kek := make([]byte, 32)
	var rings []*signing.Keyring
	for range 4 {
		db, err := sqldb.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		rings = append(rings, newKeyring(t, db, open(t, db), c, kek))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(rings))
	for _, k := range rings {
		wg.Go(func() { errs <- k.Ensure(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := rings[0].List(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("keys after four concurrent Ensures: %+v, %v; want one", keys, err)
	}
}

func TestWrongKeyEncryptionKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Now()}
	right := make([]byte, 32)
	if err := newKeyring(t, db, o, c, right).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	wrong := make([]byte, 32)
	wrong[0] = 1
	if _, err := newKeyring(t, db, o, c, wrong).List(ctx); !errors.Is(err, signing.ErrCannotOpen) {
		t.Errorf("List with another key-encryption key = %v, want ErrCannotOpen", err)
	}
}

func TestSealer(t *testing.T) {
	t.Parallel()
	s, err := signing.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	sealed, err := s.Seal("k1", priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open("k1", sealed)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("Open = %v, %v; want the sealed key", got, err)
	}
	again, _ := s.Seal("k1", priv)
	if again == sealed {
		t.Error("two seals of one key are equal: the nonce is not fresh")
	}
	for name, tc := range map[string]struct{ kid, sealed string }{
		"another kid": {"k2", sealed},
		"not base64":  {"k1", "%%%"},
		"too short":   {"k1", "AAAA"},
		"tampered":    {"k1", sealed[:len(sealed)-4] + "AAAA"},
	} {
		if _, err := s.Open(tc.kid, tc.sealed); !errors.Is(err, signing.ErrCannotOpen) {
			t.Errorf("Open(%s) = %v, want ErrCannotOpen", name, err)
		}
	}
	if _, err := signing.NewSealer(make([]byte, 16)); err == nil {
		t.Error("NewSealer took a 16-byte key")
	}
}

func signToken(t *testing.T, kid string, priv ed25519.PrivateKey, issued time.Time) string {
	t.Helper()
	s, err := authn.Sign(priv, authn.Claims{KeyID: kid, UserID: "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b6c",
		SessionID: "0190a0b4-7f51-7cc1-9b6e-aaaaaaaaaaaa", Role: contracts.RoleUser, Audience: "http://localhost:8080",
		IssuedAt: issued, ExpiresAt: issued.Add(tokenTTL)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSigningNeverStops simulates days of a keyring whose worker looks at
// irregular intervals, up to its checkEvery: at every moment some key signs,
// every token it signs expires within its key's window, and every key that
// takes over was published a propagation delay before it signed.
func TestSigningNeverStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	k := newKeyring(t, db, o, c, make([]byte, 32))
	k.Lifetime = 2 * time.Hour
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.Now()
	rng := mrand.New(mrand.NewPCG(1, 2))
	lastToken := map[string]time.Time{}
	for c.Now().Before(first.Add(24 * time.Hour)) {
		// The worker looks every five minutes, give or take its own lateness.
		c.Advance(time.Duration(rng.Int64N(int64(5 * time.Minute))))
		if err := k.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		kid, _, err := k.Signer(ctx)
		if err != nil {
			t.Fatalf("at %s no key signs: %v", c.Now().Sub(first), err)
		}
		// The latest expiry of a token each key signed.
		if exp := c.Now().Add(tokenTTL); exp.After(lastToken[kid]) {
			lastToken[kid] = exp
		}
		keys, err := k.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range keys {
			if info.ID == kid && info.NotAfter.Before(c.Now().Add(tokenTTL)) {
				t.Fatalf("at %s key %s signs tokens that outlive it (until %s)", c.Now().Sub(first), kid, info.NotAfter.Sub(first))
			}
			if info.SignsFrom.After(first) && info.SignsFrom.Sub(info.NotBefore) < propagation {
				t.Fatalf("key %s signs %s after it was published, want at least %s", info.ID, info.SignsFrom.Sub(info.NotBefore), propagation)
			}
		}
	}
	if keys, _ := k.List(ctx); len(keys) < 12 {
		t.Errorf("a day of 2-hour keys made %d keys", len(keys))
	}
	// No window, as finally published, ends before a token signed with it.
	for kid, ev := range published(t, o) {
		if last, ok := lastToken[kid]; ok && ev.p.NotAfter.Before(last.Add(authn.DefaultLeeway)) {
			t.Errorf("key %s was published to verify until %s, but signed a token valid until %s", kid, ev.p.NotAfter, last)
		}
	}
}

// TestLateRotationExtendsTheSigner: when the worker comes so late that the
// signing key would stop before its successor may start, the signer's window
// grows to reach the successor, and is republished.
func TestLateRotationExtendsTheSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	k := newKeyring(t, db, o, c, make([]byte, 32))
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	firstKID, _, _ := k.Signer(ctx)
	// Long past due, and past the point where the first key could cover the
	// successor's propagation delay.
	c.Advance(lifetime + propagation + 2*time.Minute)
	if kid, _, err := k.Signer(ctx); err != nil || kid != firstKID {
		t.Fatalf("before the late rotation: %s, %v; want the first key still signing", kid, err)
	}
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := k.List(ctx)
	if len(keys) != 2 {
		t.Fatalf("keys after the late rotation: %+v", keys)
	}
	second := keys[1]
	c.Advance(second.SignsFrom.Sub(c.Now()) - time.Second)
	if kid, _, err := k.Signer(ctx); err != nil || kid != firstKID {
		t.Errorf("a second before the successor signs: %s, %v; want the first key", kid, err)
	}
	c.Advance(time.Second)
	if kid, _, err := k.Signer(ctx); err != nil || kid != second.ID {
		t.Errorf("when the successor signs: %s, %v; want %s", kid, err, second.ID)
	}
	if ev := published(t, o)[firstKID]; ev.version != 2 || !ev.p.NotAfter.Equal(second.SignsFrom.Add(tokenTTL+authn.DefaultLeeway+time.Minute)) {
		t.Errorf("the first key's window was published as %+v, want version 2 reaching the successor's last tokens", ev)
	}
}

func TestAfterALongOutageAKeySignsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	k := newKeyring(t, db, o, c, make([]byte, 32))
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c.Advance(3 * lifetime)
	if _, _, err := k.Signer(ctx); !errors.Is(err, signing.ErrNoKey) {
		t.Fatalf("after the outage: %v, want ErrNoKey until Ensure", err)
	}
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Signer(ctx); err != nil {
		t.Errorf("after Ensure: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := b.Open(t)
			o := open(t, db)
			c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
			k := newKeyring(t, db, o, c, make([]byte, 32))
			if err := k.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			kid, priv, _ := k.Signer(ctx)
			token := signToken(t, kid, priv, c.Now())
			parser := authn.Parser{Keys: k, Audience: "http://localhost:8080", Now: c.Now}
			c.Advance(time.Minute)

			if _, err := k.Revoke(ctx, "no-such-key"); !errors.Is(err, signing.ErrNoSuchKey) {
				t.Errorf("Revoke of an unknown kid: %v", err)
			}
			next, err := k.Revoke(ctx, kid)
			if err != nil {
				t.Fatal(err)
			}
			if !next.SignsFrom.Equal(c.Now()) {
				t.Errorf("the replacement signs from %s, want at once (%s)", next.SignsFrom, c.Now())
			}
			if now, _, err := k.Signer(ctx); err != nil || now != next.ID {
				t.Errorf("Signer after the revocation: %s, %v; want %s", now, err, next.ID)
			}
			for name, parse := range map[string]func(context.Context, string) (authn.Claims, error){"Parse": parser.Parse, "ParseExpired": parser.ParseExpired} {
				if _, err := parse(ctx, token); !errors.Is(err, authn.ErrUnknownKey) {
					t.Errorf("%s of a token of the revoked key: %v, want ErrUnknownKey", name, err)
				}
			}
			ev := published(t, o)[kid]
			if ev.version != 2 || !ev.p.NotAfter.Equal(c.Now()) {
				t.Errorf("the revocation was published as %+v, want version 2 ending now", ev)
			}
			keys, _ := k.List(ctx)
			if len(keys) != 2 || keys[0].State != "revoked" {
				t.Errorf("keys after the revocation: %+v", keys)
			}
			if info, err := k.Revoke(ctx, kid); err != nil || info.ID != "" {
				t.Errorf("revoking it again: %+v, %v; want nothing made", info, err)
			}
			if keys, _ := k.List(ctx); len(keys) != 2 {
				t.Errorf("revoking a revoked key made a key: %+v", keys)
			}
		})
	}
}

// TestRevokeAKeyThatDoesNotSign: revoking a retired key leaves the signer
// alone; revoking the next key puts another next key in its place, with the
// signer stretched to it, so that signing never stops.
func TestRevokeAKeyThatDoesNotSign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := servicetest.SQLite(t)
	o := open(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	k := newKeyring(t, db, o, c, make([]byte, 32))
	if err := k.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first, _, _ := k.Signer(ctx)
	next, err := k.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(propagation) // next signs; first retires
	if kid, _, _ := k.Signer(ctx); kid != next.ID {
		t.Fatalf("signer %s, want %s", kid, next.ID)
	}
	if info, err := k.Revoke(ctx, first); err != nil || info.ID != "" {
		t.Fatalf("revoking the retired key: %+v, %v; want nothing made", info, err)
	}
	if kid, _, _ := k.Signer(ctx); kid != next.ID {
		t.Errorf("after revoking the retired key the signer is %s, want %s still", kid, next.ID)
	}

	third, err := k.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	replacement, err := k.Revoke(ctx, third.ID)
	if err != nil || replacement.ID == "" || replacement.State != "next" {
		t.Fatalf("revoking the next key: %+v, %v; want a new next key", replacement, err)
	}
	for ; c.Now().Before(replacement.SignsFrom.Add(time.Minute)); c.Advance(30 * time.Second) {
		kid, _, err := k.Signer(ctx)
		if err != nil || kid == third.ID {
			t.Fatalf("at %s the signer is %q, %v", c.Now(), kid, err)
		}
	}
	if kid, _, _ := k.Signer(ctx); kid != replacement.ID {
		t.Errorf("after its propagation the signer is %s, want the replacement %s", kid, replacement.ID)
	}
}
