package matching

import "math"

// The grid: latitude bands bandDeg high, each cut into as many longitude
// columns as keep its cells roughly square, so a cell is about 28 × 28 km
// everywhere (the polar bands have 3 wedge-shaped cells).
//
// Why 0.25° (27.8 km): the cost of a decision is the entries scanned in the
// cells near the joiner plus the probes (bounds, bitmap steps) to reach them.
// Smaller cells scan fewer entries in a dense city but need more probes; larger
// ones the reverse. With BenchmarkJoin's room, 0.125°–0.5° were within noise
// of each other at 10k waiting users; 0.125° was fastest at 100k (city cells
// crowd), 0.5° at 1k and in p99 (fewer bands); 0.25° sits in between.
// A 500 km search spans ~37 bands; the bitmaps make empty ones, and empty
// cells, cost a few word scans.
const (
	bandDeg  = 0.25
	numBands = int(180 / bandDeg)
)

// boundSlack is subtracted from every cell's exact bound (a squared chord) so
// that rounding, in binning an entry into a cell or in computing the bound,
// can never make the bound exceed a chord the prefilter computes. Those errors
// are at most ~1e-14 whatever the distance; 1e-13 is a chord of 2 m, so the
// slack costs no pruning.
const boundSlack = 1e-13

// band is one latitude band of the grid and the occupancy of its cells.
type band struct {
	lo, hi       float64 // edge latitudes, radians
	sinLo, cosLo float64
	sinHi, cosHi float64
	cols         int
	colDeg       float64 // width of a column in degrees of longitude
	perDeg       float64 // 1 / colDeg, columns per degree
	occupied     bitset  // the columns whose cells hold entries
	nonEmpty     int     // how many
}

func newBands() []band {
	bands := make([]band, numBands)
	for b := range bands {
		loDeg := -90 + float64(b)*bandDeg
		mid := (loDeg + bandDeg/2) * degToRad
		cols := max(1, int(math.Round(360/bandDeg*math.Cos(mid))))
		bd := &bands[b]
		bd.lo, bd.hi = loDeg*degToRad, (loDeg+bandDeg)*degToRad
		bd.sinLo, bd.cosLo = math.Sincos(bd.lo)
		bd.sinHi, bd.cosHi = math.Sincos(bd.hi)
		bd.cols = cols
		bd.colDeg = 360 / float64(cols)
		bd.perDeg = float64(cols) / 360
		bd.occupied = newBitset(cols)
	}
	return bands
}

// bandOf is the band holding lat. The conversion truncates, which is floor
// for the non-negative quotient.
func bandOf(lat float64) int {
	return min(max(int((lat+90)/bandDeg), 0), numBands-1)
}

// colOf is the column holding lon. Longitude 180 goes to the last column,
// whose east edge it is; -180 and 180 are one meridian and the bounds treat
// longitudes as circular, so either column would be correct.
func (bd *band) colOf(lon float64) int {
	return min(max(int((lon+180)/bd.colDeg), 0), bd.cols-1)
}

// cellKey names cell (band, col) in Index.cells.
type cellKey uint64

func keyOf(b, col int) cellKey { return cellKey(uint64(b)<<32 | uint64(col)) }

// A search walks each band outward from the column holding the joiner's
// longitude: east over offsets 1..eastReach, west over 1..westReach. Together
// they cover every other column exactly once, and neither goes past the
// antimeridian of the joiner, which is what makes each direction's lower
// bounds non-decreasing (see lowerBound).
func (bd *band) eastReach() int { return bd.cols / 2 }
func (bd *band) westReach() int { return bd.cols - 1 - bd.eastReach() }

// reach is the largest offset from the joiner's column at which a cell can hold
// points within lonReachDeg of the joiner's longitude. A cell k columns away is
// more than (k-1) columns' width away in longitude (at least that, west), so
// k ≤ lonReachDeg/colDeg + 1; should the product round below a whole number
// k-1, the cell at k is just out of reach anyway.
func (bd *band) reach(lonReachDeg float64) int {
	return int(min(lonReachDeg*bd.perDeg, float64(bd.cols))) + 1
}

