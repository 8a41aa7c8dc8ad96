package matching

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// benchCities are 50 large cities (approximate centres), where most users of
// the benchmark's room are.
var benchCities = []Point{
	{35.68, 139.69}, {28.61, 77.21}, {31.23, 121.47}, {-23.55, -46.63}, {19.43, -99.13},
	{30.04, 31.24}, {19.08, 72.88}, {39.90, 116.41}, {23.81, 90.41}, {34.69, 135.50},
	{40.71, -74.01}, {24.86, 67.01}, {-34.60, -58.38}, {29.56, 106.55}, {41.01, 28.98},
	{22.57, 88.36}, {14.60, 120.98}, {6.52, 3.38}, {-22.91, -43.17}, {39.34, 117.36},
	{-4.44, 15.27}, {23.13, 113.26}, {34.05, -118.24}, {55.76, 37.62}, {22.54, 114.06},
	{31.55, 74.34}, {12.97, 77.59}, {48.86, 2.35}, {4.71, -74.07}, {-6.21, 106.85},
	{13.08, 80.27}, {-12.05, -77.04}, {13.76, 100.50}, {37.57, 126.98}, {35.18, 136.91},
	{17.39, 78.49}, {51.51, -0.13}, {35.69, 51.39}, {41.88, -87.63}, {10.82, 106.63},
	{-8.84, 13.23}, {40.42, -3.70}, {52.52, 13.40}, {43.65, -79.38}, {-33.87, 151.21},
	{-1.29, 36.82}, {-26.20, 28.05}, {1.35, 103.82}, {-36.85, 174.76}, {-18.14, 178.44},
}

// benchEntry is a realistic user: 80% in a city (Gaussian, σ 5–25 km), 20%
// uniform over land-ish latitudes; ranges log-uniform over 0.1–500 km.
func benchEntry(r *rand.Rand, id string, since int64) Entry {
	var at Point
	if r.IntN(5) > 0 {
		sigma := 5 + 20*r.Float64()
		at = offsetKm(benchCities[r.IntN(len(benchCities))], r.NormFloat64()*sigma, r.NormFloat64()*sigma)
	} else {
		at = uniformOnSphere(r, -56, 72)
	}
	return Entry{UserID: id, At: at, RangeKm: logUniform(r, 0.1, 500), Since: since}
}

// BenchmarkJoin measures one decision: Best for a fresh joiner (not added)
// against a room of n waiting users.
func BenchmarkJoin(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		r := rand.New(rand.NewPCG(uint64(n), 42))
		room := make([]Entry, n)
		for i := range room {
			room[i] = benchEntry(r, userID(i), int64(i))
		}
		joiners := make([]Entry, 1<<14)
		for i := range joiners {
			joiners[i] = benchEntry(r, fmt.Sprintf("j%05d", i), int64(n+i))
		}
		ix, ap := NewIndex(), &AllPairs{}
		for _, e := range room {
			ix.Add(e)
			ap.Add(e)
		}
		for _, m := range []struct {
			name string
			matcher
		}{{"index", ix}, {"allpairs", ap}} {
			b.Run(fmt.Sprintf("%s/n=%d", m.name, n), func(b *testing.B) {
				benchmarkBest(b, m.matcher, joiners)
			})
		}
	}
}

// benchmarkBest times every call on its own, for the latency percentiles. The
// two clock reads (~75 ns on the 2-core VM this was tuned on) are in each sample
// and in ns/op alike. Joiners cycle through the pre-generated pool, so
// consecutive calls are for different users in different places.
func benchmarkBest(b *testing.B, m matcher, joiners []Entry) {
	lat := make([]time.Duration, b.N)
	matched := 0
	b.ResetTimer()
	for i := range b.N {
		e := joiners[i%len(joiners)]
		start := time.Now()
		_, _, ok := m.Best(e, nil)
		lat[i] = time.Since(start)
		if ok {
			matched++
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(matched)/float64(b.N), "matched/op")
}
