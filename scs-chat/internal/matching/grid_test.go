package matching

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// cellPoint is the point at fractions (u, v) ∈ [0,1]² of cell col of bd.
func cellPoint(bd *band, col int, u, v float64) Point {
	lat := (bd.lo + u*(bd.hi-bd.lo)) / degToRad
	lon := -180 + (float64(col)+v)*bd.colDeg
	return Point{Lat: min(max(lat, -90), 90), Lon: min(lon, 180)}
}

// randomOrigin favours the hard places: poles, the antimeridian, cell edges.
func randomOrigin(r *rand.Rand, bands []band) Point {
	switch r.IntN(4) {
	case 0:
		return Point{Lat: 85 + r.Float64()*5, Lon: r.Float64()*360 - 180}
	case 1:
		return Point{Lat: r.Float64()*180 - 90, Lon: 179 + 2*r.Float64() - 360*float64(r.IntN(2))}
	case 2:
		b := r.IntN(numBands)
		return cellPoint(&bands[b], r.IntN(bands[b].cols), float64(r.IntN(2)), float64(r.IntN(2)))
	default:
		return uniformOnSphere(r, -90, 90)
	}
}

// chordSqOf is the squared unit-sphere chord of a distance, computed apart from
// the code under test.
func chordSqOf(km float64) float64 {
	c := 2 * math.Sin(km/earthRadiusKm/2)
	return c * c
}

// TestLowerBound checks that the bounds (the cell's and its band's) are below
// the squared chord of Distance to every point of a 41×41 grid over the cell,
// corners and edges included, and that the cell's is tight: for cells a search
// can reach (< 1,000 km), within the grid spacing of the nearest grid point,
// else searches would visit far more cells than they need.
func TestLowerBound(t *testing.T) {
	t.Parallel()
	const seed = 11
	r := rand.New(rand.NewPCG(seed, seed))
	bands := newBands()
	for i := range 3000 {
		at := randomOrigin(r, bands)
		if at.Lon > 180 {
			at.Lon -= 360
		} else if at.Lon < -180 {
			at.Lon += 360
		}
		o := newOrigin(at)
		b := bandOf(at.Lat) + r.IntN(9) - 4
		if i%3 == 0 {
			b = r.IntN(numBands)
		}
		b = min(max(b, 0), numBands-1)
		bd := &bands[b]
		col := (bd.colOf(at.Lon) + r.IntN(7) - 3 + bd.cols) % bd.cols
		if i%3 == 1 {
			col = r.IntN(bd.cols)
		}
		lb := o.lowerBound(bd, col)
		bb := o.bandBound(bd)
		nearest := math.Inf(1)
		const n = 40
		for u := range n + 1 {
			for v := range n + 1 {
				d := Distance(at, cellPoint(bd, col, float64(u)/n, float64(v)/n))
				if chordSqOf(d) < lb {
					t.Fatalf("seed %d: bound %g from %v to cell (%d,%d) exceeds the chord² %g (%.9f km) to a point of it", seed, lb, at, b, col, chordSqOf(d), d)
				}
				if chordSqOf(d) < bb {
					t.Fatalf("seed %d: band bound %g from %v to band %d exceeds the chord² %g (%.9f km) to a point of cell %d", seed, bb, at, b, chordSqOf(d), d, col)
				}
				nearest = min(nearest, d)
			}
		}
		// The grid spacing is at most ~1.5 km (the polar wedges are widest).
		if nearest < 1000 && lb < chordSqOf(max(nearest-2, 0)) {
			t.Fatalf("seed %d: bound %g from %v to cell (%d,%d) is loose: a grid point is at %.3f km", seed, lb, at, b, col, nearest)
		}
	}
}

// TestBoundsGrowAlongWalks checks the property the search's stopping rule
// rests on: walking a band east or west from the joiner's column, bounds never
// decrease.
func TestBoundsGrowAlongWalks(t *testing.T) {
	t.Parallel()
	const seed = 12
	r := rand.New(rand.NewPCG(seed, seed))
	bands := newBands()
	for range 300 {
		at := randomOrigin(r, bands)
		at.Lon = math.Mod(at.Lon+540, 360) - 180
		o := newOrigin(at)
		for _, b := range []int{0, 1, bandOf(at.Lat), r.IntN(numBands), numBands - 1} {
			bd := &bands[b]
			center := bd.colOf(at.Lon)
			centerBound := o.bandBound(bd)
			if lb := o.lowerBound(bd, center); math.Abs(lb-centerBound) > 2e-15 {
				t.Fatalf("seed %d: from %v, band %d: band bound %g, but the column's bound is %g", seed, at, b, centerBound, lb)
			}
			prevE, prevW := centerBound, centerBound
			for off := 1; off <= bd.eastReach(); off++ {
				lb := o.lowerBound(bd, (center+off)%bd.cols)
				if lb < prevE-2e-15 {
					t.Fatalf("seed %d: from %v, band %d east offset %d: bound %.9f < previous %.9f", seed, at, b, off, lb, prevE)
				}
				prevE = lb
			}
			for off := 1; off <= bd.westReach(); off++ {
				lb := o.lowerBound(bd, (center-off+bd.cols)%bd.cols)
				if lb < prevW-2e-15 {
					t.Fatalf("seed %d: from %v, band %d west offset %d: bound %.9f < previous %.9f", seed, at, b, off, lb, prevW)
				}
				prevW = lb
			}
			// Band probes: each band outward from home is no nearer.
			home := bandOf(at.Lat)
			if next := b + 1; b >= home && next < numBands {
				if o.bandBound(&bands[next]) < centerBound-2e-15 {
					t.Fatalf("seed %d: from %v, band %d's bound is below band %d's", seed, at, next, b)
				}
			}
			if next := b - 1; b <= home && next >= 0 {
				if o.bandBound(&bands[next]) < centerBound-2e-15 {
					t.Fatalf("seed %d: from %v, band %d's bound is below band %d's", seed, at, next, b)
				}
			}
		}
	}
}

