// Package signing keeps the Ed25519 keys that sign session tokens: it makes the
// first one, rotates them with an overlap, hands the current one to whoever
// issues a token, and publishes every public key (and every change to its
// validity window) through the outbox, so that the other systems can verify
// tokens without asking scs-users.
//
// A key's life: it is published at not_before, signs from signs_from (a
// propagation delay later, so that every consumer has it before the first token
// it signed arrives), and verifies until not_after. When the next key starts
// signing, the old one's not_after is brought forward to the moment its last
// token expires, and republished.
package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/identity/authn"
)

// lockRotate makes rotations take turns (sqldb.DB.LockTx), so that two
// instances finding a rotation due at once make one key, not two.
const lockRotate = 7366031

// retireMargin is added to the token lifetime when a key retires: the clock
// skew a verifier allows, and some.
const retireMargin = authn.DefaultLeeway + time.Minute

// reloadEvery is how often the keyring rereads the keys another instance may
// have made or revoked. A new key signs only after the propagation delay,
// minutes later; a revocation reaches the other instances this late.
const reloadEvery = 10 * time.Second

// missReloadEvery bounds the rereads caused by tokens naming kids the keyring
// does not hold, so that made-up kids cannot turn every request into a query.
const missReloadEvery = time.Second

// Keyring holds the signing keys of one database.
type Keyring struct {
	DB     *sqldb.DB
	Outbox *outbox.Outbox
	Sealer *Sealer
	// Lifetime is how long a key signs before the next one takes over.
	Lifetime time.Duration
	// Propagation is how long a new key is published before it signs.
	Propagation time.Duration
	// TokenTTL is the longest a token lives: how long a retired key still
	// verifies after it stopped signing.
	TokenTTL time.Duration
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	keys     []key // by signs_from
	loadedAt time.Time
	missAt   time.Time
}

type key struct {
	id                             string
	public                         ed25519.PublicKey
	private                        ed25519.PrivateKey
	notBefore, signsFrom, notAfter time.Time
	version                        int64
	revoked                        bool
}

// Info describes a key for the operator.
type Info struct {
	ID                             string
	NotBefore, SignsFrom, NotAfter time.Time
	// State is "signing", "next" (published, not signing yet), "verifying"
	// (retired, its last tokens still valid), "expired" or "revoked".
	State string
}

func (k *Keyring) now() time.Time {
	if k.Now != nil {
		return k.Now().UTC()
	}
	return time.Now().UTC()
}

// ErrNoKey is a keyring without a key that may sign now: Ensure has not run.
var ErrNoKey = errors.New("signing: no key may sign now")

// Signer returns the key that signs tokens now.
func (k *Keyring) Signer(ctx context.Context) (kid string, priv ed25519.PrivateKey, err error) {
	keys, err := k.cached(ctx)
	if err != nil {
		return "", nil, err
	}
	cur, ok := k.signer(keys, k.now())
	if !ok {
		return "", nil, ErrNoKey
	}
	return cur.id, cur.private, nil
}

// tail is how long before its not_after a key stops signing: a token it signs
// then still expires within the key's window.
func (k *Keyring) tail() time.Duration { return k.TokenTTL + retireMargin }

// signer is the key that signs at now: of the keys that may sign, the one that
// started last.
func (k *Keyring) signer(keys []key, now time.Time) (key, bool) {
	for i := len(keys) - 1; i >= 0; i-- {
		if x := keys[i]; !x.revoked && !now.Before(x.signsFrom) && now.Before(x.notAfter.Add(-k.tail())) {
			return x, true
		}
	}
	return key{}, false
}

