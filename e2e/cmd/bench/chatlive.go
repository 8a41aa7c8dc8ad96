package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/scs-platform/e2e/vhost"
)

// The live targets on one instance.
const (
	targetConnKiB   = 30
	targetConnsAt   = 10000
	targetLiveP99   = 20 * time.Millisecond
	targetLiveRate  = 2000
	setupWorkers    = 16 // joins and websocket handshakes at once
	deliveryTimeout = 10 * time.Second
)

// liveResult is the section about one scs-chat on SQLite.
type liveResult struct {
	Conns  int
	Warmup int
	Setup  setupTimes
	Mem    connMemory
	// Paced are the fixed-rate runs: at cfg.LiveRate, then at cfg.LiveLowRate
	// if set.
	Paced []deliveryRun
	Sat   saturationRun
}

// setupTimes says how long the users took to arrive and pair up.
type setupTimes struct {
	Replica, Joins, Dials time.Duration
}

// connMemory is what the idle connections cost the server.
type connMemory struct {
	// Measured is the connections opened between the two readings (all but the
	// first pair's, which went first so that one-off allocations are not
	// counted); Open is chat_live_connections after.
	Measured, Open      int
	RSSBefore, RSSAfter int64 // KiB
	// Before and After are the Go runtime's figures from /metrics.
	Before, After runtimeFigures
}

func (m connMemory) perConnKiB() float64 {
	if m.Measured == 0 {
		return 0
	}
	return float64(m.RSSAfter-m.RSSBefore) / float64(m.Measured)
}

// runtimeFigures are a Go process's heap and stacks in use, and goroutines.
type runtimeFigures struct {
	Heap, Stack, Goroutines float64
}

func runtimeFiguresOf(metrics map[string]float64) runtimeFigures {
	return runtimeFigures{Heap: metrics["go_memstats_heap_inuse_bytes"], Stack: metrics["go_memstats_stack_inuse_bytes"], Goroutines: metrics["go_goroutines"]}
}

// per is the growth from before to after of one figure, per measured connection.
func (m connMemory) per(figure func(runtimeFigures) float64) float64 {
	if m.Measured == 0 {
		return 0
	}
	return (figure(m.After) - figure(m.Before)) / float64(m.Measured)
}

func (m connMemory) heapPerConnKiB() float64 {
	return m.per(func(f runtimeFigures) float64 { return f.Heap }) / 1024
}

func (m connMemory) stackPerConnKiB() float64 {
	return m.per(func(f runtimeFigures) float64 { return f.Stack }) / 1024
}

func (m connMemory) goroutinesPerConn() float64 {
	return m.per(func(f runtimeFigures) float64 { return f.Goroutines })
}

// deliveryRun is messages paced at a fixed rate.
type deliveryRun struct {
	Rate      int
	Took      time.Duration
	Sent      int
	Delivered int
	Lost      int
	Delivery  latency
	Ack       latency
	CPU       cpuUse
}

// saturationRun is closed-loop senders going as fast as their acks come back.
type saturationRun struct {
	Senders   int
	Took      time.Duration
	Acked     int
	Delivered int
	Ack       latency
	Delivery  latency
	CPU       cpuUse
}

func (s saturationRun) perSecond() float64 { return rate(s.Acked, s.Took) }

// cpuUse is the CPU time scs-chat and the benchmark spent in a run. RabbitMQ's
// is not in it.
type cpuUse struct {
	Chat, Bench time.Duration
}

// meterCPU starts measuring; the function it returns ends the measurement.
func meterCPU(chatPID int) func() cpuUse {
	chat, bench := procCPU(chatPID), processCPU()
	return func() cpuUse { return cpuUse{Chat: procCPU(chatPID) - chat, Bench: processCPU() - bench} }
}

// perMessage is the CPU time of each side per message.
func (c cpuUse) perMessage(n int) (chat, bench time.Duration) {
	if n == 0 {
		return 0, 0
	}
	return c.Chat / time.Duration(n), c.Bench / time.Duration(n)
}