// nextEast returns the smallest offset in (off, min(eastReach, maxOff)] whose
// column (center+offset, wrapping) is occupied, or -1.
func (bd *band) nextEast(center, off, maxOff int) int {
	from, to := center+off+1, center+min(bd.eastReach(), maxOff) // columns, inclusive, unwrapped
	if from > to {
		return -1
	}
	if from < bd.cols {
		if c := bd.occupied.first(from, min(to, bd.cols-1)+1); c >= 0 {
			return c - center
		}
	}
	if to >= bd.cols {
		if c := bd.occupied.first(max(from-bd.cols, 0), to-bd.cols+1); c >= 0 {
			return c + bd.cols - center
		}
	}
	return -1
}

// nextWest returns the smallest offset in (off, min(westReach, maxOff)] whose
// column (center-offset, wrapping) is occupied, or -1.
func (bd *band) nextWest(center, off, maxOff int) int {
	from, to := center-off-1, center-min(bd.westReach(), maxOff) // columns, inclusive, descending, unwrapped
	if from < to {
		return -1
	}
	if from >= 0 {
		if c := bd.occupied.last(max(to, 0), from+1); c >= 0 {
			return center - c
		}
	}
	if to < 0 {
		if c := bd.occupied.last(to+bd.cols, min(from+bd.cols, bd.cols-1)+1); c >= 0 {
			return center + bd.cols - c
		}
	}
	return -1
}

// origin is a joiner's location, precomputed for the bounds and the prefilter.
type origin struct {
	lonDeg         float64
	lat            float64 // radians
	sinLat, cosLat float64
	unit           unit
}

func newOrigin(p Point) origin {
	o := origin{lonDeg: p.Lon, lat: p.Lat * degToRad}
	o.sinLat, o.cosLat = math.Sincos(o.lat) // cosLat(p)'s bits: the picker uses them
	sinLon, cosLon := math.Sincos(p.Lon * degToRad)
	o.unit = unit{o.cosLat * cosLon, o.cosLat * sinLon, o.sinLat}
	return o
}

// lowerBound is at most the squared chord (on the unit sphere) from o to any
// point of cell col of bd. The search compares squared chords rather than km:
// they order distances the same way and need no inverse trigonometry.
//
// It is the exact minimum, less the slack (and a hair less for cells near in
// longitude, see cosAtMost). For every point of the cell, the point at the
// same latitude on the cell's edge meridian nearest to o in longitude is at
// least as close, because for a fixed latitude the distance grows with the
// longitude gap over [0, π]. So the minimum lies on that
// meridian, at gap g; along it the cosine of the angular distance is
//
//	f(φ) = sin φ0 sin φ + cos φ0 cos φ cos g = M cos(φ − φ*),
//
// with M = √(sin²φ0 + cos²φ0 cos²g) and φ* = atan2(sin φ0, cos φ0 cos g).
// Over the band's latitudes its maximum is M when φ* lies inside, else at an
// edge. This holds at the poles too (the polar band's edge is the pole) and
// across the antimeridian (g is measured round the circle). The squared chord
// is then 2 − 2·max f.
//
// Since f only falls as g grows (cos φ0 cos φ ≥ 0), the bound never decreases
// as g does: walking a band east (or west) from the joiner's column, up to the
// joiner's antimeridian, the bounds are non-decreasing, which lets a search stop
// a direction at the first cell beyond its limit. For the joiner's own column
// (g = 0) it is the latitude gap alone, a bound for the whole band.
func (o *origin) lowerBound(bd *band, col int) float64 {
	west := -180 + float64(col)*bd.colDeg
	cosGap := cosAtMost(lonGapDeg(o.lonDeg, west, west+bd.colDeg) * degToRad)
	x, y := o.cosLat*cosGap, o.sinLat // f = M cos(φ − φ*) with (x, y) = M (cos φ*, sin φ*)
	var f float64
	m := math.Sqrt(x*x + y*y)
	// φ* is in [-π/2, π/2] only when x ≥ 0, and there sin is increasing.
	if x >= 0 && y >= m*bd.sinLo && y <= m*bd.sinHi {
		f = m
	} else {
		f = max(y*bd.sinLo+x*bd.cosLo, y*bd.sinHi+x*bd.cosHi)
	}
	return max(2-2*f-boundSlack, 0)
}

