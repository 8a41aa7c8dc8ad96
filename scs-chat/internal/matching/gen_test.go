package matching

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// matcher is what Index and AllPairs have in common, so one test drives both.
type matcher interface {
	Add(Entry)
	Remove(userID string) bool
	Len() int
	Best(e Entry, eligible func(userID string) bool) (Entry, float64, bool)
}

// hardPlaces are where the geometry is awkward: both sides of the
// antimeridian, the poles and their neighbourhoods, plus two ordinary cities.
var hardPlaces = []Point{
	{-18.1416, 178.4419},  // Suva
	{-13.8333, -171.7667}, // Apia
	{0, 179.95},
	{65.0, -179.999},
	{89.9, 0},
	{-89.95, 120},
	{78.2232, 15.6267},  // Longyearbyen
	{-77.846, 166.676},  // McMurdo Station
	{51.5074, -0.1278},  // London
	{35.6762, 139.6503}, // Tokyo
}

// testWorld draws the entries of the oracle tests: clusters at hard places,
// uniform points, strips along the antimeridian and at the poles, points
// exactly on cell edges, and duplicates of earlier points (ties).
type testWorld struct {
	r     *rand.Rand
	seen  []Point
	bands []band // for the cell edges
}

func newTestWorld(seed uint64) *testWorld {
	return &testWorld{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), bands: newBands()}
}

func (w *testWorld) point() Point {
	r := w.r
	var p Point
	switch k := r.IntN(100); {
	case k < 35:
		sigma := logUniform(r, 0.05, 50)
		p = offsetKm(hardPlaces[r.IntN(len(hardPlaces))], r.NormFloat64()*sigma, r.NormFloat64()*sigma)
	case k < 60:
		p = uniformOnSphere(r, -90, 90)
	case k < 75:
		p = Point{Lat: r.Float64()*180 - 90, Lon: 178 + r.Float64()*4}
		if p.Lon > 180 {
			p.Lon -= 360
		}
	case k < 85:
		p = Point{Lat: 87 + r.Float64()*3, Lon: r.Float64()*360 - 180}
		if r.IntN(2) == 0 {
			p.Lat = -p.Lat
		}
	case k < 95:
		// On band edges and column edges, including ±90 and ±180 exactly.
		b := r.IntN(numBands + 1)
		p.Lat = -90 + float64(b)*bandDeg
		bd := w.bands[min(b, numBands-1)]
		p.Lon = min(-180+float64(r.IntN(bd.cols+1))*bd.colDeg, 180) // the last edge computes to a hair over 180
	default:
		if len(w.seen) == 0 {
			return w.point()
		}
		return w.seen[r.IntN(len(w.seen))]
	}
	w.seen = append(w.seen, p)
	return p
}

func (w *testWorld) rangeKm() float64 {
	switch k := w.r.IntN(100); {
	case k < 4:
		return 0.1
	case k < 8:
		return 500
	case k < 10:
		return 0 // matches only the very same point
	default:
		return logUniform(w.r, 0.1, 500)
	}
}

func (w *testWorld) entry(id string) Entry {
	return Entry{UserID: id, At: w.point(), RangeKm: w.rangeKm(), Since: w.r.Int64N(40)}
}

// eligibleFunc excludes about one user in five, a different set per salt;
// nil (everyone) one time in four.
func eligibleFunc(r *rand.Rand) func(string) bool {
	if r.IntN(4) == 0 {
		return nil
	}
	salt := r.Uint64()
	return func(id string) bool {
		h := fnv.New64a()
		h.Write([]byte(id))
		return (h.Sum64()^salt)%5 != 0
	}
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// uniformOnSphere is uniform by area between two latitudes.
func uniformOnSphere(r *rand.Rand, latLo, latHi float64) Point {
	sLo, sHi := math.Sin(latLo*degToRad), math.Sin(latHi*degToRad)
	return Point{
		Lat: math.Asin(sLo+r.Float64()*(sHi-sLo)) / degToRad,
		Lon: r.Float64()*360 - 180,
	}
}

// offsetKm moves p north and east by the given km, going over a pole or
// across the antimeridian as needed.
func offsetKm(p Point, northKm, eastKm float64) Point {
	const kmPerDeg = earthRadiusKm * degToRad
	lat := p.Lat + northKm/kmPerDeg
	lon := p.Lon + eastKm/(kmPerDeg*math.Max(math.Cos(p.Lat*degToRad), 1e-6))
	if lat > 90 {
		lat, lon = 180-lat, lon+180
	} else if lat < -90 {
		lat, lon = -180-lat, lon+180
	}
	lon = math.Mod(lon+180, 360)
	if lon < 0 {
		lon += 360
	}
	return Point{Lat: lat, Lon: lon - 180}
}

func userID(i int) string { return fmt.Sprintf("u%05d", i) }
