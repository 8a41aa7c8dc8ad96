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

	"github.com/scs-platform/shared-events/authn"
	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/outbox"
	"github.com/scs-platform/shared-events/sqldb"
)

// advisoryLockRotate serialises rotations on PostgreSQL, so that two instances
// finding a rotation due at once make one key, not two.
const advisoryLockRotate = 7366031

// retireMargin is added to the token lifetime when a key retires: the clock
// skew a verifier allows, and some.
const retireMargin = authn.DefaultLeeway + time.Minute

// reloadEvery is how often the keyring rereads the keys another instance may
// have made. A new key signs only after the propagation delay, minutes later.
const reloadEvery = 30 * time.Second

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
}

// Info describes a key for the operator.
type Info struct {
	ID                             string
	NotBefore, SignsFrom, NotAfter time.Time
	// State is "signing", "next" (published, not signing yet), "verifying"
	// (retired, its last tokens still valid) or "expired".
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
	cur, ok := signer(keys, k.now())
	if !ok {
		return "", nil, ErrNoKey
	}
	return cur.id, cur.private, nil
}

// signer is the key that signs at now: of the keys in their window, the one
// that started signing last.
func signer(keys []key, now time.Time) (key, bool) {
	for i := len(keys) - 1; i >= 0; i-- {
		if k := keys[i]; !now.Before(k.signsFrom) && now.Before(k.notAfter) {
			return k, true
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
	i := slices.IndexFunc(keys, func(x key) bool { return x.id == kid })
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
			i = slices.IndexFunc(keys, func(x key) bool { return x.id == kid })
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
	rows, err := q.QueryContext(ctx, `SELECT kid, sealed_private, not_before_us, signs_from_us, not_after_us, version
		FROM signing_keys ORDER BY signs_from_us, kid`)
	if err != nil {
		return nil, fmt.Errorf("signing: read keys: %w", err)
	}
	defer rows.Close()
	var keys []key
	for rows.Next() {
		var x key
		var sealed string
		var nb, sf, na int64
		if err := rows.Scan(&x.id, &sealed, &nb, &sf, &na, &x.version); err != nil {
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
// that signs now has signed for Lifetime (less the propagation delay, so that
// the successor takes over on time). It is what start-up and the keyring's
// worker call; doing it twice, or on two instances at once, makes one key.
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
	err := k.DB.InTx(ctx, func(tx *sql.Tx) error {
		if k.DB.Dialect == sqldb.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryLockRotate); err != nil {
				return fmt.Errorf("signing: lock: %w", err)
			}
		}
		keys, err := k.read(ctx, tx)
		if err != nil {
			return err
		}
		now := k.now()
		cur, signing := signer(keys, now)
		pending := slices.ContainsFunc(keys, func(x key) bool { return x.signsFrom.After(now) })
		signsFrom := now.Add(k.Propagation)
		switch {
		case !signing:
			// Nothing may sign: the first key, or a system that was off for
			// longer than a key lives. Tokens are needed now, not after a delay.
			signsFrom = now
		case force:
		case pending || now.Before(cur.signsFrom.Add(k.Lifetime-k.Propagation)):
			return nil
		}
		if made, err = k.create(ctx, tx, keys, now, signsFrom); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Info{}, err
	}
	if made.id == "" {
		return Info{}, nil
	}
	if _, err := k.reload(ctx); err != nil {
		return Info{}, err
	}
	k.Logger.Info("signing key made", "kid", made.id, "signs_from", made.signsFrom, "not_after", made.notAfter)
	return info(made, k.now()), nil
}

// create inserts a key that signs from signsFrom, brings the other keys'
// not_after forward to when their last token expires, and publishes all of it.
func (k *Keyring) create(ctx context.Context, tx *sql.Tx, keys []key, now, signsFrom time.Time) (key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return key{}, fmt.Errorf("signing: generate: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	id := now.Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix)
	x := key{id: id, public: pub, private: priv, notBefore: now, signsFrom: signsFrom,
		notAfter: signsFrom.Add(k.Lifetime + k.Propagation + k.TokenTTL + retireMargin), version: 1}
	sealed, err := k.Sealer.Seal(id, priv)
	if err != nil {
		return key{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, public_key, sealed_private, not_before_us, not_after_us, signs_from_us, version, created_at_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $4)`,
		x.id, encodePublic(pub), sealed, x.notBefore.UnixMicro(), x.notAfter.UnixMicro(), x.signsFrom.UnixMicro(), x.version); err != nil {
		return key{}, fmt.Errorf("signing: insert key: %w", err)
	}
	retire := signsFrom.Add(k.TokenTTL + retireMargin)
	var changed []key
	for _, old := range keys {
		if !old.notAfter.After(retire) {
			continue
		}
		old.notAfter, old.version = retire, old.version+1
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET not_after_us = $2, version = $3 WHERE kid = $1`,
			old.id, old.notAfter.UnixMicro(), old.version); err != nil {
			return key{}, fmt.Errorf("signing: retire key %s: %w", old.id, err)
		}
		changed = append(changed, old)
	}
	for _, p := range append(changed, x) {
		ev, err := contracts.NewEvent(contracts.SigningKeyPublishedV1{KeyID: p.id, Algorithm: contracts.AlgorithmEdDSA,
			PublicKey: encodePublic(p.public), NotBefore: p.notBefore, NotAfter: p.notAfter}, p.version)
		if err != nil {
			return key{}, fmt.Errorf("signing: publish %s: %w", p.id, err)
		}
		if err := k.Outbox.Append(ctx, tx, ev); err != nil {
			return key{}, err
		}
	}
	return x, nil
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
		out = append(out, info(x, now))
	}
	if cur, ok := signer(keys, now); ok {
		for i := range out {
			if out[i].ID == cur.id {
				out[i].State = "signing"
			}
		}
	}
	return out, nil
}

func info(x key, now time.Time) Info {
	i := Info{ID: x.id, NotBefore: x.notBefore, SignsFrom: x.signsFrom, NotAfter: x.notAfter}
	switch {
	case !now.Before(x.notAfter):
		i.State = "expired"
	case now.Before(x.signsFrom):
		i.State = "next"
	default:
		i.State = "verifying"
	}
	return i
}

// checkEvery is how often Run looks whether a rotation is due.
const checkEvery = time.Hour

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
