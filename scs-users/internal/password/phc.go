package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// encode writes the reference implementation's encoding, a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, both in unpadded standard
// base64. Every parameter is in the string, so raising them later leaves old
// hashes verifiable.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decode reads what encode writes, and nothing else: only the canonical form
// is accepted (no leading zeros, no padding, no line breaks, the parameters in
// encode's order), so that one hash has exactly one encoding. The parameters
// are checked before the caller hashes with them: the string comes from the
// database and may be corrupt.
func decode(s string) (p Params, salt, key []byte, err error) {
	malformed := func(reason string) (Params, []byte, []byte, error) {
		// The reason names the part, never its value: the string holds a salt
		// and a key, which belong in no log.
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, reason)
	}
	// "$argon2id$v=19$m=…,t=…,p=…$salt$key" has an empty field before its first $.
	f := strings.SplitN(s, "$", 7)
	if len(f) != 6 || f[0] != "" {
		return malformed("not six $-separated fields")
	}
	if f[1] != "argon2id" {
		return malformed("the algorithm is not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed("the version is not " + strconv.Itoa(argon2.Version))
	}
	costs := strings.Split(f[3], ",")
	if len(costs) != 3 {
		return malformed("the parameters are not m, t and p")
	}
	var v [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		digits, ok := strings.CutPrefix(costs[i], name+"=")
		if !ok {
			return malformed("the parameters are not m, t and p")
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		if v[i], err = number(digits, bits); err != nil {
			return malformed(name + " " + err.Error())
		}
	}
	if salt, err = canonicalBase64(f[4]); err != nil {
		return malformed("the salt " + err.Error())
	}
	if key, err = canonicalBase64(f[5]); err != nil {
		return malformed("the key " + err.Error())
	}
	p = Params{MemoryKiB: uint32(v[0]), Iterations: uint32(v[1]), Parallelism: uint8(v[2]),
		SaltLength: uint32(len(salt)), KeyLength: uint32(len(key))}
	if err := p.storable(); err != nil {
		return malformed(err.Error())
	}
	return p, salt, key, nil
}

// number parses a decimal with no sign and no leading zero that fits in bits.
func number(s string, bits int) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("is not a plain decimal number")
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, errors.New("is too large")
	}
	return n, nil
}

// canonicalBase64 decodes unpadded standard base64, refusing any other
// spelling of the same bytes (the decoder skips line breaks and ignores
// trailing bits). Anything longer than the longest salt or key is refused
// before it is decoded.
func canonicalBase64(s string) ([]byte, error) {
	if len(s) > base64.RawStdEncoding.EncodedLen(maxSaltKeyLen) {
		return nil, fmt.Errorf("is longer than %d bytes", maxSaltKeyLen)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, errors.New("is not unpadded standard base64")
	}
	return b, nil
}
