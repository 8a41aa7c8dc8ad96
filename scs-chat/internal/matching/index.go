package matching

// Index is the waiting room's spatial index: entries binned into a grid of
// roughly square cells (see grid.go), so that a decision looks at the cells
// near the joiner instead of at everyone. It is not safe for concurrent use.
type Index struct {
	bands      []band
	bandsInUse bitset           // the bands with entries
	cells      map[cellKey]cell // non-empty cells only; by value, one cache miss fewer per scan
	where      map[string]slot  // UserID → its place

	heap []probe // Best's scratch space, kept to avoid allocating per call
	last stats   // of the latest Best, for tests
}

// stats counts a search's work.
type stats struct{ probes, cellsScanned, entries, offers int }

// cell holds the entries binned into one grid cell, and at the same index what
// the prefilter needs of each, packed together for the scan.
type cell struct {
	entries []Entry
	keys    []scanKey
	cosLats []float64 // cosLat(entries[i].At), for the exact distance
}

// scanKey is what the prefilter reads of an entry, 32 bytes, two to a cache
// line.
type scanKey struct {
	unit    unit
	rangeSq float64 // chordSqWithin(RangeKm)
}

type slot struct {
	key cellKey
	i   int
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		bands:      newBands(),
		bandsInUse: newBitset(numBands),
		cells:      make(map[cellKey]cell),
		where:      make(map[string]slot),
	}
}

// Len is the number of waiting users.
func (ix *Index) Len() int { return len(ix.where) }

// Get returns userID's entry.
func (ix *Index) Get(userID string) (Entry, bool) {
	s, ok := ix.where[userID]
	if !ok {
		return Entry{}, false
	}
	return ix.cells[s.key].entries[s.i], true
}

// Add adds e, or replaces the entry of e.UserID. It panics on an invalid entry
// (a location off the globe, a negative, infinite or NaN range): the service
// validates input before it gets here.
func (ix *Index) Add(e Entry) {
	mustBeValid(e)
	ix.Remove(e.UserID)
	b := bandOf(e.At.Lat)
	bd := &ix.bands[b]
	col := bd.colOf(e.At.Lon)
	key := keyOf(b, col)
	c, ok := ix.cells[key]
	if !ok {
		bd.occupied.set(col)
		if bd.nonEmpty++; bd.nonEmpty == 1 {
			ix.bandsInUse.set(b)
		}
	}
	ix.where[e.UserID] = slot{key: key, i: len(c.entries)}
	c.entries = append(c.entries, e)
	c.keys = append(c.keys, scanKey{unit: unitOf(e.At), rangeSq: chordSqWithin(e.RangeKm)})
	c.cosLats = append(c.cosLats, cosLat(e.At))
	ix.cells[key] = c
}

// Remove removes userID's entry and reports whether there was one.
func (ix *Index) Remove(userID string) bool {
	s, ok := ix.where[userID]
	if !ok {
		return false
	}
	delete(ix.where, userID)
	c := ix.cells[s.key]
	last := len(c.entries) - 1
	if s.i != last {
		c.entries[s.i] = c.entries[last]
		c.keys[s.i] = c.keys[last]
		c.cosLats[s.i] = c.cosLats[last]
		ix.where[c.entries[s.i].UserID] = slot{key: s.key, i: s.i}
	}
	c.entries[last] = Entry{} // drop the UserID string for the GC
	c.entries, c.keys, c.cosLats = c.entries[:last], c.keys[:last], c.cosLats[:last]
	ix.cells[s.key] = c
	if last == 0 {
		delete(ix.cells, s.key)
		b := int(s.key >> 32)
		bd := &ix.bands[b]
		bd.occupied.clear(int(uint32(s.key)))
		if bd.nonEmpty--; bd.nonEmpty == 0 {
			ix.bandsInUse.clear(b)
		}
	}
	return true
}

// Best returns the partner for the joining entry e: among the entries in the
// index other than e.UserID itself, for which eligible(userID) is true
// (eligible may be nil = all), and whose distance d to e satisfies
// d <= min(e.RangeKm, other.RangeKm): the one with the smallest d; ties (equal
// d) go to the smaller Since, then the smaller UserID, so that the decision is
// deterministic. ok=false when there is none, or when e is invalid.
//
// eligible is asked only about users that would otherwise win, so it must
// depend on the user alone, not on how often or in what order it is called.
//
// The search visits cells in order of their lower-bound distance to e and stops
// once that bound exceeds min(e.RangeKm, best distance so far): no entry beyond
// it can be in range or nearer. It steps from band in use to band in use, and
// within a band from occupied cell to occupied cell, through bitmaps, never
// beyond e's range in longitude: empty space costs a few word scans, so a
// 500 km search (a disc of ~1,000 cells) over an empty ocean looks at almost
// nothing, and one over a populated region at the occupied cells only.
func (ix *Index) Best(e Entry, eligible func(userID string) bool) (partner Entry, distanceKm float64, ok bool) {
	if !e.valid() || len(ix.where) == 0 {
		return Entry{}, 0, false
	}
	s := search{ix: ix, origin: newOrigin(e.At), heap: ix.heap[:0]}
	s.pick = newPicker(e, s.origin.cosLat, eligible)
	s.limitSq = chordSqWithin(e.RangeKm)
	s.lonReachDeg = lonReachDeg(s.origin.cosLat, e.RangeKm)
	s.run(bandOf(e.At.Lat))
	ix.heap = s.heap[:0]
	ix.last = s.stats
	return s.pick.result()
}

