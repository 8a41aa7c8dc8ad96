package matching

import (
	"fmt"
	"math/bits"
	"testing"
)

// decision is what Best decided, in a comparable form.
type decision struct {
	ok      bool
	partner string
	km      float64
}

func decide(m matcher, e Entry, eligible func(string) bool) decision {
	p, km, ok := m.Best(e, eligible)
	return decision{ok: ok, partner: p.UserID, km: km}
}

// checkInvariants checks the index's bookkeeping against its cells: that
// every user's slot holds it, that there are no empty cells, and that the
// occupancy bitmaps and counts say exactly which cells and bands hold entries.
// A stale bit would not change a decision, only cost probes, so the oracle
// alone would not notice.
func checkInvariants(t *testing.T, ix *Index) {
	t.Helper()
	n := 0
	perBand := make(map[int]int)
	for key, c := range ix.cells {
		b, col := int(key>>32), int(uint32(key))
		if len(c.entries) == 0 || len(c.keys) != len(c.entries) || len(c.cosLats) != len(c.entries) {
			t.Fatalf("cell (%d,%d) holds %d entries, %d keys, %d cosines", b, col, len(c.entries), len(c.keys), len(c.cosLats))
		}
		if !ix.bands[b].occupied.has(col) {
			t.Fatalf("cell (%d,%d) holds entries but its bit is clear", b, col)
		}
		for i, e := range c.entries {
			if s, ok := ix.where[e.UserID]; !ok || s != (slot{key: key, i: i}) {
				t.Fatalf("user %s is at (%d,%d)[%d], its slot says %+v", e.UserID, b, col, i, s)
			}
		}
		n += len(c.entries)
		perBand[b]++
	}
	if n != len(ix.where) {
		t.Fatalf("cells hold %d entries, where knows %d users", n, len(ix.where))
	}
	for b := range ix.bands {
		bd := &ix.bands[b]
		set := 0
		for _, w := range bd.occupied {
			set += bits.OnesCount64(w)
		}
		if set != perBand[b] || bd.nonEmpty != perBand[b] || ix.bandsInUse.has(b) != (perBand[b] > 0) {
			t.Fatalf("band %d: %d bits set, nonEmpty %d, in use %v, but %d cells", b, set, bd.nonEmpty, ix.bandsInUse.has(b), perBand[b])
		}
	}
}

// TestIndexMatchesOracle mixes adds (new users and replacements), removes and
// joins, and requires Index.Best to decide exactly as AllPairs.Best does.
func TestIndexMatchesOracle(t *testing.T) {
	t.Parallel()
	for _, seed := range seeds(1, 2, 3, 4, 5, 20240607) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			w := newTestWorld(seed)
			ix, ap := NewIndex(), &AllPairs{}
			const users, ops = 1500, 8000
			matched := 0
			for op := range ops {
				switch k := w.r.IntN(100); {
				case k < 50:
					e := w.entry(userID(w.r.IntN(users)))
					ix.Add(e)
					ap.Add(e)
				case k < 65:
					id := userID(w.r.IntN(users))
					if got, want := ix.Remove(id), ap.Remove(id); got != want {
						t.Fatalf("seed %d op %d: Index.Remove(%s) = %v, AllPairs says %v", seed, op, id, got, want)
					}
				default:
					// Half the joiners are already waiting (a re-join), which
					// must never match themselves.
					e := w.entry(userID(w.r.IntN(users)))
					eligible := eligibleFunc(w.r)
					got, want := decide(ix, e, eligible), decide(ap, e, eligible)
					if got != want {
						t.Fatalf("seed %d op %d: Best(%+v) = %+v, oracle %+v (index has %d)", seed, op, e, got, want, ix.Len())
					}
					if got.ok {
						matched++
					}
				}
				if ix.Len() != ap.Len() {
					t.Fatalf("seed %d op %d: Len = %d, oracle %d", seed, op, ix.Len(), ap.Len())
				}
				if op%1000 == 0 {
					checkInvariants(t, ix)
				}
			}
			checkInvariants(t, ix)
			// A test where nothing ever matches would prove little.
			if matched < 200 {
				t.Errorf("seed %d: only %d joins matched", seed, matched)
			}
		})
	}
}

