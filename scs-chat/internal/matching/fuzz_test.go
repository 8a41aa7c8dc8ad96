package matching

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzBest reads operations from the fuzz input, 7 bytes each, applies them to
// an Index and an AllPairs, and requires every Best to decide the same.
//
//	byte 0:    bits 0–1 the operation (0, 1 add; 2 best; 3 remove);
//	           0x10 squeezes the latitude into the polar degree, 0x20 the
//	           longitude into the degree either side of 180°, 0x40 puts the
//	           point on cell edges instead; 0x80 makes best exclude some users
//	byte 1:    user (one of 24, so adds often replace)
//	bytes 2–5: latitude, longitude
//	byte 6:    range, log-scaled over 0.1–500 km; 0 is 0 km and 255 is 500 km
func FuzzBest(f *testing.F) {
	f.Add([]byte{0, 1, 0x80, 0, 0x80, 0, 200, 2, 2, 0x80, 0, 0x80, 1, 200})
	f.Add([]byte{
		0x10, 1, 0xff, 0xf0, 0xff, 0xff, 255, // near the North Pole
		0x10, 2, 0xff, 0xf0, 0x00, 0x00, 255,
		0x12, 3, 0xff, 0xf0, 0x7f, 0xff, 255,
	})
	f.Add([]byte{
		0x20, 1, 0x40, 0x00, 0xff, 0xff, 100, // either side of the antimeridian
		0x20, 2, 0x40, 0x00, 0x00, 0x00, 100,
		0x22, 3, 0x40, 0x00, 0xff, 0xfe, 100,
	})
	f.Add([]byte{0x40, 1, 0, 5, 0, 7, 0, 0x40, 2, 0, 5, 0, 7, 0, 0x42, 3, 0, 5, 0, 7, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, ap := NewIndex(), &AllPairs{}
		bands := ix.bands
		for op := 0; len(data) >= 7; op, data = op+1, data[7:] {
			flags, who := data[0], data[1]%24
			latBits := binary.BigEndian.Uint16(data[2:])
			lonBits := binary.BigEndian.Uint16(data[4:])
			e := Entry{
				UserID:  string(rune('a' + who)),
				RangeKm: fuzzRange(data[6]),
				Since:   int64(who % 5),
			}
			switch {
			case flags&0x40 != 0: // on cell edges
				b := int(latBits) % (numBands + 1)
				e.At.Lat = -90 + float64(b)*bandDeg
				bd := &bands[min(b, numBands-1)]
				// The last edge computes to a hair over 180 (found by this fuzzer).
				e.At.Lon = min(-180+float64(int(lonBits)%(bd.cols+1))*bd.colDeg, 180)
			case flags&0x30 != 0: // squeezed towards the poles or the antimeridian
				e.At.Lat = -90 + 180*float64(latBits)/math.MaxUint16
				e.At.Lon = -180 + 360*float64(lonBits)/math.MaxUint16
				if flags&0x10 != 0 {
					e.At.Lat = math.Copysign(90-math.Abs(e.At.Lat)/90, e.At.Lat)
				}
				if flags&0x20 != 0 {
					e.At.Lon = math.Copysign(180-math.Abs(e.At.Lon)/180, e.At.Lon)
				}
			default:
				e.At.Lat = -90 + 180*float64(latBits)/math.MaxUint16
				e.At.Lon = -180 + 360*float64(lonBits)/math.MaxUint16
			}
			switch flags & 3 {
			case 0, 1:
				ix.Add(e)
				ap.Add(e)
			case 2:
				var eligible func(string) bool
				if flags&0x80 != 0 {
					eligible = func(id string) bool { return id[0]%3 != flags%3 }
				}
				if got, want := decide(ix, e, eligible), decide(ap, e, eligible); got != want {
					t.Fatalf("op %d: Best(%+v) = %+v, oracle %+v", op, e, got, want)
				}
			case 3:
				if got, want := ix.Remove(e.UserID), ap.Remove(e.UserID); got != want {
					t.Fatalf("op %d: Remove(%s) = %v, oracle %v", op, e.UserID, got, want)
				}
			}
			if ix.Len() != ap.Len() {
				t.Fatalf("op %d: Len = %d, oracle %d", op, ix.Len(), ap.Len())
			}
		}
	})
}

func fuzzRange(b byte) float64 {
	switch b {
	case 0:
		return 0
	case 255:
		return 500
	}
	return 0.1 * math.Pow(5000, float64(b)/255)
}