type probeKind uint8

const (
	// probeBand is a band's column under the joiner. Its bound is the band's
	// latitude gap, a bound for the whole band, which is why its east and west
	// walks and the next band outward start from it.
	probeBand probeKind = iota
	probeEast
	probeWest
)

// probe is a cell waiting in the search's priority queue.
type probe struct {
	bound  float64 // lowerBound of the cell
	band   int32
	center int32 // the column holding the joiner's longitude in this band
	off    int32 // columns east or west of center
	kind   probeKind
}

type search struct {
	ix      *Index
	pick    picker
	origin  origin
	limitSq float64 // a squared chord no winner can exceed
	// lonReachDeg is how far in longitude e's range reaches, so that walks
	// stop there without looking at the cells beyond.
	lonReachDeg float64
	heap        []probe

	stats
}

// run is a best-first search. Every probe's successors (the next occupied cell
// in its direction, the next band away from home) have bounds no smaller than
// its own, so when the smallest bound in the queue exceeds the limit, so does
// every cell not yet visited.
func (s *search) run(home int) {
	s.pushBand(home)
	for len(s.heap) > 0 {
		p := s.pop()
		s.probes++
		if p.bound > s.limitSq {
			return
		}
		b, center, off := int(p.band), int(p.center), int(p.off)
		bd := &s.ix.bands[b]
		switch p.kind {
		case probeBand:
			if bd.occupied.has(center) {
				s.scan(b, center)
			}
			if bd.nonEmpty > 0 {
				s.pushEast(b, center, 0)
				s.pushWest(b, center, 0)
			}
			// Empty bands are skipped: the next band in use is no nearer.
			if b >= home {
				if next := s.ix.bandsInUse.first(b+1, numBands); next >= 0 {
					s.pushBand(next)
				}
			}
			if b <= home {
				if next := s.ix.bandsInUse.last(0, b); next >= 0 {
					s.pushBand(next)
				}
			}
		case probeEast:
			s.scan(b, (center+off)%bd.cols)
			s.pushEast(b, center, off)
		case probeWest:
			s.scan(b, (center-off+bd.cols)%bd.cols)
			s.pushWest(b, center, off)
		}
	}
}

func (s *search) pushBand(b int) {
	bd := &s.ix.bands[b]
	if bound := s.origin.bandBound(bd); bound <= s.limitSq {
		s.push(probe{bound: bound, band: int32(b), center: int32(bd.colOf(s.origin.lonDeg)), kind: probeBand})
	}
}

func (s *search) pushEast(b, center, off int) {
	bd := &s.ix.bands[b]
	if off = bd.nextEast(center, off, bd.reach(s.lonReachDeg)); off < 0 {
		return
	}
	s.push(probe{bound: s.origin.lowerBound(bd, (center+off)%bd.cols), band: int32(b), center: int32(center), off: int32(off), kind: probeEast})
}

func (s *search) pushWest(b, center, off int) {
	bd := &s.ix.bands[b]
	if off = bd.nextWest(center, off, bd.reach(s.lonReachDeg)); off < 0 {
		return
	}
	s.push(probe{bound: s.origin.lowerBound(bd, (center-off+bd.cols)%bd.cols), band: int32(b), center: int32(center), off: int32(off), kind: probeWest})
}

// scan offers the picker the entries of cell (b, col) that can win.
func (s *search) scan(b, col int) {
	s.cellsScanned++
	c := s.ix.cells[keyOf(b, col)]
	s.entries += len(c.keys)
	o := s.origin.unit // in registers: the loop is the hot path
	for i := range c.keys {
		k := &c.keys[i]
		// A candidate must be under both ranges' chords and the limit's; only
		// then is the exact haversine worth computing.
		dx, dy, dz := k.unit.x-o.x, k.unit.y-o.y, k.unit.z-o.z
		d := dx*dx + dy*dy + dz*dz
		if d > min(s.limitSq, k.rangeSq) {
			continue
		}
		s.offers++
		if s.pick.offer(c.entries[i], c.cosLats[i]) {
			// Anyone who could still win is no farther than this one: under
			// its chord, inflated past rounding as in chordSqWithin (which,
			// being an arc, would be looser).
			s.limitSq = min(s.limitSq, d*(1+1e-9)+1e-13)
		}
	}
}

// push and pop keep s.heap a binary min-heap on bound. Hand-written rather than
// container/heap: it is on the hot path and the interface calls show.
func (s *search) push(p probe) {
	if p.bound > s.limitSq {
		return // can never be visited: the limit only shrinks
	}
	s.heap = append(s.heap, p)
	h := s.heap
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].bound <= h[i].bound {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

func (s *search) pop() probe {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].bound < h[l].bound {
			m = r
		}
		if h[i].bound <= h[m].bound {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.heap = h
	return top
}
