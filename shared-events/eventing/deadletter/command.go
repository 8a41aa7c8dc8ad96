package deadletter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/topology"
)

// defaultListMax is how many letters per queue list shows without -max.
const defaultListMax = 100

// reasonWidth is where list cuts a long reason, so that a row fits a terminal.
const reasonWidth = 80

// Command runs "<binary> deadletters list|replay [-queue Q] [-max N]"; args are
// what follows "deadletters". queues are the consumer queues the binary reads
// ("chat.from-users"); without -queue the command covers all of them.
//
// list prints up to N dead letters per queue (default 100) as a table and leaves
// them where they are. replay moves up to N dead letters per queue (default: all
// that are there) back to their queue and prints how many went.
func Command(ctx context.Context, args []string, amqpURL string, queues []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr, queues)
		return errors.New("deadletters: say what to do: list or replay")
	}
	sub := args[0]
	switch sub {
	case "list", "replay":
	case "help", "-h", "-help", "--help":
		usage(stderr, queues)
		return flag.ErrHelp
	default:
		usage(stderr, queues)
		return fmt.Errorf("deadletters: unknown command %q; the commands are list and replay", sub)
	}
	fs := flag.NewFlagSet("deadletters "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	queue := fs.String("queue", "", "the consumer queue (default: every queue of this binary)")
	var max *int
	if sub == "list" {
		max = fs.Int("max", defaultListMax, "show at most `N` dead letters per queue")
	} else {
		max = fs.Int("max", 0, "replay at most `N` dead letters per queue (0: all)")
	}
	fs.Usage = func() {
		usage(stderr, queues)
		fmt.Fprintf(stderr, "\nflags of %s:\n", sub)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("deadletters %s: %w", sub, err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("deadletters %s: unexpected argument %q (a queue goes after -queue)", sub, fs.Arg(0))
	}
	switch {
	case sub == "list" && *max < 1:
		return fmt.Errorf("deadletters list: -max must be at least 1, not %d", *max)
	case sub == "replay" && *max < 0:
		return fmt.Errorf("deadletters replay: -max must be 0 (all) or more, not %d", *max)
	case sub == "replay" && *max == 0:
		*max = math.MaxInt
	}
	if len(queues) == 0 {
		return fmt.Errorf("deadletters %s: this program consumes no queues, so it has no dead letters", sub)
	}
	targets := queues
	if *queue != "" {
		if !slices.Contains(queues, *queue) {
			usage(stderr, queues)
			return fmt.Errorf("deadletters %s: this program does not consume a queue named %q; its queues are %s", sub, *queue, strings.Join(queues, ", "))
		}
		targets = []string{*queue}
	}

	conn, err := broker.Dial(ctx, amqpURL, "deadletters "+sub)
	if err != nil {
		return err
	}
	defer conn.Close()
	if sub == "list" {
		return list(ctx, conn, targets, *max, stdout)
	}
	return replay(ctx, conn, targets, *max, stdout)
}

func list(ctx context.Context, conn *amqp.Connection, queues []string, max int, stdout io.Writer) error {
	type row struct {
		queue  string
		letter Letter
	}
	var rows []row
	var full []string
	for _, q := range queues {
		letters, err := List(ctx, conn, q, max)
		if err != nil {
			return err
		}
		for _, l := range letters {
			rows = append(rows, row{q, l})
		}
		if len(letters) == max {
			full = append(full, topology.DeadLetterQueue(q))
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "no dead letters in %s\n", strings.Join(deadLetterQueues(queues), ", "))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tMESSAGE ID\tTYPE\tFAILED AT\tATTEMPTS\tREASON")
	for _, r := range rows {
		l := r.letter
		failedAt, attempts := "-", "-"
		if !l.FailedAt.IsZero() {
			failedAt = l.FailedAt.UTC().Format(time.RFC3339)
		}
		if l.Attempts > 0 {
			attempts = strconv.Itoa(l.Attempts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(r.queue), cell(l.MessageID), cell(l.Type), failedAt, attempts, oneLine(l.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("deadletters list: write: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n", plural(len(rows), "dead letter"))
	for _, q := range full {
		fmt.Fprintf(stdout, "%s may hold more than the %d shown; list more with -max\n", q, max)
	}
	return nil
}

func replay(ctx context.Context, conn *amqp.Connection, queues []string, max int, stdout io.Writer) error {
	for _, q := range queues {
		n, err := Replay(ctx, conn, q, max)
		if n > 0 || err == nil {
			fmt.Fprintf(stdout, "replayed %s from %s to %s\n", plural(n, "dead letter"), topology.DeadLetterQueue(q), q)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func usage(w io.Writer, queues []string) {
	fmt.Fprint(w, `usage:
  deadletters list [-queue Q] [-max N]    show up to N dead letters per queue (default 100); they stay
  deadletters replay [-queue Q] [-max N]  move up to N dead letters per queue back to it (default: all)
`)
	if len(queues) > 0 {
		fmt.Fprintf(w, "queues: %s\n", strings.Join(queues, ", "))
	}
}

func deadLetterQueues(queues []string) []string {
	dlqs := make([]string, len(queues))
	for i, q := range queues {
		dlqs[i] = topology.DeadLetterQueue(q)
	}
	return dlqs
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// cell makes a header value, which anyone who could publish chose, safe to print
// in one table cell: no control characters, no empty cell.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// oneLine keeps the first line of a reason, cut to reasonWidth characters.
func oneLine(reason string) string {
	first, _, cut := strings.Cut(strings.TrimSpace(reason), "\n")
	first = strings.TrimSpace(first)
	if r := []rune(first); len(r) > reasonWidth {
		first, cut = string(r[:reasonWidth-1]), true
	}
	if cut {
		first += "…"
	}
	return cell(first)
}
