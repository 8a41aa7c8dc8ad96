package ratelimit

import (
	"sync"
	"time"
)

// Memory keeps buckets in this process, for limits that are about load rather
// than about an attacker's allowance, where a restart forgetting them is fine and
// a database write per request is not (chat messages). Instances count
// separately. It is safe for concurrent use.
type Memory struct {
	Rate Rate
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	buckets map[string]Bucket
	swept   time.Time
}

// Take adds one unit to key's bucket. When it is full it returns false and how
// long until there is room.
func (m *Memory) Take(key string) (ok bool, retryAfter time.Duration) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = make(map[string]Bucket)
	}
	m.sweep(now)
	b, ok, retryAfter := m.Rate.Add(m.buckets[key], now)
	m.buckets[key] = b
	return ok, retryAfter
}

// sweep forgets, at most once per Every·Burst, the buckets that have drained
// completely: they hold nothing an empty bucket would not, and without it the
// map would keep every key ever seen.
func (m *Memory) sweep(now time.Time) {
	full := m.Rate.Every * time.Duration(m.Rate.Burst)
	if now.Sub(m.swept) < full {
		return
	}
	m.swept = now
	for k, b := range m.buckets {
		if m.Rate.Leak(b, now).Level == 0 {
			delete(m.buckets, k)
		}
	}
}

// Len is the number of buckets held, for tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}
