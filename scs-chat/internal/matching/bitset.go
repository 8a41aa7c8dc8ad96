package matching

import "math/bits"

// bitset is a fixed-size set of small integers. The index keeps one per band
// (which of its cells hold entries) and one for the bands themselves, so that
// a search steps from occupied to occupied, 64 empty places per word.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (s bitset) set(i int)      { s[i>>6] |= 1 << (i & 63) }
func (s bitset) clear(i int)    { s[i>>6] &^= 1 << (i & 63) }
func (s bitset) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }

// first returns the smallest member in [from, to), or -1.
func (s bitset) first(from, to int) int {
	for from < to {
		w := from >> 6
		if word := s[w] >> (from & 63); word != 0 {
			if i := from + bits.TrailingZeros64(word); i < to {
				return i
			}
			return -1
		}
		from = (w + 1) << 6
	}
	return -1
}

// last returns the largest member in [from, to), or -1.
func (s bitset) last(from, to int) int {
	for to > from {
		top := to - 1
		w := top >> 6
		if word := s[w] << (63 - top&63); word != 0 {
			if i := top - bits.LeadingZeros64(word); i >= from {
				return i
			}
			return -1
		}
		to = w << 6
	}
	return -1
}
