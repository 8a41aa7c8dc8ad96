package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"
)

// clock gives monotonic timestamps as nanoseconds since the run started. Events
// carry them from the sender to the receiver in the same process, so wall-clock
// steps cannot distort a lag.
type clock struct{ epoch time.Time }

func newClock() clock { return clock{epoch: time.Now()} }

func (c clock) now() int64 { return int64(time.Since(c.epoch)) }

// tracker counts the events that arrive during one phase and, in a lag phase,
// keeps each event's lag. Receivers call arrived from any goroutine.
type tracker struct {
	clock clock

	mu      sync.Mutex
	want    int
	seen    int
	lastAt  int64
	keep    bool
	lags    []time.Duration
	reached chan struct{}
}

func newTracker(c clock) *tracker {
	t := &tracker{clock: c, reached: make(chan struct{})}
	close(t.reached)
	return t
}

// expect starts a phase of want events. The previous phase must be complete:
// late arrivals of it would count towards this one.
func (t *tracker) expect(want int, keepLags bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want, t.seen, t.lastAt, t.keep = want, 0, 0, keepLags
	t.lags = nil
	if keepLags {
		t.lags = make([]time.Duration, 0, want)
	}
	t.reached = make(chan struct{})
}

// arrived records events sent at the given clock times and received at at.
func (t *tracker) arrived(at int64, sentAt ...int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range sentAt {
		t.seen++
		if t.keep {
			t.lags = append(t.lags, time.Duration(at-s))
		}
	}
	t.lastAt = max(t.lastAt, at)
	if t.seen >= t.want && t.want > 0 {
		select {
		case <-t.reached:
		default:
			close(t.reached)
		}
	}
}

// wait blocks until the phase's events have all arrived and returns when the
// last one did, and the lags kept.
func (t *tracker) wait(ctx context.Context, timeout time.Duration, errc <-chan error) (lastAt int64, lags []time.Duration, err error) {
	t.mu.Lock()
	reached := t.reached
	t.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-reached:
	case err := <-errc:
		return 0, nil, err
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-timer.C:
		t.mu.Lock()
		defer t.mu.Unlock()
		return 0, nil, fmt.Errorf("only %d of %d events arrived within %s", t.seen, t.want, timeout)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastAt, t.lags, nil
}

// pace calls send(i) for i in [0, total) at rate per second. It follows a fixed
// schedule (event i is due at i/rate after the start) driven by a ticker: a late
// tick sends every event that has fallen due, so the rate does not drift when a
// send or the scheduler is slow.
func pace(ctx context.Context, rate, total int, send func(i int) error) error {
	interval := time.Second / time.Duration(rate)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	start := time.Now()
	sent := 0
	for sent < total {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		due := min(total, int(time.Since(start)/interval))
		for ; sent < due; sent++ {
			if err := send(sent); err != nil {
				return err
			}
		}
	}
	return nil
}

// throughput is one saturation run.
type throughput struct {
	Events int
	// Elapsed runs from the first publish or commit until the last event was
	// consumed or applied.
	Elapsed time.Duration
	// SenderElapsed runs until the sender was done: the last confirm (raw) or the
	// last commit in the outbox (ours).
	SenderElapsed time.Duration
	// CPU is the CPU time this process spent in the run (the broker's is not in it).
	CPU time.Duration
}

// CPUPerEvent is this process's CPU time per event.
func (t throughput) CPUPerEvent() time.Duration {
	if t.Events == 0 {
		return 0
	}
	return t.CPU / time.Duration(t.Events)
}

// PerSecond is the end-to-end rate.
func (t throughput) PerSecond() float64 { return rate(t.Events, t.Elapsed) }

// SenderPerSecond is the rate at which the sender got rid of its events.
func (t throughput) SenderPerSecond() float64 { return rate(t.Events, t.SenderElapsed) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// latency is one lag run.
type latency struct {
	Rate     int
	Duration time.Duration
	Samples  int
	P50, P99 time.Duration
	Max      time.Duration
}

func summarise(rate int, d time.Duration, lags []time.Duration) latency {
	s := slices.Clone(lags)
	slices.Sort(s)
	l := latency{Rate: rate, Duration: d, Samples: len(s)}
	if len(s) > 0 {
		l.P50, l.P99, l.Max = percentile(s, 50), percentile(s, 99), s[len(s)-1]
	}
	return l
}

// percentile is the nearest-rank percentile of sorted, which must not be empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(0, rank-1)]
}

