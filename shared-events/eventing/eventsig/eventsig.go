// Package eventsig signs every event where its owner stores it and verifies it
// where it arrives, so that a consumer applies only what the owner itself said.
//
// The broker is not a trust root: whoever holds a broker credential (a
// compromised system, an operator, the broker's administrator) can publish to
// any exchange the credential may write, and the broker's permissions cannot
// say "only scs-users may vouch for a token key". So each owner holds an
// Ed25519 key (EVENT_SIGNING_KEY) and signs each event as its outbox stores it,
// in the transaction of the change; the relay and the feed send it as stored.
// Each consumer pins the owner's public
// keys in its own configuration (USERS_EVENT_KEYS, CHAT_EVENT_KEYS) and
// refuses anything else. A forged, altered, unsigned or foreign event is
// dead-lettered with the reason, never applied.
//
// Events are signed when they are stored, not when they are sent: the key is in
// the process, not in the database, so a row that anyone with write access to
// the database adds to the outbox carries no valid signature. After a rotation
// the owner signs its stored history again with the new key (outbox.Resign),
// so that a consumer need not keep trusting the old one.
//
// What is signed is the event's JSON encoding (cloudevent.Event.SigningInput):
// every attribute the platform defines, the data and the key id, but not the
// signature itself nor the sequence, which the outbox assigns.
package eventsig

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

// Signer signs one owner's events with its private key.
type Signer struct {
	owner string
	id    string
	key   ed25519.PrivateKey
}

// NewSigner returns the signer of owner's events with the private key of the
// 32-byte seed.
func NewSigner(owner string, seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("eventsig: a signing key is %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	key := ed25519.NewKeyFromSeed(seed)
	return &Signer{owner: owner, id: KeyID(key.Public().(ed25519.PublicKey)), key: key}, nil
}

// ParseSigner reads a signing key as configured: the 32-byte seed in base64
// (standard or URL alphabet, padded or not), which `openssl rand -base64 32`
// makes.
func ParseSigner(owner, s string) (*Signer, error) {
	seed, err := decode(s)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("is not 32 bytes in base64 (make one with: openssl rand -base64 32)")
	}
	return NewSigner(owner, seed)
}

// DevelopmentSigner is the signer a development machine uses when
// EVENT_SIGNING_KEY is unset. Its seed is derived from the owner's name, so it
// is public: every system refuses it with an https PUBLIC_URL.
func DevelopmentSigner(owner string) *Signer {
	s, _ := NewSigner(owner, developmentSeed(owner))
	return s
}

// DevelopmentKeys pins DevelopmentSigner(owner)'s public key, the default of a
// consumer's <OWNER>_EVENT_KEYS on a development machine.
func DevelopmentKeys(owner string) *Keys {
	return DevelopmentSigner(owner).Keys()
}

func developmentSeed(owner string) []byte {
	sum := sha256.Sum256([]byte("scs-platform development event signing key of " + owner))
	return sum[:]
}

// IsDevelopment reports whether s is the development signer of its owner.
func (s *Signer) IsDevelopment() bool { return s.id == DevelopmentSigner(s.owner).id }

// DeriveKey returns a 32-byte secret for purpose, derived from the signing
// key (HMAC-SHA256): a secret that every instance of the owner holds and
// nobody else does, without a variable of its own. scs-chat's instances
// authenticate what they pass each other through the broker with one.
func (s *Signer) DeriveKey(purpose string) []byte {
	mac := hmac.New(sha256.New, s.key.Seed())
	mac.Write([]byte("scs-platform derived key: " + purpose))
	return mac.Sum(nil)
}

// KeyID is the id of the key: a digest of it, so that it needs no
// configuration of its own and cannot name another key.
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the public half, as a consumer's <OWNER>_EVENT_KEYS lists it.
func (s *Signer) PublicKey() string {
	return base64.RawURLEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))
}

// Keys pins the signer's public key alone.
func (s *Signer) Keys() *Keys {
	return &Keys{owner: s.owner, keys: map[string]ed25519.PublicKey{s.id: s.key.Public().(ed25519.PublicKey)}}
}

