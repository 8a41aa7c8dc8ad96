package password

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// weak hashes in well under a millisecond. Unit tests use it; OWASP is
// tested once, and benchmarked.
var weak = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// metric gathers h's metrics through a pedantic registry, which also checks
// that Describe and Collect agree, and returns the named one's value: a
// gauge's or counter's value, or a histogram's sample count.
func metric(t *testing.T, h *Hasher, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(h); err != nil {
		t.Fatalf("register: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestHashVerify(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(weak, 1)
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}

	t.Run("format", func(t *testing.T) {
		// Parsed here by hand rather than with decode, so that a bug shared by
		// encode and decode cannot hide.
		f := strings.Split(encoded, "$")
		if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v=19" {
			t.Fatalf("encoded = %q, want $argon2id$v=19$…", encoded)
		}
		if want := "m=64,t=1,p=1"; f[3] != want {
			t.Errorf("parameters = %q, want %q", f[3], want)
		}
		for _, part := range []struct {
			name string
			b64  string
			want int
		}{{"salt", f[4], 16}, {"key", f[5], 32}} {
			b, err := base64.RawStdEncoding.DecodeString(part.b64)
			if err != nil {
				t.Errorf("%s %q: %v", part.name, part.b64, err)
			}
			if len(b) != part.want {
				t.Errorf("%s is %d bytes, want %d", part.name, len(b), part.want)
			}
		}
	})

	for _, tc := range []struct {
		name     string
		password string
		want     bool
	}{
		{"right password", "correct horse battery staple", true},
		{"wrong password", "correct horse battery stapler", false},
		{"empty password", "", false},
		{"different case", "Correct horse battery staple", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tc.password, encoded)
			if err != nil || ok != tc.want || rehash {
				t.Errorf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tc.want)
			}
		})
	}

	t.Run("salted", func(t *testing.T) {
		again, err := h.Hash(ctx, "correct horse battery staple")
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		if again == encoded {
			t.Errorf("two hashes of one password are both %q", encoded)
		}
	})
}

func TestHashVerifyOWASP(t *testing.T) {
	h := NewHasher(OWASP, 1)
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Errorf("encoded = %q, want prefix %q", encoded, want)
	}
	ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", encoded)
	if err != nil || !ok || rehash {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

// A hash made with other parameters verifies with its own, and asks to be
// made again with the hasher's.
func TestVerifyRehash(t *testing.T) {
	h := NewHasher(weak, 1)
	for _, tc := range []struct {
		name   string
		params func(*Params)
		rehash bool
	}{
		{"same", func(*Params) {}, false},
		{"more memory", func(p *Params) { p.MemoryKiB = 128 }, true},
		{"less memory", func(p *Params) { p.MemoryKiB = 32 }, true},
		{"more iterations", func(p *Params) { p.Iterations = 2 }, true},
		{"more parallelism", func(p *Params) { p.Parallelism = 2 }, true},
		{"shorter salt", func(p *Params) { p.SaltLength = 8 }, true},
		{"longer salt", func(p *Params) { p.SaltLength = 32 }, true},
		{"shorter key", func(p *Params) { p.KeyLength = 16 }, true},
		{"longer key", func(p *Params) { p.KeyLength = 64 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := weak
			tc.params(&p)
			encoded, err := NewHasher(p, 1).Hash(t.Context(), "correct horse battery staple")
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", encoded)
			if err != nil || !ok || rehash != tc.rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want true, %v, nil", encoded, ok, rehash, err, tc.rehash)
			}
		})
	}
}

func TestVerifyNormalizes(t *testing.T) {
	h := NewHasher(weak, 1)
	decomposed, precomposed := "caf\u0065\u0301 au lait", "caf\u00e9 au lait"
	encoded, err := h.Hash(t.Context(), decomposed)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	ok, _, err := h.Verify(t.Context(), precomposed, encoded)
	if err != nil || !ok {
		t.Errorf("Verify(precomposed, hash of decomposed) = %v, %v; want true, nil", ok, err)
	}
}

