package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// section is one part of BENCHMARKS.md. The program writes the whole file from
// its sections on every run, so a new benchmark adds a section to run rather
// than editing the file by hand.
type section struct {
	Title string
	Body  string
}

// runInfo is the header every section shares.
type runInfo struct {
	Date    time.Time
	Command string
	Took    time.Duration
	Machine machine
}

func renderBenchmarks(info runInfo, sections []section) string {
	var b strings.Builder
	m := info.Machine
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `e2e/cmd/bench` on every run; change the program, not this file.\n\n")
	fmt.Fprintf(&b, "- Command: `%s` (the run took %s)\n", info.Command, info.Took.Round(time.Second))
	fmt.Fprintf(&b, "- Date: %s\n", info.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (nproc), %s, %s memory, %s; load average %s at the start\n", m.CPUs, m.CPUModel, m.Memory, m.OS, m.Load)
	fmt.Fprintf(&b, "- Go: %s\n", m.Go)
	fmt.Fprintf(&b, "- RabbitMQ: %s, on the same machine\n", m.RabbitMQ)
	fmt.Fprintf(&b, "- SQLite: %s\n", m.SQLite)
	fmt.Fprintf(&b, "- PostgreSQL: %s\n", m.Postgres)
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s", s.Title, s.Body)
	}
	return b.String()
}

// writeFileAtomic replaces path, so that a failed run never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// The replication targets.
const (
	targetRatio    = 0.60
	targetP50Extra = 5 * time.Millisecond
)

// replication compares our path with the raw broker.
type replication struct {
	Config config
	Raw    scenarioResult
	Ours   scenarioResult
	// Signatures is what (b) spends on signing and checking each event.
	Signatures signatureCost
}

// signatureShare is the part of (b)'s CPU per event that the signature and
// its check take.
func (r replication) signatureShare() string {
	cpu := r.Ours.Saturation.CPUPerEvent()
	if cpu <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(r.Signatures.Sign+r.Signatures.Verify)/float64(cpu))
}

func (r replication) signatureLine() string {
	return fmt.Sprintf("Of (b)'s %s of CPU per event, the owner's Ed25519 signature takes %s and the consumer's check %s (%s), measured in the same run with testing.Benchmark on an event of the same size.",
		us(r.Ours.Saturation.CPUPerEvent()), us(r.Signatures.Sign), us(r.Signatures.Verify), r.signatureShare())
}

func (r replication) ratio() float64 {
	if r.Raw.Saturation.PerSecond() == 0 {
		return 0
	}
	return r.Ours.Saturation.PerSecond() / r.Raw.Saturation.PerSecond()
}

func (r replication) p50Extra() time.Duration { return r.Ours.Lag.P50 - r.Raw.Lag.P50 }

func (r replication) ratioMet() bool    { return r.ratio() >= targetRatio }
func (r replication) p50ExtraMet() bool { return r.p50Extra() <= targetP50Extra }

type row struct {
	path               string
	rate               float64
	p50, p99, max      string
	sender, senderWhat string
	cpu                string
}

func (r replication) rows() []row {
	sat := func(path string, t throughput, what string) row {
		return row{path: path, rate: t.PerSecond(), p50: "–", p99: "–", max: "–",
			sender: thousands(t.SenderPerSecond()), senderWhat: what, cpu: us(t.CPUPerEvent())}
	}
	withLag := func(rw row, l latency) row {
		rw.p50, rw.p99, rw.max = ms(l.P50), ms(l.P99), ms(l.Max)
		return rw
	}
	rows := []row{
		withLag(sat("(a) raw broker", r.Raw.Saturation, "confirmed"), r.Raw.Lag),
		withLag(sat("(b) ours, 1 event per transaction", r.Ours.Saturation, "committed"), r.Ours.Lag),
	}
	if r.Ours.BatchSize > 1 {
		rows = append(rows, sat(fmt.Sprintf("(b) ours, %d events per transaction", r.Ours.BatchSize), r.Ours.Batched, "committed"))
	}
	return rows
}

// printTable writes the results for a terminal.
func (r replication) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "path\tevents/s\tsender's rate\tCPU/event\tlag p50\tlag p99\tlag max\t\n")
	for _, row := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t\n", row.path, thousands(row.rate), row.sender, row.senderWhat, row.cpu, row.p50, row.p99, row.max)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nb/a = %.0f%% (target ≥ %.0f%%: %s); p50(b) − p50(a) = %s (target ≤ %s: %s)\n",
		100*r.ratio(), 100*targetRatio, metWord(r.ratioMet()), ms(r.p50Extra()), ms(targetP50Extra), metWord(r.p50ExtraMet()))
	fmt.Fprintf(w, "%s\n%s\n", r.pace(), r.signatureLine())
}

