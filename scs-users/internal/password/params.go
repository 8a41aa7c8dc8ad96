package password

import (
	"errors"
	"fmt"
	"strings"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// OWASP is the Password Storage Cheat Sheet's first argon2id configuration:
// m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte key.
var OWASP = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// owaspPairs are the cheat sheet's equivalent argon2id configurations (all
// with p=1), most memory first: each trades memory for iterations.
var owaspPairs = []struct{ memoryKiB, iterations uint32 }{
	{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5},
}

// Bounds on what Validate accepts and on what Verify accepts from a stored
// hash. The upper ones keep a corrupt or hostile hash from allocating
// terabytes or hashing for minutes; Validate enforces them too, so that a
// hasher never writes a hash that it would later refuse to read.
const (
	minSaltLength = 16
	minKeyLength  = 16
	maxMemoryKiB  = 4 << 20 // 4 GiB
	maxIterations = 100
	maxSaltKeyLen = 1024 // bytes, for the salt and the key each
)

// Validate refuses parameters weaker than the cheat sheet's minimum, and
// absurd ones. The rule for memory and iterations: MemoryKiB is at least 7168
// (7 MiB), and Iterations is at least the cheat sheet's for the largest of its
// memory sizes that MemoryKiB reaches: 1 from 47104 KiB, 2 from 19456, 3 from
// 12288, 4 from 9216, 5 from 7168. Memory above 4 GiB and more than 100
// iterations are refused. Parallelism must be at least 1 (the cheat sheet
// uses 1; more lanes share the same memory). The salt and the key must be 16
// to 1024 bytes.
//
// The error lists every problem in one line, naming each field.
func (p Params) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	lowest := owaspPairs[len(owaspPairs)-1]
	switch {
	case p.MemoryKiB < lowest.memoryKiB:
		add("MemoryKiB is %d, below the minimum of %d KiB", p.MemoryKiB, lowest.memoryKiB)
	case p.MemoryKiB > maxMemoryKiB:
		add("MemoryKiB is %d, above the maximum of %d KiB (4 GiB)", p.MemoryKiB, maxMemoryKiB)
	default:
		if need := minIterations(p.MemoryKiB); p.Iterations < need {
			msg := fmt.Sprintf("Iterations is %d, below the %d needed with MemoryKiB %d", p.Iterations, need, p.MemoryKiB)
			if more, ok := memoryFor(p.Iterations); ok {
				msg += fmt.Sprintf(" (or raise MemoryKiB to %d)", more)
			}
			add("%s", msg)
		}
	}
	if p.Iterations > maxIterations {
		add("Iterations is %d, above the maximum of %d", p.Iterations, maxIterations)
	}
	if p.Parallelism == 0 {
		add("Parallelism is 0; it must be at least 1")
	}
	for _, f := range []struct {
		name string
		v    uint32
		min  uint32
	}{{"SaltLength", p.SaltLength, minSaltLength}, {"KeyLength", p.KeyLength, minKeyLength}} {
		switch {
		case f.v < f.min:
			add("%s is %d bytes, below the minimum of %d", f.name, f.v, f.min)
		case f.v > maxSaltKeyLen:
			add("%s is %d bytes, above the maximum of %d", f.name, f.v, maxSaltKeyLen)
		}
	}
	if len(problems) > 0 {
		return errors.New("password: argon2id parameters: " + strings.Join(problems, "; "))
	}
	return nil
}

// minIterations is the cheat sheet's iteration count for memoryKiB, which is
// at least the lowest pair's memory.
func minIterations(memoryKiB uint32) uint32 {
	for _, pair := range owaspPairs {
		if memoryKiB >= pair.memoryKiB {
			return pair.iterations
		}
	}
	return owaspPairs[len(owaspPairs)-1].iterations
}

// memoryFor is the least memory with which the cheat sheet accepts
// iterations, if any does.
func memoryFor(iterations uint32) (uint32, bool) {
	for i := len(owaspPairs) - 1; i >= 0; i-- {
		if owaspPairs[i].iterations <= iterations {
			return owaspPairs[i].memoryKiB, true
		}
	}
	return 0, false
}

// storable reports why argon2id could not hash with p, or why Verify would
// refuse a hash stored with p. Its minimums are RFC 9106's (8-byte salt,
// 4-byte tag, 8 KiB of memory per lane), lower than Validate's, so that weak
// parameters still verify (and are then re-hashed).
func (p Params) storable() error {
	switch {
	case p.Iterations < 1:
		return errors.New("t is 0")
	case p.Iterations > maxIterations:
		return fmt.Errorf("t is above %d", maxIterations)
	case p.Parallelism < 1:
		return errors.New("p is 0")
	case p.MemoryKiB < 8*uint32(p.Parallelism):
		return errors.New("m is below 8 KiB per lane")
	case p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("m is above %d KiB", maxMemoryKiB)
	case p.SaltLength < 8 || p.SaltLength > maxSaltKeyLen:
		return fmt.Errorf("the salt is not 8 to %d bytes long", maxSaltKeyLen)
	case p.KeyLength < 4 || p.KeyLength > maxSaltKeyLen:
		return fmt.Errorf("the key is not 4 to %d bytes long", maxSaltKeyLen)
	}
	return nil
}
