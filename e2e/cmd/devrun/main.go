// Command devrun is what "make run" runs: the whole platform on one machine for
// development. It checks that RabbitMQ answers, starts the three systems from
// ./bin (built by make beforehand) with their own SQLite files and ports, puts a
// small front door on :8080 in front of them, and stops everything on Ctrl-C.
//
// The front door is for development only; compose uses a real reverse proxy.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/scs-platform/shared-events/broker"

	"github.com/scs-platform/e2e/frontdoor"
)

// system is one of the platform's systems as devrun starts it.
type system struct {
	name string // "users": the URL prefix, the binary is scs-<name>
	port string
}

var systems = []system{
	{"users", "8081"},
	{"chat", "8082"},
	{"cards", "8083"},
}

const (
	frontDoorAddr   = ":8080"
	publicURL       = "http://localhost:8080"
	defaultAMQPURL  = "amqp://guest:guest@localhost:5672/"
	brokerTimeout   = 3 * time.Second
	startTimeout    = 30 * time.Second
	shutdownTimeout = 10 * time.Second
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	flags := flag.NewFlagSet("devrun", flag.ContinueOnError)
	flags.SetOutput(stderr)
	binDir := flags.String("bin", "bin", "the `directory` holding scs-users, scs-chat and scs-cards")
	dataDir := flags.String("data", "data", "the `directory` for the SQLite files")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	amqpURL := getenv("AMQP_URL")
	if amqpURL == "" {
		amqpURL = defaultAMQPURL
	}
	if err := checkBroker(ctx, amqpURL); err != nil {
		return err
	}
	for _, s := range systems {
		if _, err := os.Stat(binary(*binDir, s)); err != nil {
			return fmt.Errorf("%s is missing; \"make run\" builds it before starting devrun.", binary(*binDir, s))
		}
	}
	ln, err := net.Listen("tcp", frontDoorAddr)
	if err != nil {
		return fmt.Errorf("The front door cannot listen on %s (%v); stop whatever uses that port and try again.", frontDoorAddr, err)
	}
	backends := map[string][]*url.URL{}
	for _, s := range systems {
		backends[s.name] = []*url.URL{{Scheme: "http", Host: "127.0.0.1:" + s.port}}
	}
	door := &http.Server{Handler: frontdoor.New(backends), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = door.Serve(ln) }()
	defer door.Close()

	out := &lockedWriter{w: stdout}
	exited := make(chan exit, len(systems))
	var children []*child
	defer func() { stopAll(children, stdout) }()
	for _, s := range systems {
		c, err := startChild(s, *binDir, *dataDir, out, exited)
		if err != nil {
			return err
		}
		children = append(children, c)
	}
	if err := waitHealthy(ctx, exited); err != nil {
		if ctx.Err() != nil {
			return nil // Ctrl-C while starting
		}
		return err
	}
	fmt.Fprintf(out, "Platform running at %s (Ctrl-C stops it)\n", publicURL)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "Stopping the platform.")
		return nil
	case e := <-exited:
		return fmt.Errorf("scs-%s stopped unexpectedly (%v); the others were stopped too.", e.name, e.err)
	}
}

// checkBroker fails with one plain sentence when RabbitMQ does not answer: the
// systems would start without it, but nothing would flow between them.
func checkBroker(ctx context.Context, amqpURL string) error {
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	conn, err := broker.Dial(ctx, amqpURL, "devrun")
	if err != nil {
		return fmt.Errorf("RabbitMQ is not reachable at %s; start one with \"rabbitmq-server -detached\" (or \"docker run -p 5672:5672 rabbitmq:4-management\") and try again.", broker.Redact(amqpURL))
	}
	return conn.Close()
}

// exit is a child that ended.
type exit struct {
	name string
	err  error
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func binary(dir string, s system) string { return filepath.Join(dir, "scs-"+s.name) }

// startChild starts one system with its own database and port. Its output goes
// to out, each line prefixed with the system's name.
func startChild(s system, binDir, dataDir string, out io.Writer, exited chan<- exit) (*child, error) {
	cmd := exec.Command(binary(binDir, s))
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+filepath.Join(dataDir, s.name+".db"),
		"HTTP_ADDR=:"+s.port,
		"PUBLIC_URL="+publicURL,
	)
	prefix := &prefixWriter{prefix: fmt.Sprintf("%-5s | ", s.name), w: out}
	cmd.Stdout = prefix
	cmd.Stderr = prefix
	// A process group of its own keeps the terminal's Ctrl-C away from the child:
	// devrun stops it, in order, with SIGTERM.
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start scs-%s: %v", s.name, err)
	}
	c := &child{name: s.name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		prefix.flush()
		close(c.done)
		exited <- exit{s.name, err}
	}()
	return c, nil
}

// waitHealthy waits until every system answers /healthz.
func waitHealthy(ctx context.Context, exited <-chan exit) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for _, s := range systems {
		for {
			resp, err := client.Get("http://127.0.0.1:" + s.port + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case e := <-exited:
				return fmt.Errorf("scs-%s stopped while starting (%v); see its output above.", e.name, e.err)
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("scs-%s did not answer on port %s within %s; see its output above.", s.name, s.port, startTimeout)
				}
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// stopAll sends SIGTERM to every child still running and waits up to
// shutdownTimeout for them; whoever is left then is killed.
func stopAll(children []*child, stdout io.Writer) {
	for _, c := range children {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(shutdownTimeout)
	for _, c := range children {
		select {
		case <-c.done:
		case <-deadline:
			fmt.Fprintf(stdout, "scs-%s did not stop within %s; killing it.\n", c.name, shutdownTimeout)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// lockedWriter lets the children write whole lines without interleaving.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter puts prefix in front of every line written to it.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// flush writes a last line that has no newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		_, _ = io.WriteString(p.w, p.prefix+string(p.buf)+"\n")
		p.buf = nil
	}
}
