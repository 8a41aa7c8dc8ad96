package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/topology"
)

// run measures every scenario, prints the results and rewrites cfg.Out.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	started := time.Now()

	m, err := describeMachine(ctx, cfg)
	if err != nil {
		return err
	}
	n := newNames()
	defer func() {
		// Clean up even after Ctrl-C, but not forever.
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := removeTopology(cleanupCtx, cfg.AMQPURL, n); err != nil {
			logger.Warn("could not remove the benchmark's queues and exchanges", "owner", n.owner, "err", err)
		}
	}()
	c := newClock()

	fmt.Fprintf(stdout, "owner %s; %d events per saturation run, %d/s for %s per lag run\n", n.owner, cfg.Events, cfg.Rate, cfg.LagDuration)
	fmt.Fprintln(stdout, "(a) raw broker ...")
	raw, err := benchRaw(ctx, cfg, n, c)
	if err != nil {
		return fmt.Errorf("raw broker: %w", err)
	}
	fmt.Fprintln(stdout, "(b) outbox → relay → consumer ...")
	ours, err := benchOurs(ctx, cfg, n, c, logger)
	if err != nil {
		return fmt.Errorf("ours: %w", err)
	}

	signatures, err := measureSignatures(n)
	if err != nil {
		return fmt.Errorf("signatures: %w", err)
	}

	rep := replication{Config: cfg, Raw: raw, Ours: ours, Signatures: signatures}
	fmt.Fprintln(stdout)
	rep.printTable(stdout)
	sections := []section{rep.section()}
	if cfg.LoginClients > 0 {
		fmt.Fprintln(stdout, "\nlogins through scs-users ...")
		logins, err := benchLogins(ctx, cfg, stdout)
		if err != nil {
			return fmt.Errorf("logins: %w", err)
		}
		logins.printTable(stdout)
		sections = append(sections, logins.section())
	}
	if cfg.MatcherOps > 0 {
		fmt.Fprintln(stdout, "\nmatcher: spatial index vs all-pairs scan (go test -bench in scs-chat) ...")
		matcher, err := benchMatcher(ctx, cfg, stdout)
		if err != nil {
			return fmt.Errorf("matcher: %w", err)
		}
		matcher.printTable(stdout)
		sections = append(sections, matcher.section())
	}
	if cfg.LiveConns > 0 || cfg.CrossPairs > 0 {
		chat, err := benchChat(ctx, cfg, stdout)
		if err != nil {
			return err
		}
		sections = append(sections, chat...)
	}
	if cfg.CardsClients > 0 {
		cards, err := benchCards(ctx, cfg, stdout)
		if err != nil {
			return err
		}
		sections = append(sections, cards)
	}
	if cfg.PagesUsers > 0 {
		pages, err := benchPages(ctx, cfg, stdout)
		if err != nil {
			return fmt.Errorf("pages through the front door: %w", err)
		}
		sections = append(sections, pages)
	}
	took := time.Since(started)
	fmt.Fprintf(stdout, "\nrun took %s\n", took.Round(100*time.Millisecond))
	if cfg.Out == "" {
		return nil
	}
	info := runInfo{Date: started, Command: command(cfg.Args), Took: took, Machine: m}
	if err := writeFileAtomic(cfg.Out, []byte(renderBenchmarks(info, sections))); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", cfg.Out)
	return nil
}

// command is the exact command that produced the figures.
func command(args []string) string {
	if len(args) == 0 {
		return "make bench"
	}
	return "cd e2e && go run ./cmd/bench " + strings.Join(args, " ")
}

// names are this run's owner and consumers. They are unique, so that a run
// neither collides with nor cleans up after another run or a test.
type names struct {
	owner           string
	rawConsumer     string
	replicaConsumer string
}

func newNames() names {
	s := strings.ToLower(rand.Text()[:10])
	return names{owner: "bench" + s, rawConsumer: "benchraw" + s, replicaConsumer: "benchreplica" + s}
}

func (n names) source() string   { return "/scs-" + n.owner }
func (n names) rawType() string  { return n.owner + ".item.published.v1" }
func (n names) oursType() string { return n.owner + ".item.updated.v1" }

// removeTopology deletes the queues and exchanges the run declared.
func removeTopology(ctx context.Context, amqpURL string, n names) error {
	conn, err := broker.Dial(ctx, amqpURL, "bench cleanup")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	var errs []error
	for _, consumer := range []string{n.rawConsumer, n.replicaConsumer} {
		q := topology.Queue(consumer, n.owner)
		errs = append(errs, deleteQueue(ch, q), deleteQueue(ch, topology.DeadLetterQueue(q)),
			deleteExchange(ch, topology.DeadLetterExchange(consumer)))
	}
	errs = append(errs, deleteExchange(ch, topology.Exchange(n.owner)))
	return errors.Join(errs...)
}

func deleteQueue(ch *amqp.Channel, name string) error {
	if _, err := ch.QueueDelete(name, false, false, false); err != nil {
		return fmt.Errorf("delete queue %s: %w", name, err)
	}
	return nil
}

func deleteExchange(ch *amqp.Channel, name string) error {
	if err := ch.ExchangeDelete(name, false, false); err != nil {
		return fmt.Errorf("delete exchange %s: %w", name, err)
	}
	return nil
}
