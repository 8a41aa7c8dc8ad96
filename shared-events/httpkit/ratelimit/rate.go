package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a bucket's capacity and its leak rate: Burst units, one of which leaks
// away every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// The bounds ParseRate accepts. They keep a configuration typo (5/1ns, 5/1000h)
// from turning the limit off or locking everybody out for days.
const (
	maxBurst    = 1_000_000
	minInterval = time.Millisecond
	maxInterval = 24 * time.Hour
)

// rateShape ends every ParseRate error, so that the message says what a good
// value looks like whatever was wrong with the bad one.
const rateShape = "as in 5/1m: at most 5 at once, one more every minute"

// ParseRate parses "BURST/INTERVAL" such as "5/1m" or "20/6s": BURST is a whole
// number from 1 to 1000000, INTERVAL a time.ParseDuration from 1ms to 24h. Spaces around BURST and INTERVAL are ignored (" 5 / 1m" is 5/1m),
// because they cannot mean anything else; spaces inside them are not
// ("5/1 m" is refused, as time.ParseDuration refuses "1 m").
//
// Errors are plain words meant to follow a variable's name and value in a
// configuration message: `LOGIN_RATE "5" must look like BURST/INTERVAL, as in
// 5/1m: ...`.
func ParseRate(s string) (Rate, error) {
	burst, every, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, errors.New("must look like BURST/INTERVAL, " + rateShape)
	}
	burst, every = strings.TrimSpace(burst), strings.TrimSpace(every)
	n, err := strconv.Atoi(burst)
	// Atoi alone would also take "+5" and "-0"; a burst is written in digits.
	if err != nil || strings.TrimLeft(burst, "0123456789") != "" || n < 1 || n > maxBurst {
		return Rate{}, fmt.Errorf("must start with a whole number from 1 to %d, %s", maxBurst, rateShape)
	}
	d, err := time.ParseDuration(every)
	if err != nil {
		return Rate{}, errors.New("must end with an interval such as 1m, 6s or 500ms, " + rateShape)
	}
	if d < minInterval || d > maxInterval {
		return Rate{}, errors.New("must end with an interval from 1ms to 24h, " + rateShape)
	}
	return Rate{Burst: n, Every: d}, nil
}

// String formats r as ParseRate reads it, such as "5/1m0s".
func (r Rate) String() string {
	return strconv.Itoa(r.Burst) + "/" + r.Every.String()
}

// valid reports whether the bucket math means anything for r. It is looser than
// ParseRate's bounds, which are about sane configuration, not arithmetic.
func (r Rate) valid() error {
	if r.Burst < 1 || r.Every <= 0 {
		return fmt.Errorf("rate %s needs a burst of at least 1 and a positive interval", r)
	}
	return nil
}

// Bucket is one key's state: how full it was at Updated.
type Bucket struct {
	Level   float64
	Updated time.Time
}

// roomTolerance is how far above a whole number a level may be and still count
// as that number. A level that leaked in several small steps lands a hair off
// (5 - 1/3 - 1/3 - 1/3 is 4.000000000000001), and without the tolerance a
// request that is due would be refused and told to wait a nanosecond. In time it
// is a billionth of Every (86µs of 24h), too little to matter.
const roomTolerance = 1e-9

// Leak returns b drained until now at r, never below zero. A clock that went
// backwards (now before b.Updated) drains nothing and keeps b.Updated, so that
// the interval is not drained twice once the clock has caught up again.
func (r Rate) Leak(b Bucket, now time.Time) Bucket {
	if elapsed := now.Sub(b.Updated); elapsed > 0 && r.Every > 0 {
		b.Level -= float64(elapsed) / float64(r.Every)
		b.Updated = now
	}
	// Written as !(x > 0) so that a NaN read from a damaged row counts as empty too.
	if !(b.Level > 0) {
		b.Level = 0
	}
	return b
}

// Add leaks b until now, then adds one unit if there is room (Level+1 <= Burst).
// If there is not, it returns b leaked, ok false, and how long until one unit of
// room frees up: retryAfter is at least a microsecond and rounded up to the
// microsecond, the grain the Limiter stores time in, so that a request made
// exactly retryAfter later is allowed. A refused request adds nothing.
func (r Rate) Add(b Bucket, now time.Time) (next Bucket, ok bool, retryAfter time.Duration) {
	b = r.Leak(b, now)
	over := b.Level + 1 - float64(r.Burst)
	if over <= roomTolerance {
		b.Level++
		return b, true, 0
	}
	wait := r.wait(over)
	// After a clock went backwards the bucket only starts leaking again at
	// b.Updated, still ahead of now.
	if ahead := ceilMicro(b.Updated.Sub(now)); ahead > 0 {
		wait = min(wait, maxWait-ahead) + ahead
	}
	return b, false, wait
}

// maxWait is the longest wait Add reports, a whole number of microseconds.
const maxWait = time.Duration(math.MaxInt64/int64(time.Microsecond)) * time.Microsecond

// ceilMicro rounds d up to the microsecond, at most maxWait.
func ceilMicro(d time.Duration) time.Duration {
	if d >= maxWait {
		return maxWait
	}
	if t := d.Truncate(time.Microsecond); t < d {
		return t + time.Microsecond
	}
	return d
}

// wait is how long the bucket takes to leak over units.
func (r Rate) wait(over float64) time.Duration {
	// Aim a hair early, by less than Add's tolerance (so that a retry at that
	// moment passes) and less than half a microsecond (so that a wait of whole
	// microseconds stays whole): rounding float64 noise up to the next microsecond
	// would report 40.000001s for two thirds of 1m, not 40s.
	ns := over*float64(r.Every) - min(roomTolerance/2*float64(r.Every), 500)
	us := math.Ceil(ns / float64(time.Microsecond))
	switch {
	case !(us >= 1): // also NaN, from an invalid rate
		return time.Microsecond
	case us >= float64(maxWait/time.Microsecond):
		// A level far above Burst (the configured rate was lowered) at a long
		// interval: the true wait does not fit in a Duration.
		return maxWait
	}
	return time.Duration(us) * time.Microsecond
}
