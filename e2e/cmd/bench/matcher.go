package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The matcher's targets.
const (
	// targetMatcherSpeedup is how many times faster than the all-pairs scan the
	// index must decide a join in a room of targetSpeedupAt users.
	targetMatcherSpeedup = 1000
	targetSpeedupAt      = 10000
	// targetIndexP99 bounds one decision in a room of targetP99At users.
	targetIndexP99 = 50 * time.Microsecond
	targetP99At    = 100000
)

// matcherBenchmark is the benchmark in scs-chat's matching package.
const matcherBenchmark = "BenchmarkJoin"

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	// Name is the benchmark's full name without the -GOMAXPROCS suffix, such
	// as "BenchmarkJoin/index/n=10000".
	Name       string
	Iterations int
	// Metrics are the line's figures by unit: "ns/op", "p50-ns", ...
	Metrics map[string]float64
}

// parseBenchOutput reads the result lines of `go test -bench` output and
// ignores everything else (goos, pkg, PASS, ok).
func parseBenchOutput(out string) ([]benchLine, error) {
	var lines []benchLine
	for _, text := range strings.Split(out, "\n") {
		f := strings.Fields(text)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		iterations, err := strconv.Atoi(f[1])
		if err != nil {
			// A benchmark's own log line can start with its name too.
			continue
		}
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("benchmark line %q: figures and units do not pair up", text)
		}
		l := benchLine{Name: trimProcs(f[0]), Iterations: iterations, Metrics: map[string]float64{}}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %q is not a number", text, f[i])
			}
			l.Metrics[f[i+1]] = v
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// trimProcs drops the "-2" that go test appends to a name for GOMAXPROCS=2.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// matcherRow is one room size.
type matcherRow struct {
	N        int
	Index    benchLine
	AllPairs benchLine
}

// speedup is how many times longer the all-pairs scan takes per join.
func (r matcherRow) speedup() float64 {
	if r.Index.Metrics["ns/op"] == 0 {
		return 0
	}
	return r.AllPairs.Metrics["ns/op"] / r.Index.Metrics["ns/op"]
}

// matcherResult is the matcher section.
type matcherResult struct {
	Rows []matcherRow
	// CPU is what go test reports the benchmark ran on.
	CPU                   string
	IndexOps, AllPairsOps int
}

// rowsOf pairs the index and all-pairs lines by room size, smallest first.
func rowsOf(lines []benchLine) ([]matcherRow, error) {
	byN := map[int]*matcherRow{}
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l.Name, matcherBenchmark+"/")
		if !ok {
			continue
		}
		kind, size, ok := strings.Cut(rest, "/n=")
		if !ok {
			return nil, fmt.Errorf("benchmark %q: want %s/KIND/n=SIZE", l.Name, matcherBenchmark)
		}
		n, err := strconv.Atoi(size)
		if err != nil {
			return nil, fmt.Errorf("benchmark %q: room size %q is not a number", l.Name, size)
		}
		row := byN[n]
		if row == nil {
			row = &matcherRow{N: n}
			byN[n] = row
		}
		switch kind {
		case "index":
			row.Index = l
		case "allpairs":
			row.AllPairs = l
		}
	}
	var rows []matcherRow
	for _, r := range byN {
		if r.Index.Name == "" || r.AllPairs.Name == "" {
			return nil, fmt.Errorf("room size %d: the index or the all-pairs result is missing", r.N)
		}
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b matcherRow) int { return a.N - b.N })
	if len(rows) == 0 {
		return nil, fmt.Errorf("no %s results", matcherBenchmark)
	}
	return rows, nil
}

// benchMatcher runs scs-chat's matcher benchmark, the index and the all-pairs
// scan each with its own number of joins: the scan is four orders of magnitude
// slower, and the index needs many samples for a p99.
func benchMatcher(ctx context.Context, cfg config, stdout io.Writer) (matcherResult, error) {
	res := matcherResult{IndexOps: cfg.MatcherOps, AllPairsOps: cfg.MatcherAllPairsOps}
	var lines []benchLine
	for _, run := range []struct {
		kind string
		ops  int
	}{{"index", cfg.MatcherOps}, {"allpairs", cfg.MatcherAllPairsOps}} {
		fmt.Fprintf(stdout, "  %s, %d joins per room size ...\n", run.kind, run.ops)
		out, err := goTestBench(ctx, cfg.ChatDir, "^"+matcherBenchmark+"$/^"+run.kind+"$/", run.ops)
		if err != nil {
			return res, err
		}
		l, err := parseBenchOutput(out)
		if err != nil {
			return res, err
		}
		lines = append(lines, l...)
		if cpu := procFieldOf(out, "cpu"); cpu != "" {
			res.CPU = cpu
		}
	}
	rows, err := rowsOf(lines)
	if err != nil {
		return res, err
	}
	res.Rows = rows
	return res, nil
}

