package ratelimit_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/httpkit/ratelimit"
)

// t0 is the fixed instant the clock-driven tests start from.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestAddFillsLeaksAndRefuses(t *testing.T) {
	t.Parallel()
	r := ratelimit.Rate{Burst: 5, Every: time.Minute}
	// One bucket through a sequence of requests; each step's time is an offset
	// from t0 and the bucket carries over from the step before.
	steps := []struct {
		name  string
		at    time.Duration
		ok    bool
		level float64
		retry time.Duration
	}{
		{"first", 0, true, 1, 0},
		{"second", 0, true, 2, 0},
		{"third", 0, true, 3, 0},
		{"fourth", 0, true, 4, 0},
		{"fifth fills the bucket", 0, true, 5, 0},
		{"full: refused, one interval to wait", 0, false, 5, time.Minute},
		{"refused again: a refusal added nothing", 0, false, 5, time.Minute},
		{"half an interval leaked half a unit: not room for a whole one", 30 * time.Second, false, 4.5, 30 * time.Second},
		{"one interval leaked one unit", time.Minute, true, 5, 0},
		{"full again", time.Minute, false, 5, time.Minute},
		{"a third leaked: two thirds of a minute to wait", time.Minute + 20*time.Second, false, 5 - 1.0/3, 40 * time.Second},
		{"a third more", time.Minute + 40*time.Second, false, 5 - 2.0/3, 20 * time.Second},
		// 5 - 1/3 - 1/3 - 1/3 is 4.000000000000001 in float64: still room for one.
		{"the last third frees the unit", 2 * time.Minute, true, 5, 0},
		{"an hour later the bucket drained empty, not below", time.Hour, true, 1, 0},
	}
	var b ratelimit.Bucket
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now := t0.Add(s.at)
			next, ok, retry := r.Add(b, now)
			if ok != s.ok || math.Abs(next.Level-s.level) > 1e-12 || retry != s.retry {
				t.Fatalf("Add(%+v, t0+%s) = level %v, ok %v, retry %s; want level %v, ok %v, retry %s",
					b, s.at, next.Level, ok, retry, s.level, s.ok, s.retry)
			}
			if !next.Updated.Equal(now) {
				t.Errorf("Updated = %s, want %s", next.Updated, now)
			}
			b = next
		})
	}
}

func TestLeak(t *testing.T) {
	t.Parallel()
	r := ratelimit.Rate{Burst: 5, Every: time.Minute}
	for _, tc := range []struct {
		name string
		b    ratelimit.Bucket
		now  time.Time
		want ratelimit.Bucket
	}{
		{"half an interval drains half a unit", ratelimit.Bucket{Level: 2, Updated: t0}, t0.Add(30 * time.Second),
			ratelimit.Bucket{Level: 1.5, Updated: t0.Add(30 * time.Second)}},
		{"one interval drains one unit", ratelimit.Bucket{Level: 5, Updated: t0}, t0.Add(time.Minute),
			ratelimit.Bucket{Level: 4, Updated: t0.Add(time.Minute)}},
		{"no time passed", ratelimit.Bucket{Level: 3, Updated: t0}, t0,
			ratelimit.Bucket{Level: 3, Updated: t0}},
		{"never below zero", ratelimit.Bucket{Level: 1, Updated: t0}, t0.Add(10 * time.Minute),
			ratelimit.Bucket{Level: 0, Updated: t0.Add(10 * time.Minute)}},
		{"the zero bucket is empty", ratelimit.Bucket{}, t0,
			ratelimit.Bucket{Level: 0, Updated: t0}},
		// Keeping Updated means the minute is drained once, when the clock gets
		// back to t0+1m, not twice.
		{"a clock that went backwards drains nothing", ratelimit.Bucket{Level: 2, Updated: t0.Add(time.Minute)}, t0,
			ratelimit.Bucket{Level: 2, Updated: t0.Add(time.Minute)}},
		{"a negative level is empty", ratelimit.Bucket{Level: -3, Updated: t0}, t0.Add(time.Second),
			ratelimit.Bucket{Level: 0, Updated: t0.Add(time.Second)}},
		{"a NaN level is empty", ratelimit.Bucket{Level: math.NaN(), Updated: t0}, t0.Add(time.Second),
			ratelimit.Bucket{Level: 0, Updated: t0.Add(time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.Leak(tc.b, tc.now)
			if got.Level != tc.want.Level || !got.Updated.Equal(tc.want.Updated) {
				t.Errorf("Leak(%+v, %s) = %+v, want %+v", tc.b, tc.now, got, tc.want)
			}
		})
	}
}

func TestAddAfterTheClockWentBackwards(t *testing.T) {
	t.Parallel()
	r := ratelimit.Rate{Burst: 3, Every: time.Minute}
	ahead := t0.Add(time.Minute)
	for _, tc := range []struct {
		name      string
		level     float64
		wantOK    bool
		wantLevel float64
		wantRetry time.Duration
	}{
		// The unit joins the bucket at its own, later, time.
		{"room", 1, true, 2, 0},
		// The bucket starts leaking at t0+1m and needs a minute from there.
		{"full", 3, false, 3, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next, ok, retry := r.Add(ratelimit.Bucket{Level: tc.level, Updated: ahead}, t0)
			if ok != tc.wantOK || next.Level != tc.wantLevel || retry != tc.wantRetry || !next.Updated.Equal(ahead) {
				t.Errorf("Add = %+v, %v, %s; want level %v at %s, %v, %s", next, ok, retry, tc.wantLevel, ahead, tc.wantOK, tc.wantRetry)
			}
		})
	}
}

