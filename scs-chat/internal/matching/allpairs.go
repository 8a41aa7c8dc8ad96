package matching

// AllPairs is the baseline matcher: a slice of waiters scanned in full on
// every join, computing Distance to each, as in the book's WhisperChat. It is
// O(n) per decision and is kept as the oracle for Index and as the benchmark's
// reference. Its zero value is an empty room.
type AllPairs struct {
	entries []Entry
	pos     map[string]int // UserID → index in entries
}

// Add adds e, or replaces the entry of e.UserID. It panics on an invalid entry
// (a location off the globe, a negative, infinite or NaN range).
func (a *AllPairs) Add(e Entry) {
	mustBeValid(e)
	if i, ok := a.pos[e.UserID]; ok {
		a.entries[i] = e
		return
	}
	if a.pos == nil {
		a.pos = make(map[string]int)
	}
	a.pos[e.UserID] = len(a.entries)
	a.entries = append(a.entries, e)
}

// Remove removes userID's entry and reports whether there was one.
func (a *AllPairs) Remove(userID string) bool {
	i, ok := a.pos[userID]
	if !ok {
		return false
	}
	last := len(a.entries) - 1
	if i != last {
		a.entries[i] = a.entries[last]
		a.pos[a.entries[i].UserID] = i
	}
	a.entries[last] = Entry{}
	a.entries = a.entries[:last]
	delete(a.pos, userID)
	return true
}

// Len is the number of waiting users.
func (a *AllPairs) Len() int { return len(a.entries) }

// Best returns the partner for e by the rule documented on Index.Best.
func (a *AllPairs) Best(e Entry, eligible func(userID string) bool) (Entry, float64, bool) {
	if !e.valid() {
		return Entry{}, 0, false
	}
	p := newPicker(e, cosLat(e.At), eligible)
	for _, other := range a.entries {
		p.offerAt(other, Distance(e.At, other.At))
	}
	return p.result()
}
