package password

import (
	"strings"
	"testing"
)

func TestParamsValidate(t *testing.T) {
	owaspWith := func(change func(*Params)) Params {
		p := OWASP
		change(&p)
		return p
	}
	pair := func(m, t uint32) Params {
		return owaspWith(func(p *Params) { p.MemoryKiB, p.Iterations = m, t })
	}
	for _, tc := range []struct {
		name   string
		params Params
		want   []string // in the error, in this order; none for a nil error
	}{
		{"OWASP", OWASP, nil},
		{"m=47104 t=1", pair(47104, 1), nil},
		{"m=19456 t=2", pair(19456, 2), nil},
		{"m=12288 t=3", pair(12288, 3), nil},
		{"m=9216 t=4", pair(9216, 4), nil},
		{"m=7168 t=5", pair(7168, 5), nil},
		{"between pairs, the lower pair's iterations", pair(30000, 2), nil},
		{"more iterations than needed", pair(7168, 10), nil},
		{"more parallelism", owaspWith(func(p *Params) { p.Parallelism = 4 }), nil},
		{"longer salt and key", owaspWith(func(p *Params) { p.SaltLength, p.KeyLength = 32, 64 }), nil},
		{"the largest accepted", Params{MemoryKiB: maxMemoryKiB, Iterations: maxIterations, Parallelism: 255,
			SaltLength: maxSaltKeyLen, KeyLength: maxSaltKeyLen}, nil},

		{"memory below 7 MiB", pair(7167, 10), []string{"MemoryKiB is 7167, below the minimum of 7168 KiB"}},
		{"unit test parameters", weak, []string{"MemoryKiB is 64"}},
		{"m=47103 t=1", pair(47103, 1), []string{"Iterations is 1, below the 2 needed with MemoryKiB 47103 (or raise MemoryKiB to 47104)"}},
		{"m=19455 t=2", pair(19455, 2), []string{"Iterations is 2, below the 3 needed with MemoryKiB 19455 (or raise MemoryKiB to 19456)"}},
		{"m=12287 t=3", pair(12287, 3), []string{"Iterations is 3, below the 4 needed"}},
		{"m=9215 t=4", pair(9215, 4), []string{"Iterations is 4, below the 5 needed"}},
		{"no iterations", pair(47104, 0), []string{"Iterations is 0, below the 1 needed with MemoryKiB 47104"}},
		{"memory above 4 GiB", pair(maxMemoryKiB+1, 1), []string{"MemoryKiB is 4194305, above the maximum"}},
		{"too many iterations", pair(19456, 101), []string{"Iterations is 101, above the maximum of 100"}},
		{"no parallelism", owaspWith(func(p *Params) { p.Parallelism = 0 }), []string{"Parallelism is 0"}},
		{"short salt", owaspWith(func(p *Params) { p.SaltLength = 15 }), []string{"SaltLength is 15 bytes, below the minimum of 16"}},
		{"short key", owaspWith(func(p *Params) { p.KeyLength = 15 }), []string{"KeyLength is 15 bytes, below the minimum of 16"}},
		{"long salt", owaspWith(func(p *Params) { p.SaltLength = 1025 }), []string{"SaltLength is 1025 bytes, above the maximum of 1024"}},
		{"long key", owaspWith(func(p *Params) { p.KeyLength = 1025 }), []string{"KeyLength is 1025 bytes, above the maximum of 1024"}},
		{"zero value, every problem", Params{}, []string{"MemoryKiB", "Parallelism", "SaltLength", "KeyLength"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.params.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tc.params, err)
				}
				// A hasher must be able to read back every hash it writes.
				if err := tc.params.storable(); err != nil {
					t.Errorf("valid %+v would make hashes that Verify refuses: %v", tc.params, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", tc.params)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not say %q (in that order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