func TestAFullBucketWaitsExactlyOneInterval(t *testing.T) {
	t.Parallel()
	for _, r := range []ratelimit.Rate{
		{Burst: 1, Every: time.Millisecond},
		{Burst: 5, Every: time.Minute},
		{Burst: 1, Every: time.Hour},
		{Burst: 1_000_000, Every: 24 * time.Hour},
	} {
		t.Run(r.String(), func(t *testing.T) {
			full := ratelimit.Bucket{Level: float64(r.Burst), Updated: t0}
			if _, ok, retry := r.Add(full, t0); ok || retry != r.Every {
				t.Errorf("Add(full) = ok %v, retry %s; want refused, retry %s", ok, retry, r.Every)
			}
			if _, ok, _ := r.Add(full, t0.Add(r.Every)); !ok {
				t.Errorf("Add(full) one interval later refused")
			}
		})
	}
}

// TestRetryAfterIsTight checks, over many irregular schedules, that a request
// refused with retryAfter is allowed exactly retryAfter later and still refused
// shortly before: the wait is neither early nor padded.
func TestRetryAfterIsTight(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range []ratelimit.Rate{
		{Burst: 1, Every: time.Millisecond},
		{Burst: 5, Every: time.Minute},
		{Burst: 20, Every: 6 * time.Second},
		{Burst: 7, Every: 7*time.Second + 3*time.Millisecond},
		{Burst: 1000, Every: 10 * time.Minute},
	} {
		t.Run(r.String(), func(t *testing.T) {
			b := ratelimit.Bucket{Updated: t0}
			now := t0
			refusals := 0
			for i := range 2000 {
				// Mostly faster than the rate, so that the bucket stays near full.
				now = now.Add(time.Duration(rng.Int64N(int64(r.Every) / 2)))
				next, ok, retry := r.Add(b, now)
				if !ok {
					refusals++
					if retry <= 0 || retry%time.Microsecond != 0 {
						t.Fatalf("step %d: retryAfter %s is not a positive whole number of microseconds", i, retry)
					}
					if _, ok, _ := r.Add(next, now.Add(retry)); !ok {
						t.Fatalf("step %d: level %v refused, and refused again retryAfter %s later", i, next.Level, retry)
					}
					if early := retry - 2*time.Microsecond; early > 0 {
						if _, ok, _ := r.Add(next, now.Add(early)); ok {
							t.Fatalf("step %d: level %v: retryAfter %s, but allowed at %s", i, next.Level, retry, early)
						}
					}
				}
				b = next
			}
			if refusals < 100 {
				t.Fatalf("only %d refusals in 2000 requests: the schedule does not test the waits", refusals)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    ratelimit.Decision
		want int
	}{
		{ratelimit.Decision{Allowed: true}, 0},
		{ratelimit.Decision{Allowed: true, RetryAfter: 5 * time.Second}, 0},
		{ratelimit.Decision{RetryAfter: 0}, 1},
		{ratelimit.Decision{RetryAfter: -time.Second}, 1},
		{ratelimit.Decision{RetryAfter: time.Nanosecond}, 1},
		{ratelimit.Decision{RetryAfter: time.Second}, 1},
		{ratelimit.Decision{RetryAfter: time.Second + time.Microsecond}, 2},
		{ratelimit.Decision{RetryAfter: 59*time.Second + 500*time.Millisecond}, 60},
		{ratelimit.Decision{RetryAfter: time.Hour}, 3600},
		{ratelimit.Decision{RetryAfter: math.MaxInt64}, int(math.MaxInt64/int64(time.Second)) + 1},
	} {
		t.Run(fmt.Sprintf("allowed=%v/%s", tc.d.Allowed, tc.d.RetryAfter), func(t *testing.T) {
			if got := tc.d.RetryAfterSeconds(); got != tc.want {
				t.Errorf("RetryAfterSeconds() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want ratelimit.Rate
		err  string // a fragment of the error; "" for none
	}{
		{"5/1m", ratelimit.Rate{Burst: 5, Every: time.Minute}, ""},
		{"20/6s", ratelimit.Rate{Burst: 20, Every: 6 * time.Second}, ""},
		{"5/1m0s", ratelimit.Rate{Burst: 5, Every: time.Minute}, ""},
		{"1/1ms", ratelimit.Rate{Burst: 1, Every: time.Millisecond}, ""},
		{"1000000/24h", ratelimit.Rate{Burst: 1_000_000, Every: 24 * time.Hour}, ""},
		{"3/1h30m", ratelimit.Rate{Burst: 3, Every: 90 * time.Minute}, ""},
		{"05/1m", ratelimit.Rate{Burst: 5, Every: time.Minute}, ""},
		// Spaces around the parts are trimmed: they cannot mean anything else.
		{" 5 / 1m", ratelimit.Rate{Burst: 5, Every: time.Minute}, ""},
		{"5/1m\n", ratelimit.Rate{Burst: 5, Every: time.Minute}, ""},
		{"", ratelimit.Rate{}, "must look like BURST/INTERVAL"},
		{"5", ratelimit.Rate{}, "must look like BURST/INTERVAL"},
		{"5m", ratelimit.Rate{}, "must look like BURST/INTERVAL"},
		{"/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"0/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"-1/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"+5/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"1.5/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"1000001/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"99999999999999999999/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"five/1m", ratelimit.Rate{}, "must start with a whole number from 1 to 1000000"},
		{"5/", ratelimit.Rate{}, "must end with an interval such as 1m, 6s or 500ms"},
		{"5/1", ratelimit.Rate{}, "must end with an interval such as 1m, 6s or 500ms"},
		{"5/1x", ratelimit.Rate{}, "must end with an interval such as 1m, 6s or 500ms"},
		{"5/1 m", ratelimit.Rate{}, "must end with an interval such as 1m, 6s or 500ms"},
		{"5/1m/2", ratelimit.Rate{}, "must end with an interval such as 1m, 6s or 500ms"},
		{"5/0s", ratelimit.Rate{}, "must end with an interval from 1ms to 24h"},
		{"5/-1m", ratelimit.Rate{}, "must end with an interval from 1ms to 24h"},
		{"5/999us", ratelimit.Rate{}, "must end with an interval from 1ms to 24h"},
		{"5/25h", ratelimit.Rate{}, "must end with an interval from 1ms to 24h"},
		{"5/24h0m0.000000001s", ratelimit.Rate{}, "must end with an interval from 1ms to 24h"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ratelimit.ParseRate(tc.in)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || got != (ratelimit.Rate{}) {
				t.Fatalf("ParseRate(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.err)
			}
			// The message is read after a variable's name and value, so it must
			// also show what a good value looks like.
			if !strings.Contains(err.Error(), "5/1m: at most 5 at once, one more every minute") {
				t.Errorf("ParseRate(%q) error %q shows no example", tc.in, err)
			}
		})
	}
}

func TestRateStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, r := range []ratelimit.Rate{
		{Burst: 5, Every: time.Minute},
		{Burst: 1, Every: time.Millisecond},
		{Burst: 1_000_000, Every: 24 * time.Hour},
		{Burst: 7, Every: 90*time.Minute + 1500*time.Microsecond},
	} {
		t.Run(r.String(), func(t *testing.T) {
			got, err := ratelimit.ParseRate(r.String())
			if err != nil || got != r {
				t.Errorf("ParseRate(%q) = %v, %v; want %v", r.String(), got, err, r)
			}
		})
	}
	if got, want := (ratelimit.Rate{Burst: 5, Every: time.Minute}).String(), "5/1m0s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"5/1m", "20/6s", " 5 / 1m", "0/1m", "5/0s", "5/25h", "1000000/24h", "1/1ms", "5/1h30m", "5/1.5s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			if r != (ratelimit.Rate{}) {
				t.Fatalf("ParseRate(%q) = %v with error %v, want the zero Rate", s, r, err)
			}
			return
		}
		if r.Burst < 1 || r.Burst > 1_000_000 || r.Every < time.Millisecond || r.Every > 24*time.Hour {
			t.Fatalf("ParseRate(%q) = %v, outside the bounds", s, r)
		}
		again, err := ratelimit.ParseRate(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRate(%q) = %v, but ParseRate(%q) = %v, %v", s, r, r.String(), again, err)
		}
	})
}
