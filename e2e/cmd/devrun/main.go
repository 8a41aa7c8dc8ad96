// Command devrun is what "make run" runs: the whole platform on one machine for
// development. It checks that RabbitMQ answers, gives each system a broker user
// of its own in a virtual host of its own when it can (see brokerUsers), starts
// the three systems from
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/provision"

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
	frontDoorAddr  = ":8080"
	publicURL      = "http://localhost:8080"
	defaultAMQPURL = "amqp://guest:guest@localhost:5672/"
	defaultVHost   = "scs-dev"
	brokerTimeout  = 3 * time.Second
	// rabbitmqctl starts an Erlang VM per command, about a second each on an idle
	// machine and several on a busy one.
	provisionTimeout = 2 * time.Minute
	startTimeout     = 30 * time.Second
	shutdownTimeout  = 10 * time.Second
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
	vhost := flags.String("vhost", defaultVHost, "the RabbitMQ virtual `host` of the systems' own users")
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
	out := &lockedWriter{w: stdout}
	urls, removeUsers := brokerUsers(ctx, amqpURL, *vhost, out)
	defer removeUsers()
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

	exited := make(chan exit, len(systems))
	var children []*child
	defer func() { stopAll(children, stdout) }()
	for _, s := range systems {
		c, err := startChild(s, *binDir, *dataDir, urls[s.name], out, exited)
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

// brokerUsers gives each system a user of its own in vhost on the local broker,
// with a fresh random password and the permissions of its identity, as compose
// does, and returns each system's URL and a function that deletes the users.
// The virtual host stays, with its queues, for the next run. When it cannot
// (no rabbitmqctl, or not allowed to run it), every system gets amqpURL, and
// one line says so.
func brokerUsers(ctx context.Context, amqpURL, vhost string, out io.Writer) (map[string]string, func()) {
	urls := map[string]string{}
	for _, s := range systems {
		urls[s.name] = amqpURL
	}
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	users, err := provisionUsers(ctx, amqpURL, vhost)
	if err != nil {
		fmt.Fprintf(out, "Every system connects as the user of %s: no broker user of its own (%v).\n", broker.Redact(amqpURL), oneLine(err))
		return urls, func() {}
	}
	for _, u := range users {
		urls[u.Identity.System] = u.URL
	}
	fmt.Fprintf(out, "Each system connects as its own broker user in the virtual host %s.\n", vhost)
	return urls, func() { _ = provision.DeleteUsers(context.Background(), users) }
}

func provisionUsers(ctx context.Context, amqpURL, vhost string) ([]provision.User, error) {
	if err := provision.Available(ctx); err != nil {
		return nil, fmt.Errorf("rabbitmqctl cannot reach the broker: %w", err)
	}
	if err := provision.EnsureVHost(ctx, vhost); err != nil {
		return nil, err
	}
	// The URL's user may see the systems' queues in the management UI.
	return provision.Platform(ctx, amqpURL, vhost)
}

// oneLine keeps the first line of err, which for rabbitmqctl can be many.
func oneLine(err error) string {
	first, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(first)
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
func startChild(s system, binDir, dataDir, amqpURL string, out io.Writer, exited chan<- exit) (*child, error) {
	cmd := exec.Command(binary(binDir, s))
	cmd.Env = append(os.Environ(),
		"AMQP_URL="+amqpURL,
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
