// Package matching decides who a joining WhisperChat user is paired with: the
// waiting user nearest to them whose great-circle distance is within both
// users' ranges.
//
// It is pure and in memory: no storage, no clock, no goroutines. Nothing in it
// is safe for concurrent use; the waiting room holds its lock around every call.
//
// Index is the spatial index the service uses. AllPairs is the baseline, a scan
// over every waiting user; it applies the very same decision rule and so is
// also the oracle the index is tested against.
package matching

import (
	"fmt"
	"math"
)

// earthRadiusKm is the IUGG mean Earth radius (R1).
const earthRadiusKm = 6371.0088

const degToRad = math.Pi / 180

// Point is a location in degrees.
type Point struct{ Lat, Lon float64 }

// Valid reports whether p is a location on Earth: latitude in [-90, 90] and
// longitude in [-180, 180]. NaN and infinities fail the comparisons.
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}

// Distance is the great-circle distance in km between a and b (haversine, mean
// Earth radius 6371.0088 km).
func Distance(a, b Point) float64 {
	return distanceKm(a, b, cosLat(a), cosLat(b))
}

// cosLat is the cosine of p's latitude, through Sincos so that the index gets
// the very same bits as Distance along with the sine it needs anyway.
func cosLat(p Point) float64 {
	_, cos := math.Sincos(p.Lat * degToRad)
	return cos
}

// distanceKm is Distance with the cosines of the latitudes given, so that the
// index computes each entry's once, at Add. Given cosLat's values it returns
// Distance's bits exactly, which the oracle tests rely on; the explicit
// float64 conversions forbid the compiler to fuse multiply-adds differently
// where it inlines this.
//
// Haversine rather than the spherical law of cosines because it stays accurate
// for the sub-kilometre distances that small ranges compare against.
func distanceKm(a, b Point, cosA, cosB float64) float64 {
	sLat := math.Sin((b.Lat - a.Lat) * degToRad / 2)
	sLon := math.Sin((b.Lon - a.Lon) * degToRad / 2)
	h := float64(sLat*sLat) + float64(float64(cosA*cosB)*float64(sLon*sLon))
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(min(h, 1)))
}

// Entry is one waiting user.
type Entry struct {
	UserID  string
	At      Point
	RangeKm float64
	// Since orders waiters: smaller waited longer (the caller passes e.g. a
	// monotonic join sequence or unix micros).
	Since int64
}

// valid reports whether e can be indexed or matched. The service validates
// ranges (0.1–500 km) at the edge; here any finite range works, larger ones
// only cost more.
func (e Entry) valid() bool {
	return e.At.Valid() && e.RangeKm >= 0 && !math.IsInf(e.RangeKm, 1)
}

func mustBeValid(e Entry) {
	if !e.valid() {
		// A bad entry is the caller's bug; indexing it would corrupt the
		// cell arithmetic, so fail loudly instead.
		panic(fmt.Sprintf("matching: invalid entry for user %q: at %v, range %v km", e.UserID, e.At, e.RangeKm))
	}
}

// picker applies the decision rule. Index and AllPairs both feed their
// candidates to it, so the two cannot drift apart.
type picker struct {
	joiner    Entry
	joinerCos float64 // cosLat(joiner.At)
	eligible  func(userID string) bool
	best      Entry
	bestKm    float64
	found     bool
}

// newPicker starts a decision for joiner, whose cosLat is joinerCos.
func newPicker(joiner Entry, joinerCos float64, eligible func(userID string) bool) picker {
	return picker{joiner: joiner, joinerCos: joinerCos, eligible: eligible}
}

// offer considers other, whose cosLat is otherCos, as the joiner's partner and
// reports whether it is the best so far.
func (p *picker) offer(other Entry, otherCos float64) bool {
	return p.offerAt(other, distanceKm(p.joiner.At, other.At, p.joinerCos, otherCos))
}

// offerAt is offer for other at distance d (by Distance) from the joiner. The
// order in which candidates are offered does not matter: (distance, Since,
// UserID) is a total order over distinct users.
func (p *picker) offerAt(other Entry, d float64) bool {
	if other.UserID == p.joiner.UserID || d > p.joiner.RangeKm || d > other.RangeKm {
		return false
	}
	if p.found && !precedes(d, other, p.bestKm, p.best) {
		return false
	}
	// eligible comes last: it is the caller's check (blocks, recent partners)
	// and need only be asked about users that would otherwise win.
	if p.eligible != nil && !p.eligible(other.UserID) {
		return false
	}
	p.best, p.bestKm, p.found = other, d, true
	return true
}

func (p *picker) result() (Entry, float64, bool) {
	if !p.found {
		return Entry{}, 0, false
	}
	return p.best, p.bestKm, true
}

// precedes reports whether candidate c at distance d beats best at bestKm:
// nearer first, then the longer waiter, then the smaller UserID, so that every
// decision is deterministic.
func precedes(d float64, c Entry, bestKm float64, best Entry) bool {
	if d != bestKm {
		return d < bestKm
	}
	if c.Since != best.Since {
		return c.Since < best.Since
	}
	return c.UserID < best.UserID
}