// bandBound is lowerBound for a band: its latitude gap alone, which bounds
// every cell of it and is lowerBound(bd, bd.colOf(joiner's longitude)) without
// the longitude work.
func (o *origin) bandBound(bd *band) float64 {
	var f float64 // cos of the angle to the nearest latitude of the band
	switch {
	case o.lat < bd.lo:
		f = o.sinLat*bd.sinLo + o.cosLat*bd.cosLo
	case o.lat > bd.hi:
		f = o.sinLat*bd.sinHi + o.cosLat*bd.cosHi
	default:
		return 0
	}
	return max(2-2*f-boundSlack, 0)
}

// cosAtMost is cos g, or for small g (every cell within 500 km of a joiner
// away from the poles) a slightly larger value that costs a few
// multiplications, where math.Cos was a fifth of a search. cos g ≤ 1 − g²/2 +
// g⁴/24 for every g, within g⁶/720 (relatively, 2e-5 of 1 − cos g at the
// cut-off). A larger cosine only makes f larger, so the bound smaller: still a
// lower bound. And it stays non-increasing in g across the cut-off, the
// polynomial being above cos on one side and cos decreasing on the other, so
// the bounds still do not decrease along a walk.
func cosAtMost(g float64) float64 {
	if g > 0.3 {
		return math.Cos(g)
	}
	g2 := g * g
	return 1 - g2/2 + g2*g2/24
}

// lonReachDeg bounds the longitude difference, in degrees, between a joiner
// whose latitude has cosine cosLat and any point within km of it. The
// spherical cap of angular radius ρ = km/R spans asin(sin ρ / cos lat) either
// way, or all longitudes when it holds a pole. Without trigonometry: with
// y = ρ / cos lat ≥ sin ρ / cos lat, asin y ≤ tan(asin y) = y / √(1 − y²),
// within y³/3 of it. A cap holding a pole has cos lat ≤ sin ρ ≤ ρ, so y ≥ 1.
// All inflated past rounding, as everything that decides what may be skipped.
func lonReachDeg(cosLat, km float64) float64 {
	y := (km/earthRadiusKm*(1+1e-9) + 1e-12) * (1 + 1e-9) / cosLat
	if y >= 1 {
		return 180
	}
	return min(y/math.Sqrt(1-y*y)*(1+1e-9)/degToRad+1e-9, 180)
}

// lonGapDeg is the smallest longitude difference, in [0, 180], between lon and
// a longitude in [west, east], going round the circle either way. All three are
// in [-180, 180], so one turn fixes each difference (no math.Floor on the hot
// path).
func lonGapDeg(lon, west, east float64) float64 {
	if lon >= west && lon <= east {
		return 0
	}
	toWest, fromEast := west-lon, lon-east // going east to the cell, going west to it
	if toWest < 0 {
		toWest += 360
	}
	if fromEast < 0 {
		fromEast += 360
	}
	return min(toWest, fromEast, 180)
}

// unit is a point on the unit sphere. Comparing squared chord lengths between
// unit vectors is a multiply-add per candidate, so the index computes the
// haversine only for candidates already known to be in range.
type unit struct{ x, y, z float64 }

func unitOf(p Point) unit { return newOrigin(p).unit }

func chordSq(a, b unit) float64 {
	dx, dy, dz := a.x-b.x, a.y-b.y, a.z-b.z
	return dx*dx + dy*dy + dz*dz
}

// chordSqWithin is a squared chord length that every pair of points within km
// of each other (by Distance) stays under: the squared arc, since a chord is
// never longer than its arc (by at most 0.05% up to 500 km, a negligible loss of
// pruning for no trigonometry). It is inflated well beyond the rounding of
// either computation, so the prefilter only ever lets extra candidates through
// to the exact check, never drops one.
func chordSqWithin(km float64) float64 {
	arc := km/earthRadiusKm*(1+1e-9) + 1e-12
	return arc * arc
}