// An unknown account costs one hash, like a known one, and never matches.
func TestVerifyUnknownAccount(t *testing.T) {
	h := NewHasher(weak, 1)
	for _, password := range []string{"", "correct horse battery staple"} {
		before := metric(t, h, "password_hash_duration_seconds")
		ok, rehash, err := h.Verify(t.Context(), password, "")
		if err != nil || ok || rehash {
			t.Errorf("Verify(%q, \"\") = %v, %v, %v; want false, false, nil", password, ok, rehash, err)
		}
		if after := metric(t, h, "password_hash_duration_seconds"); after != before+1 {
			t.Errorf("Verify(%q, \"\") ran %v hashes, want 1", password, after-before)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	valid := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	h := NewHasher(weak, 1)
	if _, _, err := h.Verify(t.Context(), "x", valid); err != nil {
		t.Fatalf("the table's valid hash does not decode: %v", err)
	}
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	for _, tc := range []struct{ name, encoded string }{
		{"not PHC", "correct horse battery staple"},
		{"a lone $", "$"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"bcrypt", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"no key", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"empty key", with("m=64,t=1,p=1")[:len(valid)-len(key)]},
		{"extra field", valid + "$" + key},
		{"no leading $", valid[1:]},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key},
		{"key not base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "!"},
		{"padded base64", valid + "="},
		{"line break in base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:8] + "\n" + salt[8:] + "$" + key},
		{"trailing bits set", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:len(salt)-1] + "B$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2U"},
		{"salt too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 2000) + "$" + key},
		{"m=0", with("m=0,t=1,p=1")},
		{"t=0", with("m=64,t=0,p=1")},
		{"p=0", with("m=64,t=1,p=0")},
		{"m below 8 KiB a lane", with("m=15,t=1,p=2")},
		{"m just above 4 GiB", with("m=" + strconv.Itoa(maxMemoryKiB+1) + ",t=1,p=1")},
		{"m of 4 TiB", with("m=4294967295,t=1,p=1")},
		{"m beyond uint32", with("m=4294967296,t=1,p=1")},
		{"t above 100", with("m=64,t=101,p=1")},
		{"p beyond uint8", with("m=4096,t=1,p=256")},
		{"negative m", with("m=-64,t=1,p=1")},
		{"plus sign", with("m=+64,t=1,p=1")},
		{"leading zero", with("m=064,t=1,p=1")},
		{"empty m", with("m=,t=1,p=1")},
		{"parameters out of order", with("t=1,m=64,p=1")},
		{"missing p", with("m=64,t=1")},
		{"extra parameter", with("m=64,t=1,p=1,keyid=abc")},
		{"space", with("m=64, t=1,p=1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), "x", tc.encoded)
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
		})
	}
	// Only the valid hash above was hashed: a malformed one is refused before
	// its parameters are used.
	if n := metric(t, h, "password_hash_duration_seconds"); n != 1 {
		t.Errorf("%v hashes ran, want 1", n)
	}
}

// With 2 slots, 8 concurrent hashes run 2 at a time and the other 6 wait.
func TestHasherConcurrencyBound(t *testing.T) {
	const slots, callers = 2, 8
	h := NewHasher(weak, slots)
	entered := make(chan struct{}, callers)
	waiting := make(chan struct{}, callers)
	release := make(chan struct{})
	h.onWait = func() { waiting <- struct{}{} }
	h.inSlot = func() {
		entered <- struct{}{}
		<-release
	}

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := h.Hash(t.Context(), "correct horse battery staple")
			errs <- err
		})
	}
	// Until release is closed no slot comes free, so each caller signals
	// exactly once: entered if it got a slot, waiting if not.
	var in, out int
	for in+out < callers {
		select {
		case <-entered:
			in++
		case <-waiting:
			out++
		}
	}
	if in != slots || out != callers-slots {
		t.Errorf("%d callers hashing and %d waiting, want %d and %d", in, out, slots, callers-slots)
	}
	if got := metric(t, h, "password_hashes_in_flight"); got != slots {
		t.Errorf("password_hashes_in_flight = %v, want %d", got, slots)
	}
	if got := metric(t, h, "password_hash_waiting"); got != callers-slots {
		t.Errorf("password_hash_waiting = %v, want %d", got, callers-slots)
	}

	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Hash: %v", err)
		}
	}
	for name, want := range map[string]float64{
		"password_hashes_in_flight":      0,
		"password_hash_waiting":          0,
		"password_hash_duration_seconds": callers,
		"password_hash_busy_total":       0,
	} {
		if got := metric(t, h, name); got != want {
			t.Errorf("after the burst, %s = %v, want %v", name, got, want)
		}
	}
}

func TestHasherBusy(t *testing.T) {
	h := NewHasher(weak, 2)
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// Hold both slots, as two long hashes would.
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Hash", func() error { _, err := h.Hash(ctx, "x"); return err }},
		{"Verify", func() error { _, _, err := h.Verify(ctx, "x", encoded); return err }},
		{"Verify unknown account", func() error { _, _, err := h.Verify(ctx, "x", ""); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want ErrBusy and context.Canceled", err)
			}
		})
	}
	if got := metric(t, h, "password_hash_busy_total"); got != 3 {
		t.Errorf("password_hash_busy_total = %v, want 3", got)
	}
	if got := metric(t, h, "password_hash_waiting"); got != 0 {
		t.Errorf("password_hash_waiting = %v, want 0", got)
	}

	// Once a slot is free, even an ended context hashes: it only bounds the wait.
	<-h.slots
	if _, err := h.Hash(ctx, "x"); err != nil {
		t.Errorf("Hash with a free slot and an ended context: %v", err)
	}
}

func TestNewHasher(t *testing.T) {
	for _, tc := range []struct{ concurrency, slots int }{{-1, 1}, {0, 1}, {1, 1}, {3, 3}} {
		t.Run("concurrency "+strconv.Itoa(tc.concurrency), func(t *testing.T) {
			if got := cap(NewHasher(weak, tc.concurrency).slots); got != tc.slots {
				t.Errorf("slots = %d, want %d", got, tc.slots)
			}
		})
	}
	t.Run("Params", func(t *testing.T) {
		if got := NewHasher(weak, 1).Params(); got != weak {
			t.Errorf("Params() = %+v, want %+v", got, weak)
		}
	})
	for _, tc := range []struct {
		name   string
		params func(*Params)
	}{
		{"zero iterations", func(p *Params) { p.Iterations = 0 }},
		{"zero parallelism", func(p *Params) { p.Parallelism = 0 }},
		{"zero salt", func(p *Params) { p.SaltLength = 0 }},
		{"zero key", func(p *Params) { p.KeyLength = 0 }},
	} {
		t.Run("panics on "+tc.name, func(t *testing.T) {
			p := weak
			tc.params(&p)
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", p)
				}
			}()
			NewHasher(p, 1)
		})
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	h := NewHasher(OWASP, 1)
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h := NewHasher(OWASP, 1)
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func TestHasherMaxWait(t *testing.T) {
	h := NewHasher(weak, 1)
	h.MaxWait = 20 * time.Millisecond
	h.slots <- struct{}{} // a long hash holds the only slot
	_, err := h.Hash(t.Context(), "correct horse battery staple")
	if !errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with the slot held past MaxWait = %v, want ErrBusy without a cancelled context", err)
	}
	<-h.slots
	if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
		t.Fatalf("Hash with a free slot: %v", err)
	}
}