// Sign returns ev with its signature. Only the owner's own events are signed:
// a signer of users never vouches for a "chat." type.
func (s *Signer) Sign(ev cloudevent.Event) (cloudevent.Event, error) {
	if ev.Owner() != s.owner {
		return cloudevent.Event{}, fmt.Errorf("eventsig: %s's key does not sign %s, an event of another owner", s.owner, ev.Type)
	}
	ev.SignatureKey = s.id
	msg, err := ev.SigningInput()
	if err != nil {
		return cloudevent.Event{}, fmt.Errorf("eventsig: sign %s: %w", ev.ID, err)
	}
	ev.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.key, msg))
	return ev, nil
}

// SignStatement signs msg, a statement of the owner other than an event (a
// page of its feed), for purpose: the purpose is signed with it, so that a
// signature made for one kind of statement is never valid for another, nor
// for an event. The result is "<key id>.<signature>".
func (s *Signer) SignStatement(purpose string, msg []byte) string {
	return s.id + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.key, statement(purpose, msg)))
}

// VerifyStatement checks a signature SignStatement made for purpose over msg
// with one of the pinned keys.
func (k *Keys) VerifyStatement(purpose string, msg []byte, signature string) error {
	id, sig, ok := strings.Cut(signature, ".")
	if !ok {
		return fmt.Errorf("the %s is not signed", purpose)
	}
	pub, known := k.keys[id]
	if !known {
		return fmt.Errorf("the %s is signed by key %q, not one of the pinned keys of %s %v", purpose, id, k.owner, k.IDs())
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !ed25519.Verify(pub, statement(purpose, msg), raw) {
		return fmt.Errorf("the %s's signature does not match it: forged, or altered after %s signed it", purpose, k.owner)
	}
	return nil
}

// statement prefixes msg with its purpose; an event's signing input, a JSON
// object, never starts this way.
func statement(purpose string, msg []byte) []byte {
	return append([]byte("scs-platform statement: "+purpose+"\n"), msg...)
}

// Keys are the public keys a consumer accepts one owner's events from: the
// current key, and during a rotation the next or the previous one too.
type Keys struct {
	owner string
	keys  map[string]ed25519.PublicKey
}

// ParseKeys reads owner's public keys as configured: comma-separated, each the
// 32-byte Ed25519 public key in base64 (what `scs-<owner> eventkey` prints).
func ParseKeys(owner, list string) (*Keys, error) {
	k := &Keys{owner: owner, keys: map[string]ed25519.PublicKey{}}
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		b, err := decode(part)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("holds a value that is not a 32-byte Ed25519 public key in base64 (scs-%s eventkey prints one)", owner)
		}
		pub := ed25519.PublicKey(b)
		k.keys[KeyID(pub)] = pub
	}
	if len(k.keys) == 0 {
		return nil, errors.New("names no key")
	}
	return k, nil
}

// Owner is the system whose events the keys verify.
func (k *Keys) Owner() string { return k.owner }

// IDs lists the pinned keys' ids, sorted.
func (k *Keys) IDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Has reports whether the key of id is pinned.
func (k *Keys) Has(id string) bool { _, ok := k.keys[id]; return ok }

// Error says why an event was refused. Its message is the reason alone, as
// the dead letter's reason: the dead letter already names the event.
type Error struct {
	ID, Type string
	Reason   string
}

func (e *Error) Error() string { return e.Reason }

// Verify accepts ev only if it is an event of the keys' owner carrying a valid
// signature by one of the pinned keys; anything else is an *Error.
func (k *Keys) Verify(ev cloudevent.Event) error {
	refuse := func(reason string, args ...any) error {
		return &Error{ID: ev.ID, Type: ev.Type, Reason: fmt.Sprintf(reason, args...)}
	}
	if ev.Owner() != k.owner {
		return refuse("not an event of %s: its type belongs to another owner", k.owner)
	}
	if ev.Signature == "" || ev.SignatureKey == "" {
		return refuse("not signed: every event of %s must be signed by %s", k.owner, k.owner)
	}
	pub, ok := k.keys[ev.SignatureKey]
	if !ok {
		return refuse("signed by key %q, not one of the pinned keys of %s %v", ev.SignatureKey, k.owner, k.IDs())
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(ev.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return refuse("malformed signature")
	}
	msg, err := ev.SigningInput()
	if err != nil {
		return refuse("cannot be encoded to check its signature: %v", err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return refuse("signature does not match the content: forged, or altered after %s signed it", k.owner)
	}
	return nil
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in base64url.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// decode reads base64 in either alphabet, padded or not.
func decode(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.Strict().DecodeString(s)
}