// SigningKey returns the public key kid, so that scs-users parses its own
// tokens with authn.Parser like every other system.
func (k *Keyring) SigningKey(ctx context.Context, kid string) (authn.Key, error) {
	keys, err := k.cached(ctx)
	if err != nil {
		return authn.Key{}, err
	}
	known := func(x key) bool { return x.id == kid && !x.revoked }
	i := slices.IndexFunc(keys, known)
	if i < 0 {
		// Another instance may have made it a moment ago.
		k.mu.Lock()
		reread := time.Since(k.missAt) >= missReloadEvery
		if reread {
			k.missAt = time.Now()
		}
		k.mu.Unlock()
		if reread {
			if keys, err = k.reload(ctx); err != nil {
				return authn.Key{}, err
			}
			i = slices.IndexFunc(keys, known)
		}
	}
	if i < 0 {
		return authn.Key{}, fmt.Errorf("%w: %q", authn.ErrUnknownKey, kid)
	}
	return authn.Key{ID: kid, Public: keys[i].public, NotBefore: keys[i].notBefore, NotAfter: keys[i].notAfter}, nil
}

func (k *Keyring) cached(ctx context.Context) ([]key, error) {
	k.mu.Lock()
	keys, fresh := k.keys, time.Since(k.loadedAt) < reloadEvery
	k.mu.Unlock()
	if fresh {
		return keys, nil
	}
	return k.reload(ctx)
}

