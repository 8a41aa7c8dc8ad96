package matching

import (
	"math"
	"testing"
)

func TestDistanceKnown(t *testing.T) {
	t.Parallel()
	// Coordinates are the city centres of the Wikipedia infoboxes. The city
	// distances are the commonly cited great-circle figures (e.g. the Movable
	// Type haversine calculator, movable-type.co.uk/scripts/latlong.html, gives
	// 343.5 km, 3936 km and 713.4 km for these coordinates); we cross-checked
	// them with the spherical law of cosines in Python. The others are
	// geometry: half a meridian is π·R, a quarter π·R/2, and 0.2° of longitude
	// at latitude φ is about 0.2·(π/180)·R·cos φ.
	tests := []struct {
		name string
		a, b Point
		want float64
	}{
		{"London–Paris", Point{51.5074, -0.1278}, Point{48.8566, 2.3522}, 343.5},
		{"New York–Los Angeles", Point{40.7128, -74.0060}, Point{34.0522, -118.2437}, 3936},
		{"Sydney–Melbourne", Point{-33.8688, 151.2093}, Point{-37.8136, 144.9631}, 713.4},
		{"Suva–Apia, across the antimeridian", Point{-18.1416, 178.4419}, Point{-13.8333, -171.7667}, 1150.7},
		{"Taveuni, either side of 180°", Point{-16.8, 179.9}, Point{-16.8, -179.9}, 0.2 * math.Pi / 180 * earthRadiusKm * math.Cos(16.8*math.Pi/180)},
		{"pole to pole", Point{90, 0}, Point{-90, 0}, math.Pi * earthRadiusKm},
		{"North Pole to the equator", Point{90, 45}, Point{0, -120}, math.Pi / 2 * earthRadiusKm},
		{"North Pole, any longitude", Point{90, -180}, Point{90, 77}, 0},
		{"180 and -180 are one meridian", Point{10, 180}, Point{10, -180}, 0},
		{"same place", Point{48.8566, 2.3522}, Point{48.8566, 2.3522}, 0},
		{"antipodes", Point{0, 0}, Point{0, 180}, math.Pi * earthRadiusKm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range []float64{Distance(tt.a, tt.b), Distance(tt.b, tt.a)} {
				if math.Abs(d-tt.want) > 0.005*tt.want+1e-9 {
					t.Errorf("Distance = %.4f km, want %.4f km ±0.5%%", d, tt.want)
				}
			}
		})
	}
}

func TestPointValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Point
		want bool
	}{
		{Point{0, 0}, true},
		{Point{90, 180}, true},
		{Point{-90, -180}, true},
		{Point{90.0001, 0}, false},
		{Point{-90.0001, 0}, false},
		{Point{0, 180.0001}, false},
		{Point{0, -180.0001}, false},
		{Point{math.NaN(), 0}, false},
		{Point{0, math.NaN()}, false},
		{Point{math.Inf(1), 0}, false},
		{Point{0, math.Inf(-1)}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Valid(); got != tt.want {
			t.Errorf("%v.Valid() = %v, want %v", tt.p, got, tt.want)
		}
	}
}
