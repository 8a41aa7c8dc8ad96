// Package password hashes and verifies passwords with argon2id, and holds the
// sign-up password policy (OWASP ASVS 5, V6.2).
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/argon2"
)

var (
	// ErrBusy is the error of a Hash or Verify whose context ended before a
	// hashing slot came free.
	ErrBusy = errors.New("password: every hashing slot stayed busy")
	// ErrMalformedHash is the error of a Verify whose stored hash cannot be
	// read: corruption or a bug, never the user's doing.
	ErrMalformedHash = errors.New("password: malformed stored hash")
)

// Hasher hashes and verifies passwords with argon2id, with at most a fixed
// number of hashes running at once so that a burst of logins cannot exhaust
// memory: each hash holds MemoryKiB while it runs.
//
// Hasher implements prometheus.Collector.
type Hasher struct {
	// MaxWait bounds a caller's wait for a free slot (0: until its context
	// ends). A login that has queued for seconds is better told to try again
	// than left hanging while more arrive behind it.
	MaxWait time.Duration

	params Params
	// dummy is a hash made with params of a random password, which Verify
	// checks when there is no stored hash.
	dummy string
	// slots holds a token for each hash running.
	slots chan struct{}

	inFlight prometheus.Gauge
	waiting  prometheus.Gauge
	duration prometheus.Histogram
	busy     prometheus.Counter

	// Test hooks, nil outside tests: onWait runs when a caller starts to wait
	// for a slot, inSlot when it holds one, just before hashing.
	onWait, inSlot func()
}

// NewHasher returns a Hasher that hashes with p and runs at most concurrency
// hashes at once (concurrency < 1 means 1).
//
// It does not Validate p: unit tests use weak parameters for speed, and the
// config package validates what operators set. It panics if argon2id cannot
// hash with p at all (zero iterations or parallelism, for example), a
// programming error. It hashes once, to make the dummy hash that Verify
// checks for unknown accounts.
func NewHasher(p Params, concurrency int) *Hasher {
	if err := p.storable(); err != nil {
		panic(fmt.Sprintf("password: NewHasher: %v", err))
	}
	salt := make([]byte, p.SaltLength)
	rand.Read(salt) // crypto/rand.Read never returns an error: it crashes the program instead.
	dummy := encode(p, salt, argon2.IDKey([]byte(rand.Text()), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLength))
	return &Hasher{
		params: p,
		dummy:  dummy,
		slots:  make(chan struct{}, max(concurrency, 1)),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "password_hashes_in_flight",
			Help: "Password hashes running now.",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "password_hash_waiting",
			Help: "Callers waiting for a free password hashing slot.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "password_hash_duration_seconds",
			Help:    "Time spent computing one argon2id hash, not counting the wait for a slot.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 10), // 5 ms to 2.56 s
		}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "password_hash_busy_total",
			Help: "Hashes and verifications given up because no slot came free before their context ended.",
		}),
	}
}

// Params returns the parameters the hasher hashes with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC-encoded argon2id hash of the normalised password (see
// Normalize), in the reference implementation's encoding:
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", both in unpadded standard
// base64. It waits for a free slot; if ctx ends first, the error wraps both
// ErrBusy and ctx.Err().
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLength)
	rand.Read(salt) // crypto/rand.Read never returns an error: it crashes the program instead.
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a hash from Hash made with
// any parameters: it hashes with those stored in encoded, not h's. rehash
// reports whether encoded's parameters (salt and key length included) differ
// from h.Params(), higher or lower, whether or not the password matched: the
// caller should hash the password again once it has matched.
//
// An empty encoded (no such account) is checked against the dummy hash, so
// that it takes as long as a real check, and reports false. A malformed
// encoded is an error wrapping ErrMalformedHash, returned at once: it is
// corruption or a bug, and hashing with its parameters could be ruinous.
// Verify waits for a slot as Hash does.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	known := encoded != ""
	if !known {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	// A comparison that stopped at the first differing byte would tell an
	// attacker, through its timing, how much of the hash they have right.
	match := subtle.ConstantTimeCompare(got, want) == 1
	return match && known, known && p != h.params, nil
}

// derive hashes the normalised password with p once it holds a slot.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.slots }()
	h.inFlight.Inc()
	defer h.inFlight.Dec()
	if h.inSlot != nil {
		h.inSlot()
	}
	start := time.Now()
	key := argon2.IDKey([]byte(Normalize(password)), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLength)
	h.duration.Observe(time.Since(start).Seconds())
	return key, nil
}

// acquire takes a slot, waiting for one until ctx ends.
func (h *Hasher) acquire(ctx context.Context) error {
	// ctx bounds only the wait: a free slot is taken even if ctx has ended,
	// since a hash cannot be stopped once started either.
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	h.waiting.Inc()
	defer h.waiting.Dec()
	if h.onWait != nil {
		h.onWait()
	}
	var timeout <-chan time.Time
	if h.MaxWait > 0 {
		t := time.NewTimer(h.MaxWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timeout:
		h.busy.Inc()
		return fmt.Errorf("%w for %s", ErrBusy, h.MaxWait)
	case <-ctx.Done():
		h.busy.Inc()
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// Describe sends the descriptors of the hasher's metrics to ch.
func (h *Hasher) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range h.collectors() {
		c.Describe(ch)
	}
}

// Collect sends the hasher's metrics to ch: password_hashes_in_flight,
// password_hash_waiting, password_hash_duration_seconds and
// password_hash_busy_total.
func (h *Hasher) Collect(ch chan<- prometheus.Metric) {
	for _, c := range h.collectors() {
		c.Collect(ch)
	}
}

func (h *Hasher) collectors() []prometheus.Collector {
	return []prometheus.Collector{h.inFlight, h.waiting, h.duration, h.busy}
}