// pace says which side of our path set its rate: when the owner committed
// barely faster than events were applied, the commits did; otherwise the relay
// or the consumer fell behind.
func (r replication) pace() string {
	s := r.Ours.Saturation
	if s.SenderPerSecond() < 1.15*s.PerSecond() {
		return fmt.Sprintf("Ours, 1 event per transaction: the owner's commits set the pace (%s/s committed, %s/s applied).",
			thousands(s.SenderPerSecond()), thousands(s.PerSecond()))
	}
	return fmt.Sprintf("Ours, 1 event per transaction: the relay or the consumer set the pace (%s/s committed, only %s/s applied).",
		thousands(s.SenderPerSecond()), thousands(s.PerSecond()))
}

// section is the part of BENCHMARKS.md about replication.
func (r replication) section() section {
	var b strings.Builder
	cfg := r.Config
	fmt.Fprintf(&b, "Targets: our path moves at least %.0f%% of the events per second the raw broker moves, and adds at most %s to the median publish→apply lag at %d events/s.\n\n",
		100*targetRatio, ms(targetP50Extra), cfg.Rate)
	fmt.Fprintf(&b, "| Target | Measured | Met |\n|---|--:|---|\n")
	fmt.Fprintf(&b, "| events/s (b) / (a) ≥ %.0f%% | %.0f%% | %s |\n", 100*targetRatio, 100*r.ratio(), metCell(r.ratioMet()))
	fmt.Fprintf(&b, "| lag p50 (b) − p50 (a) ≤ %s | %s | %s |\n\n", ms(targetP50Extra), ms(r.p50Extra()), metCell(r.p50ExtraMet()))

	fmt.Fprintf(&b, "| Path | Events/s at saturation | Sender's rate | CPU per event | Lag p50 at %d/s | Lag p99 | Lag max |\n|---|--:|--:|--:|--:|--:|--:|\n", cfg.Rate)
	for _, row := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s | %s | %s |\n", row.path, thousands(row.rate), row.sender, row.senderWhat, row.cpu, row.p50, row.p99, row.max)
	}
	fmt.Fprintf(&b, "\n%s\n\n%s\n", r.pace(), r.signatureLine())
	fmt.Fprintf(&b, "\n- (a) raw broker: publisher confirms with at most %d messages unconfirmed (as `outbox.Relay`), persistent messages into a quorum queue declared by `topology`, one consumer with manual acks, prefetch %d, one multiple ack per batch of up to %d; no database.\n",
		cfg.Window, cfg.Prefetch, rawBatchSize)
	fmt.Fprintf(&b, "- (b) ours: `sqldb.DB.InTx` + `outbox.Append` (which signs each event) into an outbox on a SQLite file, `outbox.Relay` (window %d) publishing to the same kind of queue, `consumer.Consumer` (prefetch %d, default batch) checking each event's signature (as every system does) and applying it with its inbox row and aggregate version and a handler that upserts a replica table in a second SQLite file.\n",
		cfg.Window, cfg.Prefetch)
	fmt.Fprintf(&b, "- Events/s: %s events sent as fast as the sender goes, after %d warm-up events; rate = N ÷ (first publish or commit → last ack or replica commit). \"Sender's rate\" is N ÷ (first → last confirm, or last outbox commit) in the same run: when it is close to events/s, the sender set the pace.\n",
		thousands(float64(cfg.Events)), cfg.Warmup)
	fmt.Fprintf(&b, "- CPU per event: user and system CPU time of the benchmark process (publisher or owner, relay, consumer, SQLite) during the saturation run ÷ N. RabbitMQ's CPU is not in it.\n")
	fmt.Fprintf(&b, "- Lag: %d events paced by a ticker at %d/s (the lag runs took %s and %s). (a) ack of the batch − start of the publish (clock time in a header); (b) commit of the replica's transaction (`sqldb.DB.OnCommit`) − start of the owner's transaction (clock time in the event data). One process, monotonic clock.\n",
		r.Ours.Lag.Samples, cfg.Rate, r.Raw.LagRunTook.Round(10*time.Millisecond), r.Ours.LagRunTook.Round(10*time.Millisecond))
	fmt.Fprintf(&b, "- The benchmark and RabbitMQ share the machine's CPUs (and whatever else runs on it: see the load average above), so the figures move from run to run; compare runs on an idle machine.\n")
	return section{Title: "Replication: ours vs the raw broker", Body: b.String()}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// thousands formats a number with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func metCell(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