// TestWalks checks nextEast and nextWest against a plain loop, and that the
// two walks and the center column cover each column of a band exactly once.
func TestWalks(t *testing.T) {
	t.Parallel()
	const seed = 13
	r := rand.New(rand.NewPCG(seed, seed))
	bands := newBands()
	for _, b := range []int{0, 1, 5, 100, 359, 360, 600, numBands - 1} {
		bd := &bands[b]
		t.Run(fmt.Sprintf("band=%d,cols=%d", b, bd.cols), func(t *testing.T) {
			seen := make(map[int]int)
			seen[0]++
			for off := 1; off <= bd.eastReach(); off++ {
				seen[off%bd.cols]++
			}
			for off := 1; off <= bd.westReach(); off++ {
				seen[(bd.cols-off)%bd.cols]++
			}
			if len(seen) != bd.cols {
				t.Fatalf("walks cover %d of %d columns", len(seen), bd.cols)
			}
			for c, n := range seen {
				if n != 1 {
					t.Fatalf("column %d covered %d times", c, n)
				}
			}
			for range 500 {
				clear(bd.occupied)
				density := r.Float64() * r.Float64()
				for c := range bd.cols {
					if r.Float64() < density {
						bd.occupied.set(c)
					}
				}
				center := r.IntN(bd.cols)
				maxOff := bd.cols
				if r.IntN(2) == 0 {
					maxOff = r.IntN(bd.cols/2 + 2)
				}
				off := r.IntN(bd.eastReach() + 1)
				want := -1
				for o := off + 1; o <= min(bd.eastReach(), maxOff); o++ {
					if bd.occupied.has((center + o) % bd.cols) {
						want = o
						break
					}
				}
				if got := bd.nextEast(center, off, maxOff); got != want {
					t.Fatalf("nextEast(%d, %d, %d) = %d, want %d", center, off, maxOff, got, want)
				}
				off = r.IntN(bd.westReach() + 1)
				want = -1
				for o := off + 1; o <= min(bd.westReach(), maxOff); o++ {
					if bd.occupied.has((center - o + bd.cols) % bd.cols) {
						want = o
						break
					}
				}
				if got := bd.nextWest(center, off, maxOff); got != want {
					t.Fatalf("nextWest(%d, %d, %d) = %d, want %d", center, off, maxOff, got, want)
				}
			}
		})
	}
}

// destination is the point km from p on the given bearing (radians).
func destination(p Point, bearing, km float64) Point {
	lat1, lon1, delta := p.Lat*degToRad, p.Lon*degToRad, km/earthRadiusKm
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(delta) + math.Cos(lat1)*math.Sin(delta)*math.Cos(bearing))
	lon2 := lon1 + math.Atan2(math.Sin(bearing)*math.Sin(delta)*math.Cos(lat1), math.Cos(delta)-math.Sin(lat1)*math.Sin(lat2))
	return Point{Lat: lat2 / degToRad, Lon: math.Mod(lon2/degToRad+540, 360) - 180}
}

// TestLonReach checks that no point within range lies farther in longitude
// than lonReachDeg says, at any latitude up to the poles, and that the reach
// is not much wider than the cap's exact half-width (within y²/3, so 2% for
// y = sin ρ / cos lat < 0.2, a 500 km range below latitude 66°).
func TestLonReach(t *testing.T) {
	t.Parallel()
	const seed = 14
	r := rand.New(rand.NewPCG(seed, seed))
	bands := newBands()
	for range 20000 {
		at := randomOrigin(r, bands)
		at.Lon = math.Mod(at.Lon+540, 360) - 180
		km := logUniform(r, 0.1, 500)
		o := newOrigin(at)
		reach := lonReachDeg(o.cosLat, km)
		// Points on the rim are the hardest case; Distance decides who is in.
		p := destination(at, r.Float64()*2*math.Pi, km*(1-1e-12*r.Float64()))
		if Distance(at, p) > km {
			continue
		}
		if gap := lonGapDeg(at.Lon, p.Lon, p.Lon); gap > reach {
			t.Fatalf("seed %d: %v is %.6f km from %v (range %.6f) but %.9f° away in longitude, reach %.9f°", seed, p, Distance(at, p), at, km, gap, reach)
		}
		rho := km / earthRadiusKm
		if y := math.Sin(rho) / o.cosLat; y < 0.2 {
			if exact := math.Asin(y) / degToRad; reach > exact*1.02+1e-6 {
				t.Fatalf("seed %d: reach %.6f° from %v for %.3f km, the cap spans only %.6f°", seed, reach, at, km, exact)
			}
		}
	}
}