// benchLive starts one scs-chat on a SQLite file, pairs cfg.LiveConns users up,
// opens both members' websockets, and measures the memory they hold, the
// delivery at a fixed rate and the rate at saturation.
func benchLive(ctx context.Context, cfg config, bin, dir string, stdout io.Writer) (res liveResult, err error) {
	res.Conns, res.Warmup = cfg.LiveConns, cfg.Warmup
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	public := "http://" + addr
	users, err := newChatUsers(cfg.LiveConns, public)
	if err != nil {
		return res, err
	}
	feedURL, closeFeed := users.serveFeed()
	defer closeFeed()
	vh, err := vhost.Create(ctx, cfg.AMQPURL, "bench-chat-")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "  virtual host %s\n", vh.Name)
	defer func() {
		if rerr := vh.Remove(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	started := time.Now()
	chat, err := startSystem(ctx, bin, addr, chatEnv(filepath.Join(dir, "live.db"), vh.Systems["chat"], public, feedURL)...)
	if err != nil {
		return res, err
	}
	defer chat.stop()
	client := newChatClient(chat.Base, users, setupWorkers)
	if err := client.waitKnown(ctx, 2*time.Minute); err != nil {
		return res, err
	}
	res.Setup.Replica = time.Since(started)

	fmt.Fprintf(stdout, "  %d users known after %s; joining %d pairs ...\n", cfg.LiveConns, res.Setup.Replica.Round(100*time.Millisecond), cfg.LiveConns/2)
	started = time.Now()
	pairs, err := client.joinPairs(ctx, cfg.LiveConns/2, setupWorkers)
	if err != nil {
		return res, fmt.Errorf("%w\nscs-chat's log ends:\n%s", err, chat.logs)
	}
	res.Setup.Joins = time.Since(started)

	fmt.Fprintf(stdout, "  joined in %s; opening %d websockets ...\n", res.Setup.Joins.Round(100*time.Millisecond), cfg.LiveConns)
	rec := newRecorder(newClock())
	started = time.Now()
	conns, mem, err := openMeasured(ctx, chat, users, pairs, rec)
	if conns != nil {
		defer closeConns(conns, rec)
	}
	if err != nil {
		return res, fmt.Errorf("%w\nscs-chat's log ends:\n%s", err, chat.logs)
	}
	res.Setup.Dials, res.Mem = time.Since(started), mem

	fmt.Fprintf(stdout, "  %d open (%.1f KiB each)\n", mem.Open, mem.perConnKiB())
	if err := warmUp(ctx, rec, pairs, conns, cfg.Warmup, cfg.LiveRate); err != nil {
		return res, err
	}
	for _, perSecond := range []int{cfg.LiveRate, cfg.LiveLowRate} {
		if perSecond == 0 {
			continue
		}
		fmt.Fprintf(stdout, "  %d messages/s for %s ...\n", perSecond, cfg.LiveDuration)
		run, err := pacedDelivery(ctx, rec, chat.pid(), pairs, conns, perSecond, cfg.LiveDuration)
		if err != nil {
			return res, err
		}
		res.Paced = append(res.Paced, run)
	}
	fmt.Fprintf(stdout, "  %d closed-loop senders for %s ...\n", min(cfg.LiveSenders, len(pairs)), cfg.LiveSaturation)
	if res.Sat, err = saturate(ctx, rec, chat.pid(), pairs, conns, cfg.LiveSenders, cfg.LiveSaturation); err != nil {
		return res, err
	}
	return res, rec.check()
}

// openMeasured opens the first pair's websockets, reads the server's memory,
// opens everybody else's and reads it again.
func openMeasured(ctx context.Context, chat *systemProcess, users *chatUsers, pairs []pair, rec *recorder) ([][2]*liveConn, connMemory, error) {
	var mem connMemory
	first, err := openConns(ctx, users, pairs[:1], chat.Base, chat.Base, rec, setupWorkers)
	if err != nil {
		return nil, mem, err
	}
	before, err := chat.waitConnections(ctx, 2, 10*time.Second)
	if err != nil {
		closeConns(first, rec)
		return nil, mem, err
	}
	mem.RSSBefore = procKiB(chat.pid(), "VmRSS")
	rest, err := openConns(ctx, users, pairs[1:], chat.Base, chat.Base, rec, setupWorkers)
	conns := append(first, rest...)
	if err != nil {
		return conns, mem, err
	}
	after, err := chat.waitConnections(ctx, 2*len(pairs), 30*time.Second)
	if err != nil {
		return conns, mem, err
	}
	mem.RSSAfter = procKiB(chat.pid(), "VmRSS")
	mem.Measured, mem.Open = 2*(len(pairs)-1), int(after["chat_live_connections"])
	mem.Before, mem.After = runtimeFiguresOf(before), runtimeFiguresOf(after)
	return conns, mem, nil
}

// sendPaced sends total messages at rate per second, pairs taken round robin;
// which member sends alternates each round. It returns the phase and how long
// the sending took.
func sendPaced(ctx context.Context, rec *recorder, total, perSecond int, pick func(i int) (from *liveConn, conversation string)) (*phase, time.Duration, error) {
	ph := rec.begin(total)
	start := time.Now()
	err := pace(ctx, perSecond, total, func(i int) error {
		from, conversation := pick(i)
		ph.sent(i, rec.clock.now())
		return from.send(ctx, conversation, ph.number(i))
	})
	return ph, time.Since(start), err
}

// roundRobin picks pair i mod len(pairs), from member A in even rounds and
// member B in odd ones.
func roundRobin(pairs []pair, conns [][2]*liveConn) func(i int) (*liveConn, string) {
	return func(i int) (*liveConn, string) {
		k := i % len(pairs)
		return conns[k][(i/len(pairs))%2], pairs[k].Conversation
	}
}

// warmUp sends n messages at the rate and waits for them, unmeasured, so that
// the first messages of each conversation (caches, the database's pages) do not
// count.
func warmUp(ctx context.Context, rec *recorder, pairs []pair, conns [][2]*liveConn, n, perSecond int) error {
	if n == 0 {
		return nil
	}
	ph, _, err := sendPaced(ctx, rec, n, perSecond, roundRobin(pairs, conns))
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := ph.waitDelivered(ctx, n, deliveryTimeout); err != nil {
		return err
	}
	if got := ph.recvd.Load(); got < int64(n) {
		return fmt.Errorf("warm-up: %d of %d messages reached the partner within %s", got, n, deliveryTimeout)
	}
	return rec.check()
}

// pacedDelivery is the latency run: messages at a fixed rate, each timed from
// just before its send frame is written to the partner's "message" frame.
func pacedDelivery(ctx context.Context, rec *recorder, chatPID int, pairs []pair, conns [][2]*liveConn, perSecond int, d time.Duration) (deliveryRun, error) {
	total := max(1, int(int64(perSecond)*int64(d)/int64(time.Second)))
	stop := meterCPU(chatPID)
	ph, took, err := sendPaced(ctx, rec, total, perSecond, roundRobin(pairs, conns))
	if err != nil {
		return deliveryRun{}, err
	}
	if err := ph.waitDelivered(ctx, total, deliveryTimeout); err != nil {
		return deliveryRun{}, err
	}
	cpu := stop()
	deliveries, acks, lost := ph.delays(total, all)
	return deliveryRun{Rate: perSecond, Took: took, Sent: total, Delivered: len(deliveries), Lost: lost,
		Delivery: summarise(perSecond, d, deliveries), Ack: summarise(perSecond, d, acks), CPU: cpu}, nil
}

// saturate runs senders closed-loop senders for d, each on its own pair's
// member A, each sending its next message when the last one's ack is back.
func saturate(ctx context.Context, rec *recorder, chatPID int, pairs []pair, conns [][2]*liveConn, senders int, d time.Duration) (saturationRun, error) {
	// Two senders on one connection would take each other's acks.
	senders = min(senders, len(pairs))
	for _, pc := range conns {
		pc[0].drainAcks()
	}
	// Room for 50,000 messages a second, far more than a database commits.
	capacity := int(d.Seconds()*50000) + 1000
	ph := rec.begin(capacity)
	var next sync.Mutex
	used := 0
	take := func() (int, bool) {
		next.Lock()
		defer next.Unlock()
		if used == capacity {
			return 0, false
		}
		used++
		return used - 1, true
	}
	stop := meterCPU(chatPID)
	deadline := time.Now().Add(d)
	start := time.Now()
	errs := make([]error, senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			c, conversation := conns[s][0], pairs[s].Conversation
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i, ok := take()
				if !ok {
					return
				}
				n := ph.number(i)
				ph.sent(i, rec.clock.now())
				if err := c.send(ctx, conversation, n); err != nil {
					errs[s] = err
					return
				}
				if err := awaitAck(ctx, c, n); err != nil {
					errs[s] = fmt.Errorf("sender %d, message %d: %w", s, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), stop()
	for _, err := range errs {
		if err != nil {
			return saturationRun{}, fmt.Errorf("%w (%v)", err, rec.check())
		}
	}
	sent := used
	if err := ph.waitDelivered(ctx, sent, deliveryTimeout); err != nil {
		return saturationRun{}, err
	}
	deliveries, acks, _ := ph.delays(sent, all)
	return saturationRun{Senders: senders, Took: took, Acked: len(acks), Delivered: len(deliveries),
		Ack: summarise(0, took, acks), Delivery: summarise(0, took, deliveries), CPU: cpu}, nil
}

// errAckTimeout is a closed-loop sender that waited too long for its ack.
var errAckTimeout = fmt.Errorf("no ack within %s", deliveryTimeout)

// awaitAck waits for the ack of message n on c.
func awaitAck(ctx context.Context, c *liveConn, n int64) error {
	timer := time.NewTimer(deliveryTimeout)
	defer timer.Stop()
	for {
		select {
		case got := <-c.acks:
			if got == n {
				return nil
			}
		case <-timer.C:
			return errAckTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// The targets are assessed only at their own scale: a quick run with fewer
// connections or another rate measures something else.
func (r liveResult) connAssessed() bool { return r.Mem.Open >= targetConnsAt }
func (r liveResult) connMet() bool      { return r.Mem.perConnKiB() <= targetConnKiB }

// target is the paced run at the target's rate, if there was one.
func (r liveResult) target() (deliveryRun, bool) {
	for _, run := range r.Paced {
		if run.Rate == targetLiveRate {
			return run, true
		}
	}
	return deliveryRun{}, false
}

func p99Met(run deliveryRun) bool { return run.Delivery.P99 < targetLiveP99 && run.Lost == 0 }

// assessedCell is a Met cell, or says why the run does not tell.
func assessedCell(assessed, met bool) string {
	if !assessed {
		return "not at the target's scale"
	}
	return metCell(met)
}

func (r liveResult) printTable(w io.Writer) {
	m := r.Mem
	fmt.Fprintf(w, "  memory: %d connections open; VmRSS %s → %s: %.1f KiB per connection (target ≤ %d KiB at %d: %s); Go heap %.1f KiB, stacks %.1f KiB, %.2f goroutines per connection\n",
		m.Open, mib(m.RSSBefore), mib(m.RSSAfter), m.perConnKiB(), targetConnKiB, targetConnsAt, assessedWord(r.connAssessed(), r.connMet()),
		m.heapPerConnKiB(), m.stackPerConnKiB(), m.goroutinesPerConn())
	for _, l := range r.Paced {
		chatCPU, _ := l.CPU.perMessage(l.Sent)
		fmt.Fprintf(w, "  %d/s for %s: sent %d, delivered %d, lost %d; delivery p50 %s, p99 %s, max %s; ack p50 %s, p99 %s; scs-chat CPU %s per message\n",
			l.Rate, l.Took.Round(10*time.Millisecond), l.Sent, l.Delivered, l.Lost, ms(l.Delivery.P50), ms(l.Delivery.P99),
			ms(l.Delivery.Max), ms(l.Ack.P50), ms(l.Ack.P99), us(chatCPU))
	}
	if l, ok := r.target(); ok {
		fmt.Fprintf(w, "  target: delivery p99 < %s at %d/s, none lost: %s\n", ms(targetLiveP99), targetLiveRate, metWord(p99Met(l)))
	}
	s := r.Sat
	chatCPU, _ := s.CPU.perMessage(s.Acked)
	fmt.Fprintf(w, "  saturation, %d senders for %s: %s messages/s acked; ack p50 %s, p99 %s; delivered %d of %d; scs-chat CPU %s per message\n",
		s.Senders, s.Took.Round(10*time.Millisecond), thousands(s.perSecond()), ms(s.Ack.P50), ms(s.Ack.P99), s.Delivered, s.Acked, us(chatCPU))
}

func assessedWord(assessed, met bool) string {
	if !assessed {
		return "not at the target's scale"
	}
	return metWord(met)
}

func (r liveResult) section() section {
	var b strings.Builder
	m, s := r.Mem, r.Sat
	fmt.Fprintf(&b, "One scs-chat process on a SQLite file, %s users in %s conversations, every member's websocket open on the conversation. "+
		"Targets: an idle connection costs the server at most %d KiB at %s connections, and at %s messages/s a message reaches the partner within %s at p99, none lost; every message is stored before it is acked and delivered.\n\n",
		thousands(float64(r.Conns)), thousands(float64(r.Conns/2)), targetConnKiB, thousands(targetConnsAt), thousands(targetLiveRate), ms(targetLiveP99))
	fmt.Fprintf(&b, "| Target | Measured | Met |\n|---|--:|---|\n")
	fmt.Fprintf(&b, "| memory per idle connection at %s ≤ %d KiB | %.1f KiB at %s | %s |\n", thousands(targetConnsAt), targetConnKiB, m.perConnKiB(),
		thousands(float64(m.Open)), assessedCell(r.connAssessed(), r.connMet()))
	if l, ok := r.target(); ok {
		fmt.Fprintf(&b, "| delivery p99 at %s messages/s < %s, none lost | %s, %d lost | %s |\n\n",
			thousands(targetLiveRate), ms(targetLiveP99), ms(l.Delivery.P99), l.Lost, metCell(p99Met(l)))
	} else {
		fmt.Fprintf(&b, "| delivery p99 at %s messages/s < %s, none lost | not run at %s/s | not at the target's scale |\n\n",
			thousands(targetLiveRate), ms(targetLiveP99), thousands(targetLiveRate))
	}

	fmt.Fprintf(&b, "| Connections open (chat_live_connections) | VmRSS before | VmRSS after | VmRSS per connection | Go heap per connection | Go stacks per connection | Goroutines per connection |\n|--:|--:|--:|--:|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| %s | %s | %s | %.1f KiB | %.1f KiB | %.1f KiB | %.2f |\n\n", thousands(float64(m.Open)), mib(m.RSSBefore), mib(m.RSSAfter),
		m.perConnKiB(), m.heapPerConnKiB(), m.stackPerConnKiB(), m.goroutinesPerConn())

	fmt.Fprintf(&b, "| Run | Sent | Delivered | Lost | Delivery p50 | Delivery p99 | Delivery max | Ack p50 | Ack p99 | scs-chat CPU per message | Benchmark CPU per message |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, l := range r.Paced {
		chatCPU, benchCPU := l.CPU.perMessage(l.Sent)
		fmt.Fprintf(&b, "| paced at %s/s (took %s) | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", thousands(float64(l.Rate)), l.Took.Round(10*time.Millisecond),
			thousands(float64(l.Sent)), thousands(float64(l.Delivered)), l.Lost, ms(l.Delivery.P50), ms(l.Delivery.P99), ms(l.Delivery.Max), ms(l.Ack.P50), ms(l.Ack.P99),
			us(chatCPU), us(benchCPU))
	}
	chatCPU, benchCPU := s.CPU.perMessage(s.Acked)
	fmt.Fprintf(&b, "| saturation: %d closed-loop senders for %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n\n", s.Senders, s.Took.Round(10*time.Millisecond),
		thousands(float64(s.Acked)), thousands(float64(s.Delivered)), s.Acked-s.Delivered, ms(s.Delivery.P50), ms(s.Delivery.P99), ms(s.Delivery.Max), ms(s.Ack.P50), ms(s.Ack.P99),
		us(chatCPU), us(benchCPU))
	fmt.Fprintf(&b, "At saturation: **%s messages/s** stored, acked and delivered (%d senders, each sending its next message when the ack of the last is back).", thousands(s.perSecond()), s.Senders)
	if note := r.headroom(); note != "" {
		fmt.Fprintf(&b, " %s", note)
	}
	fmt.Fprintf(&b, "\n\n")

	fmt.Fprintf(&b, "- The real scs-chat binary (built with `GOWORK=off go build`), alone: its users come from a stand-in for scs-users' event feed served by the benchmark "+
		"(one key, %s registrations), and each user's session cookie is a token signed with that key. Its own RabbitMQ virtual host; `LIMIT_MESSAGES_PER_USER` lifted. "+
		"The replica caught up in %s, the %s joins (POST /chat/join, two per pair at the same point, pairs kilometres apart, %d at once) took %s, the websockets (%d handshakes at once) %s.\n",
		thousands(float64(r.Conns)), r.Setup.Replica.Round(100*time.Millisecond), thousands(float64(r.Conns)), setupWorkers, r.Setup.Joins.Round(100*time.Millisecond),
		setupWorkers, r.Setup.Dials.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "- Memory: VmRSS of the process from /proc, read once the first pair's two websockets were open (so one-off allocations do not count) and again when chat_live_connections said all %s were; "+
		"per connection = the difference ÷ the %s opened in between. The heap and stack figures are `go_memstats_heap_inuse_bytes` and `go_memstats_stack_inuse_bytes` from /metrics at the same moments, without a forced collection, so garbage from the handshakes counts in the heap. "+
		"The connections are idle: no frame but the server's pings (every 25 s).\n",
		thousands(float64(m.Open)), thousands(float64(m.Measured)))
	fmt.Fprintf(&b, "- Paced runs: after %d warm-up messages, a ticker sends messages at a fixed rate for %s, to the %s conversations round robin, from member A in even rounds and B in odd ones. "+
		"Delivery = the partner's connection reads the \"message\" frame − just before the send frame is written; ack = the sender's connection reads the ack − the same start. "+
		"Matched by client_id; one process, monotonic clock. Lost = not delivered within %s of the last send.\n",
		r.Warmup, r.pacedDuration(), thousands(float64(r.Conns/2)), deliveryTimeout)
	fmt.Fprintf(&b, "- Saturation: %d senders, each on its own conversation, for %s; messages/s = acks received ÷ the run's length. A message is acked after its transaction commits; the delivery to both members is queued at the same moment.\n",
		s.Senders, s.Took.Round(10*time.Millisecond))
	fmt.Fprintf(&b, "- CPU per message: user + system time of the scs-chat process (/proc/PID/stat) and of the benchmark process over the run, ÷ messages sent (acked, at saturation). RabbitMQ's is not in it: scs-chat publishes every message to `chat.live` for the other instances even when it is alone, and reads its own publication back.\n")
	fmt.Fprintf(&b, "- The benchmark (%s websocket clients), scs-chat, SQLite and RabbitMQ share the machine's CPUs, so the latencies include waiting for a CPU; each side's reading goroutine timestamps a frame when it gets to run.\n",
		thousands(float64(r.Conns)))
	return section{Title: "Live delivery on one instance (SQLite)", Body: b.String()}
}

// headroom says how the paced rates compare with the rate at saturation, which
// is what explains a latency that grows with the rate.
func (r liveResult) headroom() string {
	sat := r.Sat.perSecond()
	if sat == 0 || len(r.Paced) == 0 {
		return ""
	}
	var parts []string
	for _, l := range r.Paced {
		parts = append(parts, fmt.Sprintf("%s/s is %.0f%% of it (delivery p99 %s)", thousands(float64(l.Rate)), 100*float64(l.Rate)/sat, ms(l.Delivery.P99)))
	}
	note := "The paced rates against that: " + strings.Join(parts, "; ") + "."
	if l, ok := r.target(); ok && float64(l.Rate) >= 0.9*sat {
		note += fmt.Sprintf(" At %s/s this machine has no headroom left, so messages queue.", thousands(float64(l.Rate)))
	}
	return note
}

// pacedDuration is how long each paced run was asked to last.
func (r liveResult) pacedDuration() time.Duration {
	if len(r.Paced) == 0 || r.Paced[0].Rate == 0 {
		return 0
	}
	return time.Duration(r.Paced[0].Sent) * time.Second / time.Duration(r.Paced[0].Rate)
}