// goTestBench runs the benchmarks matching pattern in scs-chat's matching
// package, each for ops iterations, and returns go test's output.
func goTestBench(ctx context.Context, dir, pattern string, ops int) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-bench", pattern,
		"-benchtime", strconv.Itoa(ops)+"x", "./internal/matching/")
	cmd.Dir = dir
	// As the system builds alone (its Dockerfile), not through go.work.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test -bench %s in %s: %v\n%s", pattern, dir, err, out)
	}
	return string(out), nil
}

// procFieldOf returns the value of the first "name: value" line of text.
func procFieldOf(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r matcherResult) row(n int) (matcherRow, bool) {
	for _, row := range r.Rows {
		if row.N == n {
			return row, true
		}
	}
	return matcherRow{}, false
}

func (r matcherResult) speedupMet() (float64, bool, bool) {
	row, ok := r.row(targetSpeedupAt)
	return row.speedup(), ok && row.speedup() >= targetMatcherSpeedup, ok
}

func (r matcherResult) p99Met() (time.Duration, bool, bool) {
	row, ok := r.row(targetP99At)
	p99 := time.Duration(row.Index.Metrics["p99-ns"])
	return p99, ok && p99 <= targetIndexP99, ok
}

// nsText formats nanoseconds as µs or ms, whichever reads better.
func nsText(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
}

func (r matcherResult) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nmatcher, one join decision (Best) in a room of n:\n")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "  n=%-6d index %s (p50 %s, p99 %s), all-pairs %s: %s×\n", row.N,
			nsText(row.Index.Metrics["ns/op"]), nsText(row.Index.Metrics["p50-ns"]), nsText(row.Index.Metrics["p99-ns"]),
			nsText(row.AllPairs.Metrics["ns/op"]), thousands(row.speedup()))
	}
}

func (r matcherResult) section() section {
	var b strings.Builder
	fmt.Fprintf(&b, "A join asks the matcher for the best partner among the users waiting. scs-chat keeps the waiting room in a spatial index "+
		"(`internal/matching`); the book's way is to scan every waiting user. Targets: the index decides at least %s× faster than the scan "+
		"in a room of %s, and its p99 is at most %s in a room of %s.\n\n",
		thousands(targetMatcherSpeedup), thousands(targetSpeedupAt), nsText(float64(targetIndexP99)), thousands(targetP99At))
	fmt.Fprintf(&b, "| Target | Measured | Met |\n|---|--:|---|\n")
	if s, met, ok := r.speedupMet(); ok {
		fmt.Fprintf(&b, "| all-pairs ÷ index at n=%s ≥ %s× | %s× | %s |\n", thousands(targetSpeedupAt), thousands(targetMatcherSpeedup), thousands(s), metCell(met))
	}
	if p99, met, ok := r.p99Met(); ok {
		fmt.Fprintf(&b, "| index p99 at n=%s ≤ %s | %s | %s |\n", thousands(targetP99At), nsText(float64(targetIndexP99)), nsText(float64(p99)), metCell(met))
	}
	fmt.Fprintf(&b, "\n| Waiting users (n) | Index per join | Index p50 | Index p99 | All-pairs per join | All-pairs p50 | All-pairs p99 | All-pairs ÷ index |\n|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, row := range r.Rows {
		ix, ap := row.Index.Metrics, row.AllPairs.Metrics
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s× |\n", thousands(float64(row.N)),
			nsText(ix["ns/op"]), nsText(ix["p50-ns"]), nsText(ix["p99-ns"]), nsText(ap["ns/op"]), nsText(ap["p50-ns"]), nsText(ap["p99-ns"]), thousands(row.speedup()))
	}
	cpu := ""
	if r.CPU != "" {
		cpu = fmt.Sprintf(" (go test reports the CPU as %s)", r.CPU)
	}
	fmt.Fprintf(&b, "\n- `cd scs-chat && GOWORK=off go test -run '^$' -bench '^%s$/^index$/' -benchtime %dx ./internal/matching/`, then the same with `^allpairs$` and `-benchtime %dx`%s. "+
		"Each sub-benchmark times %d (index) or %d (all-pairs) calls of `Best` for a fresh joiner, who is not added, against a room of n waiting users, each call on its own clock for the percentiles.\n",
		matcherBenchmark, r.IndexOps, r.AllPairsOps, cpu, r.IndexOps, r.AllPairsOps)
	fmt.Fprintf(&b, "- The room is the benchmark's: 80%% of users around 50 large cities, 20%% anywhere on land-ish latitudes, ranges log-uniform from 0.1 to 500 km; the joiners cycle through a pool of 16,384 drawn the same way. The same room is in both matchers.\n")
	fmt.Fprintf(&b, "- \"Per join\" is go test's ns/op; p50 and p99 include the two clock reads around each call (tens of ns). The ratio is of ns/op.\n")
	fmt.Fprintf(&b, "- The benchmark starts nothing else while this section runs, so the go test process has the machine to itself as far as the benchmark knows. The all-pairs p99 rests on %d samples only.\n", r.AllPairsOps)
	return section{Title: "Matcher: spatial index vs the all-pairs scan", Body: b.String()}
}
