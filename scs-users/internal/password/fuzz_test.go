package password

import (
	"errors"
	"testing"
)

// FuzzVerifyEncoded feeds arbitrary stored hashes to Verify: it must not
// panic, must refuse exactly what decode refuses, with ErrMalformedHash, and
// must accept only the canonical encoding of what it decodes.
func FuzzVerifyEncoded(f *testing.F) {
	h := NewHasher(weak, 1)
	good, err := h.Hash(f.Context(), "pw")
	if err != nil {
		f.Fatal(err)
	}
	other, err := NewHasher(Params{MemoryKiB: 32, Iterations: 2, Parallelism: 2, SaltLength: 8, KeyLength: 4}, 1).Hash(f.Context(), "pw")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", good, other, "$", "$$$$$",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,keyid=x$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, decodeErr := decode(encoded)
		if decodeErr == nil {
			if again := encode(p, salt, key); again != encoded {
				t.Fatalf("decode accepts %q, whose canonical encoding is %q", encoded, again)
			}
			// Decodable but dear parameters (up to 4 GiB, 100 passes) are
			// valid; hashing with them would only make the fuzzer crawl.
			if p.MemoryKiB > 2048 || p.Iterations > 4 {
				return
			}
		}
		ok, _, err := h.Verify(t.Context(), "pw", encoded)
		switch {
		case encoded == "":
			if err != nil || ok {
				t.Fatalf("Verify of no hash = %v, %v; want false, nil", ok, err)
			}
		case decodeErr != nil:
			if !errors.Is(err, ErrMalformedHash) || ok {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformedHash", encoded, ok, err)
			}
		case err != nil:
			t.Fatalf("Verify(%q): %v, though it decodes", encoded, err)
		}
	})
}