// TestWaitingRoomMatchesOracle runs the room as the service does: a join
// either matches (and the partner leaves the room) or waits; some waiters
// give up. The two matchers must produce the same sequence of decisions.
func TestWaitingRoomMatchesOracle(t *testing.T) {
	t.Parallel()
	for _, seed := range seeds(7, 8, 9) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			w := newTestWorld(seed)
			rooms := []matcher{NewIndex(), &AllPairs{}}
			var waiting []string // the index's view, for picking who leaves
			matched := 0
			for step := range 6000 {
				if len(waiting) > 0 && w.r.IntN(10) == 0 {
					i := w.r.IntN(len(waiting))
					for _, room := range rooms {
						room.Remove(waiting[i])
					}
					waiting[i] = waiting[len(waiting)-1]
					waiting = waiting[:len(waiting)-1]
					continue
				}
				e := w.entry(userID(step))
				e.Since = int64(step)
				eligible := eligibleFunc(w.r)
				var first decision
				for i, room := range rooms {
					d := decide(room, e, eligible)
					if i == 0 {
						first = d
					} else if d != first {
						t.Fatalf("seed %d step %d: index decided %+v, oracle %+v", seed, step, first, d)
					}
					if d.ok {
						room.Remove(d.partner)
					} else {
						room.Add(e)
					}
				}
				if first.ok {
					matched++
					for i, id := range waiting {
						if id == first.partner {
							waiting[i] = waiting[len(waiting)-1]
							waiting = waiting[:len(waiting)-1]
							break
						}
					}
				} else {
					waiting = append(waiting, e.UserID)
				}
			}
			if rooms[0].Len() != rooms[1].Len() || rooms[0].Len() != len(waiting) {
				t.Errorf("seed %d: rooms hold %d and %d, want %d", seed, rooms[0].Len(), rooms[1].Len(), len(waiting))
			}
			if matched < 500 {
				t.Errorf("seed %d: only %d joins matched", seed, matched)
			}
		})
	}
}

func bothMatchers() map[string]func() matcher {
	return map[string]func() matcher{
		"index":    func() matcher { return NewIndex() },
		"allpairs": func() matcher { return &AllPairs{} },
	}
}

func TestBestNeverMatchesSelf(t *testing.T) {
	t.Parallel()
	for name, newMatcher := range bothMatchers() {
		t.Run(name, func(t *testing.T) {
			m := newMatcher()
			me := Entry{UserID: "me", At: Point{48.8566, 2.3522}, RangeKm: 500}
			m.Add(me)
			if d := decide(m, me, nil); d.ok {
				t.Fatalf("alone in the room, Best = %+v, want no match", d)
			}
			m.Add(Entry{UserID: "other", At: Point{48.9, 2.4}, RangeKm: 500, Since: 5})
			if d := decide(m, me, nil); !d.ok || d.partner != "other" {
				t.Fatalf("Best = %+v, want other", d)
			}
		})
	}
}

func TestAddReplaces(t *testing.T) {
	t.Parallel()
	for name, newMatcher := range bothMatchers() {
		t.Run(name, func(t *testing.T) {
			m := newMatcher()
			m.Add(Entry{UserID: "a", At: Point{51.5, -0.1}, RangeKm: 10})
			m.Add(Entry{UserID: "a", At: Point{-33.87, 151.21}, RangeKm: 10}) // moved to Sydney
			if m.Len() != 1 {
				t.Fatalf("Len = %d after adding the same user twice, want 1", m.Len())
			}
			if d := decide(m, Entry{UserID: "j", At: Point{51.5, -0.1}, RangeKm: 10}, nil); d.ok {
				t.Errorf("London joiner matched %+v, but a moved away", d)
			}
			if d := decide(m, Entry{UserID: "j", At: Point{-33.87, 151.21}, RangeKm: 10}, nil); !d.ok || d.partner != "a" {
				t.Errorf("Sydney joiner: Best = %+v, want a", d)
			}
			if !m.Remove("a") || m.Remove("a") || m.Len() != 0 {
				t.Errorf("after Remove twice: Len = %d, want one entry removed once", m.Len())
			}
		})
	}
}

func TestIndexGet(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	a := Entry{UserID: "a", At: Point{10, 20}, RangeKm: 5, Since: 1}
	b := Entry{UserID: "b", At: Point{10, 20}, RangeKm: 6, Since: 2}
	ix.Add(a)
	ix.Add(b)
	ix.Remove("a") // moves b inside the cell
	if got, ok := ix.Get("b"); !ok || got != b {
		t.Errorf("Get(b) = %+v, %v, want %+v", got, ok, b)
	}
	if _, ok := ix.Get("a"); ok {
		t.Error("Get(a) found a removed entry")
	}
	ix.Remove("b")
	if len(ix.cells) != 0 {
		t.Errorf("%d cells left in an empty index, want 0", len(ix.cells))
	}
	checkInvariants(t, ix)
}