// pipeline is one way of moving events from a sender to a receiver, measured
// phase by phase.
type pipeline struct {
	clock   clock
	tracker *tracker
	// errc reports a receiver that stopped.
	errc <-chan error
	// send sends k events at once (in one transaction, for the outbox).
	send func(ctx context.Context, k int) error
	// flush waits until the sender is done with what it sent.
	flush func(ctx context.Context) error
	// timeout bounds the wait for a phase's events.
	timeout time.Duration
}

// warmup sends n events one by one and waits for them, so that connections,
// channels, caches and the queue are live before anything is measured.
func (p pipeline) warmup(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	p.tracker.expect(n, false)
	for range n {
		if err := p.send(ctx, 1); err != nil {
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	_, _, err := p.tracker.wait(ctx, p.timeout, p.errc)
	return err
}

// saturate sends n events as fast as the sender can, perSend at a time.
func (p pipeline) saturate(ctx context.Context, n, perSend int) (throughput, error) {
	p.tracker.expect(n, false)
	cpu := processCPU()
	start := p.clock.now()
	for sent := 0; sent < n; {
		k := min(perSend, n-sent)
		if err := p.send(ctx, k); err != nil {
			return throughput{}, err
		}
		sent += k
	}
	if err := p.flush(ctx); err != nil {
		return throughput{}, err
	}
	senderDone := p.clock.now()
	lastAt, _, err := p.tracker.wait(ctx, p.timeout, p.errc)
	if err != nil {
		return throughput{}, err
	}
	return throughput{
		Events:        n,
		Elapsed:       time.Duration(lastAt - start),
		SenderElapsed: time.Duration(senderDone - start),
		CPU:           processCPU() - cpu,
	}, nil
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lag sends events one by one at a fixed rate and summarises their lags.
func (p pipeline) lag(ctx context.Context, rate int, d time.Duration, total int) (latency, error) {
	p.tracker.expect(total, true)
	if err := pace(ctx, rate, total, func(int) error { return p.send(ctx, 1) }); err != nil {
		return latency{}, err
	}
	if err := p.flush(ctx); err != nil {
		return latency{}, err
	}
	_, lags, err := p.tracker.wait(ctx, p.timeout, p.errc)
	if err != nil {
		return latency{}, err
	}
	return summarise(rate, d, lags), nil
}

// scenarioResult is what one scenario measured.
type scenarioResult struct {
	Saturation throughput
	// Batched is the saturation run with BatchSize events per send (zero when
	// not run).
	Batched   throughput
	BatchSize int
	Lag       latency
	// LagRunTook is the wall time of the lag run, to show that the pacing held.
	LagRunTook time.Duration
}

// phases says which optional phases a scenario runs.
type phases struct {
	// batchSize > 1 adds a saturation run with that many events per send.
	batchSize int
	// cpuProfile, if set, receives a CPU profile of the first saturation run.
	cpuProfile string
}

// measure runs the phases every scenario goes through: warm-up, saturation,
// optionally saturation in batches, and the lag run.
func measure(ctx context.Context, cfg config, p pipeline, ph phases) (scenarioResult, error) {
	var res scenarioResult
	if err := p.warmup(ctx, cfg.Warmup); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	stopProfile, err := startCPUProfile(ph.cpuProfile)
	if err != nil {
		return res, err
	}
	res.Saturation, err = p.saturate(ctx, cfg.Events, 1)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return res, fmt.Errorf("saturation: %w", err)
	}
	if ph.batchSize > 1 {
		if res.Batched, err = p.saturate(ctx, cfg.Events, ph.batchSize); err != nil {
			return res, fmt.Errorf("saturation in batches of %d: %w", ph.batchSize, err)
		}
		res.BatchSize = ph.batchSize
	}
	start := time.Now()
	if res.Lag, err = p.lag(ctx, cfg.Rate, cfg.LagDuration, cfg.lagEvents()); err != nil {
		return res, fmt.Errorf("lag at %d/s: %w", cfg.Rate, err)
	}
	res.LagRunTook = time.Since(start)
	return res, nil
}

// startCPUProfile profiles the process into path until the returned function is
// called; with no path it does nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
