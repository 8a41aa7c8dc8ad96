package main

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
)

// sampleBenchOutput is what `go test -bench BenchmarkJoin` prints, trimmed.
const sampleBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/scs-platform/scs-chat/internal/matching
cpu: Intel(R) Xeon(R) Processor
BenchmarkJoin/index/n=1000-2         	    2000	       702.3 ns/op	         0.4100 matched/op	       450.0 p50-ns	      2135 p99-ns
BenchmarkJoin/allpairs/n=1000-2      	     200	     87062 ns/op	         0.4100 matched/op	     80772 p50-ns	    126489 p99-ns
BenchmarkJoin/index/n=10000-2        	    2000	       864.7 ns/op	       667.0 p50-ns	      3571 p99-ns
BenchmarkJoin/allpairs/n=10000-2     	     200	    837704 ns/op	    816285 p50-ns	   1140759 p99-ns
BenchmarkJoin/index/n=100000-2       	    2000	      2286 ns/op	      1815 p50-ns	     11087 p99-ns
    bench_test.go:12: BenchmarkJoin/index/n=100000 a log line
BenchmarkJoin/allpairs/n=100000-2    	     200	   8293217 ns/op	   8215220 p50-ns	   9756610 p99-ns
PASS
ok  	github.com/scs-platform/scs-chat/internal/matching	2.051s
`

func TestParseBenchOutput(t *testing.T) {
	lines, err := parseBenchOutput(sampleBenchOutput)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6: %+v", len(lines), lines)
	}
	first := lines[0]
	if first.Name != "BenchmarkJoin/index/n=1000" || first.Iterations != 2000 {
		t.Errorf("first line = %+v", first)
	}
	for unit, want := range map[string]float64{"ns/op": 702.3, "matched/op": 0.41, "p50-ns": 450, "p99-ns": 2135} {
		if got := first.Metrics[unit]; got != want {
			t.Errorf("%s = %v, want %v", unit, got, want)
		}
	}

	rows, err := rowsOf(lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].N != 1000 || rows[1].N != 10000 || rows[2].N != 100000 {
		t.Fatalf("rows = %+v", rows)
	}
	if got, want := rows[1].speedup(), 837704/864.7; math.Abs(got-want) > 1e-6 {
		t.Errorf("speedup at 10k = %v, want %v", got, want)
	}
	res := matcherResult{Rows: rows}
	if s, met, ok := res.speedupMet(); !ok || met || math.Round(s) != 969 {
		t.Errorf("speedupMet = %v %v %v, want 969, not met", s, met, ok)
	}
	if p99, met, ok := res.p99Met(); !ok || !met || p99 != 11087*time.Nanosecond {
		t.Errorf("p99Met = %v %v %v, want 11.087µs, met", p99, met, ok)
	}
	if cpu := procFieldOf(sampleBenchOutput, "cpu"); cpu != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpu = %q", cpu)
	}
}

func TestParseBenchOutputRefusesBrokenLines(t *testing.T) {
	for name, out := range map[string]string{
		"unpaired unit": "BenchmarkJoin/index/n=10-2  100  12 ns/op 5\n",
		"not a number":  "BenchmarkJoin/index/n=10-2  100  fast ns/op\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseBenchOutput(out); err == nil {
				t.Errorf("parseBenchOutput(%q) = nil error", out)
			}
		})
	}
	lines, err := parseBenchOutput("BenchmarkJoin/index/n=10-2  100  12 ns/op\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rowsOf(lines); err == nil || !strings.Contains(err.Error(), "room size 10") {
		t.Errorf("rowsOf without the all-pairs line: err = %v", err)
	}
	if _, err := rowsOf(nil); err == nil {
		t.Error("rowsOf(nil) = nil error")
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkJoin/index/n=1000-2":  "BenchmarkJoin/index/n=1000",
		"BenchmarkJoin/index/n=1000-16": "BenchmarkJoin/index/n=1000",
		"BenchmarkJoin/index/n=1000":    "BenchmarkJoin/index/n=1000",
		"BenchmarkJoin/a-b":             "BenchmarkJoin/a-b",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNSText(t *testing.T) {
	for in, want := range map[float64]string{702.3: "0.70 µs", 11087: "11 µs", 816285: "816 µs", 8293217: "8.29 ms"} {
		if got := nsText(in); got != want {
			t.Errorf("nsText(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP chat_live_connections Open websocket connections on this instance.
# TYPE chat_live_connections gauge
chat_live_connections 10000
go_goroutines 10042
go_memstats_heap_inuse_bytes 1.2345e+08
http_request_duration_seconds_count{method="GET",route="/chat/",status="200"} 3
with_timestamp 7 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"chat_live_connections": 10000, "go_goroutines": 10042, "go_memstats_heap_inuse_bytes": 1.2345e8, "with_timestamp": 7}
	if len(m) != len(want) {
		t.Errorf("metrics = %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

func TestGridPointsAreFarApart(t *testing.T) {
	const pairs = 10000
	seen := map[[2]float64]bool{}
	for i := range pairs {
		lat, lon := gridPoint(i)
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			t.Fatalf("point %d = (%v, %v) is off the map", i, lat, lon)
		}
		if seen[[2]float64{lat, lon}] {
			t.Fatalf("point %d = (%v, %v) is taken twice", i, lat, lon)
		}
		seen[[2]float64{lat, lon}] = true
		// The nearest points on the grid are the neighbours in a row and in a
		// column; ten times the join range is far enough.
		for _, j := range []int{i + 1, i + 100} {
			if j >= pairs {
				continue
			}
			lat2, lon2 := gridPoint(j)
			if d := haversineKm(lat, lon, lat2, lon2); d < 1 {
				t.Fatalf("points %d and %d are %.2f km apart", i, j, d)
			}
		}
	}
}

// haversineKm is the great-circle distance.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthKm = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Sqrt(h))
}

func TestMessageNumber(t *testing.T) {
	for _, n := range []int64{0, 7, 123456789} {
		if got, ok := messageNumber(clientID(n)); !ok || got != n {
			t.Errorf("messageNumber(clientID(%d)) = %d, %v", n, got, ok)
		}
	}
	for _, id := range []string{"", "m", "x12", "m-1", "m1x", "browser-7f3a"} {
		if _, ok := messageNumber(id); ok {
			t.Errorf("messageNumber(%q) is ok", id)
		}
	}
}

func TestRecorderMatchesFramesToSends(t *testing.T) {
	rec := newRecorder(newClock())
	alice := &liveConn{userID: "alice", acks: make(chan int64, 4)}
	bob := &liveConn{userID: "bob", acks: make(chan int64, 4)}
	old := rec.begin(2)
	ph := rec.begin(3)
	if ph.first != old.first+2 {
		t.Fatalf("phases overlap: %d then %d", old.first, ph.first)
	}
	msg := func(from string, n int64) []byte {
		return []byte(`{"type":"message","conversation":"c","seq":1,"from":"` + from + `","client_id":"` + clientID(n) + `","text":"x","sent_at":"2026-01-01T00:00:00Z"}`)
	}
	ack := func(n int64) []byte { return []byte(`{"type":"ack","client_id":"` + clientID(n) + `","seq":1}`) }

	ph.sent(0, 100)
	ph.sent(1, 200)
	ph.sent(2, 300)
	rec.frame(alice, ack(ph.number(0)), 150)
	rec.frame(alice, msg("alice", ph.number(0)), 160) // the sender's own copy
	rec.frame(bob, msg("alice", ph.number(0)), 170)
	rec.frame(bob, msg("alice", ph.number(0)), 999) // a duplicate counts once
	rec.frame(bob, ack(ph.number(1)), 260)
	rec.frame(alice, msg("bob", ph.number(1)), 280)
	rec.frame(bob, msg("alice", old.number(1)), 290) // the last phase's, late
	rec.frame(bob, []byte(`{"type":"pong"}`), 300)

	if got := <-alice.acks; got != ph.number(0) {
		t.Errorf("alice's ack channel got %d, want %d", got, ph.number(0))
	}
	deliveries, acks, undelivered := ph.delays(3, all)
	if want := []time.Duration{70, 80}; !equalDurations(deliveries, want) {
		t.Errorf("deliveries = %v, want %v", deliveries, want)
	}
	if want := []time.Duration{50, 60}; !equalDurations(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	if undelivered != 1 {
		t.Errorf("undelivered = %d, want 1", undelivered)
	}
	if d, _, _ := ph.delays(3, func(i int) bool { return i == 1 }); !equalDurations(d, []time.Duration{80}) {
		t.Errorf("deliveries of message 1 only = %v", d)
	}
	if ph.recvd.Load() != 2 || ph.acked.Load() != 2 {
		t.Errorf("recvd %d, acked %d, want 2 and 2", ph.recvd.Load(), ph.acked.Load())
	}
	if err := rec.check(); err != nil {
		t.Errorf("check = %v before any error frame", err)
	}

	rec.frame(bob, []byte(`{"type":"error","error":"this conversation has ended","client_id":"m1"}`), 400)
	if err := rec.check(); err == nil || !strings.Contains(err.Error(), "this conversation has ended") {
		t.Errorf("check = %v, want the error frame's words", err)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPhaseWaitDeliveredGivesUpAtTheTimeout(t *testing.T) {
	rec := newRecorder(newClock())
	ph := rec.begin(2)
	ph.recvd.Store(1)
	ph.acked.Store(2)
	start := time.Now()
	if err := ph.waitDelivered(context.Background(), 2, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Never before the timeout; the bound after it only catches a wait for
	// something else, and is loose for a machine under load.
	if waited := time.Since(start); waited < 50*time.Millisecond || waited > 20*time.Second {
		t.Errorf("waited %s for a message that never came, want about 50ms", waited)
	}
	ph.recvd.Store(2)
	start = time.Now()
	if err := ph.waitDelivered(context.Background(), 2, time.Minute); err != nil || time.Since(start) > 20*time.Second {
		t.Errorf("waitDelivered with everything there = %v after %s", err, time.Since(start))
	}
}

func TestChatUsersServeTheirFeedInPages(t *testing.T) {
	users, err := newChatUsers(3, "http://127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	if len(users.IDs) != 3 || len(users.Tokens) != 3 || users.Tokens[0] == "" || users.IDs[0] == users.IDs[1] {
		t.Fatalf("users = %+v", users)
	}
	tests := []struct {
		after   int64
		limit   int
		wantSeq []int64
	}{
		{0, 2, []int64{1, 2}},
		{2, 10, []int64{3, 4}},
		{4, 10, nil},
		{99, 10, nil},
	}
	for _, tt := range tests {
		events, head, err := users.Read(context.Background(), tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if head != 4 {
			t.Errorf("head = %d, want 4 (the key and three users)", head)
		}
		var seqs []int64
		for _, ev := range events {
			seqs = append(seqs, ev.Sequence)
		}
		if len(seqs) != len(tt.wantSeq) || (len(seqs) > 0 && (seqs[0] != tt.wantSeq[0] || seqs[len(seqs)-1] != tt.wantSeq[len(tt.wantSeq)-1])) {
			t.Errorf("Read(after %d, limit %d) = sequences %v, want %v", tt.after, tt.limit, seqs, tt.wantSeq)
		}
	}
	first, _, _ := users.Read(context.Background(), 0, 1)
	if first[0].Type != (contracts.SigningKeyPublishedV1{}).EventType() {
		t.Errorf("the feed starts with %s, want the signing key", first[0].Type)
	}
}

func TestTailLogKeepsTheEnd(t *testing.T) {
	l := &tailLog{max: 8}
	for _, s := range []string{"abc", "defg", "hijkl"} {
		if n, err := l.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := l.String(); got != "efghijkl" {
		t.Errorf("tail = %q, want %q", got, "efghijkl")
	}
}

func TestForEachStopsAtTheFirstError(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	err := forEach(context.Background(), 1000, 4, func(i int) error {
		calls.Add(1)
		if i == 10 {
			return boom
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if n := calls.Load(); n >= 1000 {
		t.Errorf("%d calls: the error did not stop the rest", n)
	}

	calls.Store(0)
	if err := forEach(context.Background(), 50, 8, func(int) error { calls.Add(1); return nil }); err != nil || calls.Load() != 50 {
		t.Errorf("forEach = %v after %d calls, want nil after 50", err, calls.Load())
	}
}

func TestConnMemoryPerConnection(t *testing.T) {
	m := connMemory{Measured: 1000, RSSBefore: 30 << 10, RSSAfter: 60 << 10,
		Before: runtimeFigures{Heap: 1 << 20, Stack: 1 << 20, Goroutines: 20},
		After:  runtimeFigures{Heap: 21 << 20, Stack: 17 << 20, Goroutines: 1020}}
	if got := m.perConnKiB(); math.Abs(got-30.72) > 0.01 {
		t.Errorf("perConnKiB = %v, want 30.72", got)
	}
	if got := m.heapPerConnKiB(); math.Abs(got-20.48) > 0.01 {
		t.Errorf("heapPerConnKiB = %v, want 20.48", got)
	}
	if got := m.stackPerConnKiB(); math.Abs(got-16.384) > 0.01 {
		t.Errorf("stackPerConnKiB = %v, want 16.384", got)
	}
	if got := m.goroutinesPerConn(); got != 1 {
		t.Errorf("goroutinesPerConn = %v, want 1", got)
	}
	if (connMemory{}).perConnKiB() != 0 {
		t.Error("no connections measured should give 0, not NaN")
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses; utime is 250 ticks,
	// stime 50.
	stat := "4242 (scs chat (x)) S 1 4242 4242 0 -1 4194560 2951 0 0 0 250 50 0 0 20 0 12 0 1234 2965040 149585 18446744073709551615"
	if got, want := parseStatCPU(stat), 3*time.Second; got != want {
		t.Errorf("parseStatCPU = %s, want %s", got, want)
	}
	if got := parseStatCPU("garbage"); got != 0 {
		t.Errorf("parseStatCPU(garbage) = %s, want 0", got)
	}
	// Burn some CPU, then /proc must show it (in its 10 ms ticks).
	for start := processCPU(); processCPU()-start < 50*time.Millisecond; {
	}
	if got := procCPU(os.Getpid()); got < 40*time.Millisecond {
		t.Errorf("procCPU(self) = %s, want at least the 50ms just burnt", got)
	}
}

func TestLiveSectionAssessesTargetsAtTheirScaleOnly(t *testing.T) {
	lat := func(p99 time.Duration) latency { return latency{P50: p99 / 4, P99: p99, Max: 2 * p99} }
	full := liveResult{Conns: 10000, Warmup: 500,
		Mem: connMemory{Measured: 9998, Open: 10000, RSSBefore: 30 << 10, RSSAfter: 30<<10 + 9998*25},
		Paced: []deliveryRun{
			{Rate: 2000, Sent: 20000, Delivered: 20000, Delivery: lat(30 * time.Millisecond)},
			{Rate: 1000, Sent: 10000, Delivered: 10000, Delivery: lat(5 * time.Millisecond)},
		},
		Sat: saturationRun{Senders: 64, Took: 5 * time.Second, Acked: 10500, Delivered: 10500}}
	body := full.section().Body
	for _, want := range []string{
		"| memory per idle connection at 10,000 ≤ 30 KiB | 25.0 KiB at 10,000 | yes |",
		"| delivery p99 at 2,000 messages/s < 20.00 ms, none lost | 30.00 ms, 0 lost | **no** |",
		"At saturation: **2,100 messages/s**",
		"2,000/s is 95% of it (delivery p99 30.00 ms); 1,000/s is 48% of it (delivery p99 5.00 ms). At 2,000/s this machine has no headroom left",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("section lacks %q:\n%s", want, body)
		}
	}

	small := full
	small.Conns, small.Mem.Open, small.Mem.Measured = 20, 20, 18
	small.Paced = []deliveryRun{{Rate: 200, Sent: 60, Delivered: 60, Delivery: lat(time.Millisecond)}}
	body = small.section().Body
	for _, want := range []string{
		" at 20 | not at the target's scale |",
		"| delivery p99 at 2,000 messages/s < 20.00 ms, none lost | not run at 2,000/s | not at the target's scale |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("small section lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "no headroom") {
		t.Errorf("a run far below saturation claims no headroom:\n%s", body)
	}
}