func (k *Keyring) reload(ctx context.Context) ([]key, error) {
	keys, err := k.read(ctx, k.DB)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.keys, k.loadedAt = keys, time.Now()
	k.mu.Unlock()
	return keys, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (k *Keyring) read(ctx context.Context, q querier) ([]key, error) {
	rows, err := q.QueryContext(ctx, `SELECT kid, sealed_private, not_before_us, signs_from_us, not_after_us, version,
		revoked_at_us IS NOT NULL FROM signing_keys ORDER BY signs_from_us, kid`)
	if err != nil {
		return nil, fmt.Errorf("signing: read keys: %w", err)
	}
	defer rows.Close()
	var keys []key
	for rows.Next() {
		var x key
		var sealed string
		var nb, sf, na int64
		if err := rows.Scan(&x.id, &sealed, &nb, &sf, &na, &x.version, &x.revoked); err != nil {
			return nil, fmt.Errorf("signing: read keys: %w", err)
		}
		if x.private, err = k.Sealer.Open(x.id, sealed); err != nil {
			return nil, err
		}
		x.public = x.private.Public().(ed25519.PublicKey)
		x.notBefore, x.signsFrom, x.notAfter = time.UnixMicro(nb).UTC(), time.UnixMicro(sf).UTC(), time.UnixMicro(na).UTC()
		keys = append(keys, x)
	}
	return keys, rows.Err()
}

// Ensure makes the first key if there is none, and a successor when the key
// that signs now has signed for Lifetime, less the propagation delay and the
// interval at which Run looks, so that the successor takes over on time. It is
// what start-up and the keyring's worker call; doing it twice, or on two
// instances at once, makes one key.
func (k *Keyring) Ensure(ctx context.Context) error {
	_, err := k.rotate(ctx, false)
	return err
}

// Rotate makes a new key now, whatever the age of the current one: it is
// published at once and signs after the propagation delay, and the current key
// retires once the last token it signs has expired.
func (k *Keyring) Rotate(ctx context.Context) (Info, error) {
	return k.rotate(ctx, true)
}

func (k *Keyring) rotate(ctx context.Context, force bool) (Info, error) {
	var made key
	err := k.inLock(ctx, func(tx *sql.Tx, keys []key, now time.Time) error {
		cur, signing := k.signer(keys, now)
		pending := slices.ContainsFunc(keys, func(x key) bool { return !x.revoked && x.signsFrom.After(now) })
		signsFrom := now.Add(k.Propagation)
		switch {
		case !signing:
			// Nothing may sign: the first key, or a system that was off for
			// longer than a key lives. Tokens are needed now; the other systems
			// refuse them for the moment the key takes to reach them.
			signsFrom = now
		case force:
		case pending || now.Before(cur.signsFrom.Add(k.Lifetime-k.Propagation-checkEvery)):
			return nil
		}
		var err error
		made, err = k.create(ctx, tx, keys, now, signsFrom)
		return err
	})
	if err != nil || made.id == "" {
		return Info{}, err
	}
	k.Logger.Info("signing key made", "kid", made.id, "signs_from", made.signsFrom, "not_after", made.notAfter)
	return k.info(made, k.now()), nil
}

// ErrNoSuchKey is a kid that the keyring does not hold.
var ErrNoSuchKey = errors.New("signing: no such key")

// Revoke ends the key kid at once, for a key that may have leaked: it verifies
// no token from now on, in this instance, in scs-users' other instances within
// reloadEvery and elsewhere within the replication lag. Every token signed
// with kid is refused, so its users log in again; the other keys keep
// verifying their last tokens. If kid was the key that signs, a new key signs
// at once, and its tokens are refused elsewhere for the moment it takes to
// reach the other systems; if kid was the next key, a new next key takes its
// place. Revoke returns the new key, if it made one, else a zero Info.
// Revoking a revoked key changes nothing.
func (k *Keyring) Revoke(ctx context.Context, kid string) (Info, error) {
	var made key
	err := k.inLock(ctx, func(tx *sql.Tx, keys []key, now time.Time) error {
		i := slices.IndexFunc(keys, func(x key) bool { return x.id == kid })
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrNoSuchKey, kid)
		}
		gone := keys[i]
		if gone.revoked {
			return nil
		}
		cur, signing := k.signer(keys, now)
		wasSigning := signing && cur.id == gone.id
		wasNext := gone.signsFrom.After(now)
		// The window must stay a window for the contract: it ends now, or just
		// after it began for a key published a moment ago.
		gone.notAfter = now
		if !gone.notAfter.After(gone.notBefore) {
			gone.notAfter = gone.notBefore.Add(time.Microsecond)
		}
		gone.version++
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET not_after_us = $2, version = $3, revoked_at_us = $4 WHERE kid = $1`,
			gone.id, gone.notAfter.UnixMicro(), gone.version, now.UnixMicro()); err != nil {
			return fmt.Errorf("signing: revoke key %s: %w", gone.id, err)
		}
		if err := k.publish(ctx, tx, gone); err != nil {
			return err
		}
		rest := slices.Delete(slices.Clone(keys), i, i+1)
		var err error
		switch {
		case wasSigning || !signing:
			made, err = k.create(ctx, tx, rest, now, now)
		case wasNext:
			// The signer's window ends where the revoked key was to take over:
			// a successor in its place, which stretches the signer to it.
			made, err = k.create(ctx, tx, rest, now, now.Add(k.Propagation))
		}
		// A retired key: the key that signs goes on signing.
		return err
	})
	if err != nil {
		return Info{}, err
	}
	k.Logger.Warn("signing key revoked", "kid", kid, "replaced_by", made.id)
	if made.id == "" {
		return Info{}, nil
	}
	return k.info(made, k.now()), nil
}

// inLock runs fn in a transaction that holds the keyring's lock, with the keys
// as they are and the time, and rereads the keys after it commits.
func (k *Keyring) inLock(ctx context.Context, fn func(tx *sql.Tx, keys []key, now time.Time) error) error {
	err := k.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := k.DB.LockTx(ctx, tx, lockRotate); err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		keys, err := k.read(ctx, tx)
		if err != nil {
			return err
		}
		return fn(tx, keys, k.now())
	})
	if err != nil {
		return err
	}
	_, err = k.reload(ctx)
	return err
}

// create inserts a key that signs from signsFrom, hands over to it (the key
// that signs until then gets exactly the window its last tokens need, shorter
// or, after a late rotation, longer; older ones are shortened to it), and
// publishes all of it.
func (k *Keyring) create(ctx context.Context, tx *sql.Tx, keys []key, now, signsFrom time.Time) (key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return key{}, fmt.Errorf("signing: generate: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	id := now.Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix)
	// Room to sign for Lifetime and for as long again as a late successor may
	// take to come (the propagation and the worker's interval).
	x := key{id: id, public: pub, private: priv, notBefore: now, signsFrom: signsFrom,
		notAfter: signsFrom.Add(k.Lifetime + k.Propagation + checkEvery + k.tail()), version: 1}
	sealed, err := k.Sealer.Seal(id, priv)
	if err != nil {
		return key{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, public_key, sealed_private, not_before_us, not_after_us, signs_from_us, version, created_at_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $4)`,
		x.id, encodePublic(pub), sealed, x.notBefore.UnixMicro(), x.notAfter.UnixMicro(), x.signsFrom.UnixMicro(), x.version); err != nil {
		return key{}, fmt.Errorf("signing: insert key: %w", err)
	}
	handover := signsFrom.Add(k.tail())
	cur, signing := k.signer(keys, now)
	for _, old := range keys {
		isCurrent := signing && old.id == cur.id
		if old.revoked || !old.notAfter.After(now) || old.notAfter.Equal(handover) || (!isCurrent && old.notAfter.Before(handover)) {
			continue
		}
		old.notAfter, old.version = handover, old.version+1
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET not_after_us = $2, version = $3 WHERE kid = $1`,
			old.id, old.notAfter.UnixMicro(), old.version); err != nil {
			return key{}, fmt.Errorf("signing: retire key %s: %w", old.id, err)
		}
		if err := k.publish(ctx, tx, old); err != nil {
			return key{}, err
		}
	}
	return x, k.publish(ctx, tx, x)
}

// publish appends the event that announces x's public key and window.
func (k *Keyring) publish(ctx context.Context, tx *sql.Tx, x key) error {
	ev, err := contracts.NewEvent(contracts.SigningKeyPublishedV1{KeyID: x.id, Algorithm: contracts.AlgorithmEdDSA,
		PublicKey: encodePublic(x.public), NotBefore: x.notBefore, NotAfter: x.notAfter}, x.version)
	if err != nil {
		return fmt.Errorf("signing: publish %s: %w", x.id, err)
	}
	return k.Outbox.Append(ctx, tx, ev)
}

func encodePublic(pub ed25519.PublicKey) string { return base64.RawURLEncoding.EncodeToString(pub) }

// List describes every key, the oldest first.
func (k *Keyring) List(ctx context.Context) ([]Info, error) {
	keys, err := k.reload(ctx)
	if err != nil {
		return nil, err
	}
	now := k.now()
	out := make([]Info, 0, len(keys))
	for _, x := range keys {
		out = append(out, k.info(x, now))
	}
	if cur, ok := k.signer(keys, now); ok {
		for i := range out {
			if out[i].ID == cur.id {
				out[i].State = "signing"
			}
		}
	}
	return out, nil
}

func (k *Keyring) info(x key, now time.Time) Info {
	i := Info{ID: x.id, NotBefore: x.notBefore, SignsFrom: x.signsFrom, NotAfter: x.notAfter}
	switch {
	case x.revoked:
		i.State = "revoked"
	case !now.Before(x.notAfter):
		i.State = "expired"
	case now.Before(x.signsFrom):
		i.State = "next"
	default:
		i.State = "verifying"
	}
	return i
}

// checkEvery is how often Run looks whether a rotation is due. Rotations are
// due this much early, so that a late look still hands over on time.
const checkEvery = 5 * time.Minute

// Run keeps the keys fresh until ctx ends: it rereads them (another instance
// may have rotated) and rotates when a rotation is due.
func (k *Keyring) Run(ctx context.Context) error {
	reload := time.NewTicker(reloadEvery)
	defer reload.Stop()
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-reload.C:
			if _, err := k.reload(ctx); err != nil && ctx.Err() == nil {
				k.Logger.Warn("reread signing keys", "err", err)
			}
		case <-check.C:
			if err := k.Ensure(ctx); err != nil && ctx.Err() == nil {
				k.Logger.Error("rotate signing key", "err", err)
			}
		}
	}
}
