package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scs-platform/e2e/vhost"
)

// crossResult compares delivery to a partner on the sender's instance with
// delivery to a partner on another instance, in one run.
type crossResult struct {
	Pairs  int // of each kind
	Rate   int // messages per second of each kind
	Took   time.Duration
	Same   deliveryRun
	Cross  deliveryRun
	Warmup int
}

// addedP50 is what the trip through the broker adds at the median.
func (r crossResult) addedP50() time.Duration { return r.Cross.Delivery.P50 - r.Same.Delivery.P50 }
func (r crossResult) addedP99() time.Duration { return r.Cross.Delivery.P99 - r.Same.Delivery.P99 }

// benchCross starts two scs-chat processes on one fresh PostgreSQL database and
// one virtual host, and pairs users up twice over: same-instance pairs with
// both members on instance 1, cross-instance pairs with member A on instance 1
// and B on instance 2. Member A sends, always through instance 1, so a cross
// message reaches B through the chat.live fanout exchange.
func benchCross(ctx context.Context, cfg config, bin string, stdout io.Writer) (res crossResult, err error) {
	res.Pairs, res.Rate = cfg.CrossPairs, cfg.CrossRate
	if cfg.Warmup > 0 {
		// At least one message through every pair before the measured run.
		res.Warmup = max(cfg.Warmup, 2*cfg.CrossPairs)
	}
	dbURL, drop, err := createDatabase(ctx, cfg.PostgresURL)
	if err != nil {
		return res, err
	}
	defer func() {
		if derr := drop(context.WithoutCancel(ctx)); err == nil {
			err = derr
		}
	}()
	addr1, err := freeAddr()
	if err != nil {
		return res, err
	}
	addr2, err := freeAddr()
	if err != nil {
		return res, err
	}
	// Both instances stand behind one front door: one origin, one token each.
	public := "http://" + addr1
	users, err := newChatUsers(4*cfg.CrossPairs, public)
	if err != nil {
		return res, err
	}
	feedURL, closeFeed := users.serveFeed()
	defer closeFeed()
	vh, err := vhost.Create(ctx, cfg.AMQPURL, "bench-chat-")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "  virtual host %s, database %s\n", vh.Name, strings.TrimPrefix(urlPath(dbURL), "/"))
	defer func() {
		if rerr := vh.Remove(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	env := chatEnv(dbURL, vh.Systems["chat"], public, feedURL)
	// One after the other: the first migrates the database and fills the
	// replica from the feed; the second finds both done.
	chat1, err := startSystem(ctx, bin, addr1, env...)
	if err != nil {
		return res, err
	}
	defer chat1.stop()
	client := newChatClient(chat1.Base, users, setupWorkers)
	if err := client.waitKnown(ctx, 2*time.Minute); err != nil {
		return res, err
	}
	chat2, err := startSystem(ctx, bin, addr2, env...)
	if err != nil {
		return res, err
	}
	defer chat2.stop()

	pairs, err := client.joinPairs(ctx, 2*cfg.CrossPairs, setupWorkers)
	if err != nil {
		return res, fmt.Errorf("%w\nscs-chat's log ends:\n%s", err, chat1.logs)
	}
	same, cross := pairs[:cfg.CrossPairs], pairs[cfg.CrossPairs:]
	rec := newRecorder(newClock())
	sameConns, err := openConns(ctx, users, same, chat1.Base, chat1.Base, rec, setupWorkers)
	if sameConns != nil {
		defer closeConns(sameConns, rec)
	}
	if err != nil {
		return res, err
	}
	crossConns, err := openConns(ctx, users, cross, chat1.Base, chat2.Base, rec, setupWorkers)
	if crossConns != nil {
		defer closeConns(crossConns, rec)
	}
	if err != nil {
		return res, err
	}
	if _, err := chat1.waitConnections(ctx, 3*cfg.CrossPairs, 30*time.Second); err != nil {
		return res, err
	}
	if _, err := chat2.waitConnections(ctx, cfg.CrossPairs, 30*time.Second); err != nil {
		return res, err
	}

	// Even messages go to a same-instance pair, odd ones to a cross-instance
	// pair, so both kinds meet the same load at the same moments.
	pick := func(i int) (*liveConn, string) {
		k := (i / 2) % cfg.CrossPairs
		if i%2 == 0 {
			return sameConns[k][0], same[k].Conversation
		}
		return crossConns[k][0], cross[k].Conversation
	}
	if res.Warmup > 0 {
		ph, _, err := sendPaced(ctx, rec, res.Warmup, 2*cfg.CrossRate, pick)
		if err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
		if err := ph.waitDelivered(ctx, res.Warmup, deliveryTimeout); err != nil {
			return res, err
		}
		if got := ph.recvd.Load(); got < int64(res.Warmup) {
			return res, fmt.Errorf("warm-up: %d of %d messages reached the partner within %s\ninstance 2's log ends:\n%s", got, res.Warmup, deliveryTimeout, chat2.logs)
		}
	}
	fmt.Fprintf(stdout, "  %d pairs of each kind open; %d/s of each kind for %s ...\n", cfg.CrossPairs, cfg.CrossRate, cfg.CrossDuration)
	total := 2 * max(1, int(int64(cfg.CrossRate)*int64(cfg.CrossDuration)/int64(time.Second)))
	ph, took, err := sendPaced(ctx, rec, total, 2*cfg.CrossRate, pick)
	if err != nil {
		return res, err
	}
	res.Took = took
	if err := ph.waitDelivered(ctx, total, deliveryTimeout); err != nil {
		return res, err
	}
	res.Same = crossKind(ph, total, cfg, func(i int) bool { return i%2 == 0 })
	res.Cross = crossKind(ph, total, cfg, func(i int) bool { return i%2 == 1 })
	return res, rec.check()
}

func crossKind(ph *phase, total int, cfg config, keep func(int) bool) deliveryRun {
	deliveries, acks, lost := ph.delays(total, keep)
	return deliveryRun{Rate: cfg.CrossRate, Sent: total / 2, Delivered: len(deliveries), Lost: lost,
		Delivery: summarise(cfg.CrossRate, cfg.CrossDuration, deliveries), Ack: summarise(cfg.CrossRate, cfg.CrossDuration, acks)}
}

func (r crossResult) rows() []struct {
	name string
	run  deliveryRun
} {
	return []struct {
		name string
		run  deliveryRun
	}{{"same instance (both members on 1)", r.Same}, {"cross-instance (A on 1, B on 2)", r.Cross}}
}

func (r crossResult) printTable(w io.Writer) {
	for _, row := range r.rows() {
		l := row.run
		fmt.Fprintf(w, "  %-34s sent %d, delivered %d, lost %d; p50 %s, p99 %s, max %s\n", row.name+":", l.Sent, l.Delivered, l.Lost,
			ms(l.Delivery.P50), ms(l.Delivery.P99), ms(l.Delivery.Max))
	}
	fmt.Fprintf(w, "  cross-instance adds %s at p50, %s at p99\n", ms(r.addedP50()), ms(r.addedP99()))
}

func (r crossResult) section() section {
	var b strings.Builder
	fmt.Fprintf(&b, "Two scs-chat processes on one PostgreSQL database and one RabbitMQ virtual host, as behind a front door. "+
		"A message to a partner on the other instance goes from the sender's instance through the `chat.live` fanout exchange to the other instance's queue and out on the partner's websocket. "+
		"No target; measured side by side in one run, both kinds interleaved.\n\n")
	fmt.Fprintf(&b, "**Cross-instance adds %s at p50** (%s at p99).\n\n", ms(r.addedP50()), ms(r.addedP99()))
	fmt.Fprintf(&b, "| Pairs | Sent | Delivered | Lost | Delivery p50 | Delivery p99 | Delivery max | Ack p50 | Ack p99 |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, row := range r.rows() {
		l := row.run
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", row.name, thousands(float64(l.Sent)), thousands(float64(l.Delivered)), l.Lost,
			ms(l.Delivery.P50), ms(l.Delivery.P99), ms(l.Delivery.Max), ms(l.Ack.P50), ms(l.Ack.P99))
	}
	fmt.Fprintf(&b, "\n- The real scs-chat binary, twice, with the same PUBLIC_URL (so one token per user works on both), on a database created for the run and dropped after; users from the stand-in feed as above, the first instance filling the shared replica.\n")
	fmt.Fprintf(&b, "- %d pairs of each kind (%s users), all joined through instance 1. Member A of every pair is connected to instance 1 and sends, so every message is stored by instance 1 (a transaction on PostgreSQL) and acked there; "+
		"B is on instance 1 for a same-instance pair, on instance 2 for a cross-instance pair. Instance 1 publishes every message to the exchange, for either kind; instance 2 delivers those whose recipient it holds.\n",
		r.Pairs, thousands(float64(4*r.Pairs)))
	fmt.Fprintf(&b, "- After %d warm-up messages, a ticker sends %s messages at %s/s, alternating a same-instance and a cross-instance pair (%s/s of each kind, round robin over the pairs of the kind; the run took %s). "+
		"Delivery = B's connection reads the \"message\" frame − just before A's send frame is written; one process, monotonic clock. Lost = not delivered within %s of the last send.\n",
		r.Warmup, thousands(float64(r.Same.Sent+r.Cross.Sent)), thousands(float64(2*r.Rate)), thousands(float64(r.Rate)), r.Took.Round(10*time.Millisecond), deliveryTimeout)
	fmt.Fprintf(&b, "- The benchmark, both scs-chat processes, PostgreSQL and RabbitMQ share the machine's CPUs; the difference between the rows is what is meant to be read, not either row alone.\n")
	return section{Title: "Cross-instance delivery vs same-instance", Body: b.String()}
}