func TestBestRule(t *testing.T) {
	t.Parallel()
	here := Point{40.4168, -3.7038} // Madrid
	tests := []struct {
		name    string
		joiner  Entry
		waiting []Entry
		exclude string
		want    string // "" for no match
	}{
		{
			name:   "nearest wins",
			joiner: Entry{UserID: "j", At: here, RangeKm: 100},
			waiting: []Entry{
				{UserID: "far", At: offsetKm(here, 50, 0), RangeKm: 100},
				{UserID: "near", At: offsetKm(here, 0, 20), RangeKm: 100, Since: 9},
			},
			want: "near",
		},
		{
			name:    "the other's range binds too",
			joiner:  Entry{UserID: "j", At: here, RangeKm: 500},
			waiting: []Entry{{UserID: "shy", At: offsetKm(here, 30, 0), RangeKm: 10}},
		},
		{
			name:    "the joiner's range binds",
			joiner:  Entry{UserID: "j", At: here, RangeKm: 10},
			waiting: []Entry{{UserID: "keen", At: offsetKm(here, 30, 0), RangeKm: 500}},
		},
		{
			name:   "equal distance: longer waiter",
			joiner: Entry{UserID: "j", At: here, RangeKm: 100},
			waiting: []Entry{
				{UserID: "a", At: here, RangeKm: 100, Since: 7},
				{UserID: "b", At: here, RangeKm: 100, Since: 3},
			},
			want: "b",
		},
		{
			name:   "equal distance and wait: smaller UserID",
			joiner: Entry{UserID: "j", At: here, RangeKm: 100},
			waiting: []Entry{
				{UserID: "b", At: here, RangeKm: 100, Since: 3},
				{UserID: "a", At: here, RangeKm: 100, Since: 3},
			},
			want: "a",
		},
		{
			name:   "ineligible users are skipped",
			joiner: Entry{UserID: "j", At: here, RangeKm: 100},
			waiting: []Entry{
				{UserID: "blocked", At: here, RangeKm: 100},
				{UserID: "ok", At: offsetKm(here, 60, 0), RangeKm: 100},
			},
			exclude: "blocked",
			want:    "ok",
		},
		{
			name:    "across the antimeridian",
			joiner:  Entry{UserID: "j", At: Point{-16.8, 179.9}, RangeKm: 25},
			waiting: []Entry{{UserID: "east", At: Point{-16.8, -179.9}, RangeKm: 25}},
			want:    "east",
		},
		{
			name:    "over the pole",
			joiner:  Entry{UserID: "j", At: Point{89.9, 0}, RangeKm: 25},
			waiting: []Entry{{UserID: "other side", At: Point{89.9, 180}, RangeKm: 25}},
			want:    "other side",
		},
		{
			name:    "invalid joiner",
			joiner:  Entry{UserID: "j", At: Point{91, 0}, RangeKm: 25},
			waiting: []Entry{{UserID: "a", At: Point{89.9, 0}, RangeKm: 25}},
		},
	}
	for _, tt := range tests {
		for name, newMatcher := range bothMatchers() {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				m := newMatcher()
				for _, e := range tt.waiting {
					m.Add(e)
				}
				eligible := func(id string) bool { return id != tt.exclude }
				d := decide(m, tt.joiner, eligible)
				if d.partner != tt.want || d.ok != (tt.want != "") {
					t.Errorf("Best = %+v, want %q", d, tt.want)
				}
			})
		}
	}
}

func TestAddPanicsOnInvalidEntry(t *testing.T) {
	t.Parallel()
	for name, newMatcher := range bothMatchers() {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Add of an entry at latitude 95 did not panic")
				}
			}()
			newMatcher().Add(Entry{UserID: "x", At: Point{95, 0}, RangeKm: 1})
		})
	}
}

// TestBestOverEmptySpace checks that a large range over empty space costs
// next to nothing: a 500 km disc holds ~1,000 cells, and the search should only
// look at the few that are occupied.
func TestBestOverEmptySpace(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	london := Point{51.5074, -0.1278}
	for i := range 1000 {
		ix.Add(Entry{UserID: userID(i), At: offsetKm(london, float64(i%40), float64(i/40)), RangeKm: 1})
	}
	tests := []struct {
		at                  Point
		maxProbes, maxCells int
	}{
		{Point{0, -30}, 1, 0},
		{Point{-16.8, 179.9}, 1, 0},
		{Point{89.99, 0}, 1, 0},
		{offsetKm(london, 300, 0), 12, 6}, // London's few cells are in range, its users' ranges not
	}
	for _, tt := range tests {
		if _, _, ok := ix.Best(Entry{UserID: "j", At: tt.at, RangeKm: 500}, nil); ok {
			t.Fatalf("joiner at %v matched a user with a 1 km range", tt.at)
		}
		if ix.last.probes > tt.maxProbes || ix.last.cellsScanned > tt.maxCells {
			t.Errorf("joiner at %v: %d probes and %d cells scanned, want ≤ %d and ≤ %d", tt.at, ix.last.probes, ix.last.cellsScanned, tt.maxProbes, tt.maxCells)
		}
	}
}

// TestBestPrunesByLimit checks that once a partner is found the limit shrinks
// to it, so that farther candidates are dropped by the chord prefilter without
// their haversine being computed.
func TestBestPrunesByLimit(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	here := Point{48.8566, 2.3522}
	for i := range 100 { // nearest first: every later one is farther
		ix.Add(Entry{UserID: userID(i), At: offsetKm(here, 0.05*float64(i+1), 0), RangeKm: 50})
	}
	if p, _, ok := ix.Best(Entry{UserID: "j", At: here, RangeKm: 50}, nil); !ok || p.UserID != userID(0) {
		t.Fatalf("Best = %+v, %v, want %s", p, ok, userID(0))
	}
	if ix.last.offers != 1 {
		t.Errorf("%d candidates got the exact distance computed, want 1", ix.last.offers)
	}
}

// seeds are the worlds an oracle test plays; with -short (make race, where
// the detector finds nothing in this one goroutine's code and only slows it)
// the first alone.
func seeds(all ...uint64) []uint64 {
	if testing.Short() {
		return all[:1]
	}
	return all
}
