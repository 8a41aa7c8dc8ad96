// Package platform runs the real platform in a test: the three systems built
// from their own modules and started as processes, each with its own database,
// on a RabbitMQ virtual host of the test's own, behind the front door of
// deploy/Caddyfile (see FrontDoor). Each system connects as a broker user of its
// own with its least permissions, as in production. It is what the cross-system tests and
// benchmarks drive, in a browser or over HTTP.
package platform

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/programtest"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/frontdoor"
	"github.com/scs-platform/e2e/vhost"
)

// Options say what to run.
type Options struct {
	// ChatInstances is how many scs-chat processes run (default 1). With more
	// than one, chat runs on PostgreSQL, which they share.
	ChatInstances int
	// Env adds variables to every system's environment.
	Env map[string]string
	// SystemEnv adds variables to one system's environment, by name ("users"),
	// after Env.
	SystemEnv map[string]map[string]string
	// FrontDoor is what the operator chose about the front door; such a
	// platform needs Caddy, the dev front door cannot stand in.
	FrontDoor frontdoor.CaddyOptions
}

// Platform is a running platform.
type Platform struct {
	// URL is the front door, the browser's one origin.
	URL string
	// Direct are each system's instances by name ("users", "chat", "cards"), at
	// the root of their own port (for /readyz and /metrics).
	Direct map[string][]string
	// AMQPURL is the test's virtual host, as a user who may do anything there
	// (inspect queues); the systems connect as their own users (SystemAMQPURLs).
	AMQPURL string
	// SystemAMQPURLs are each system's own user on the virtual host, by name.
	SystemAMQPURLs map[string]string

	procs map[string][]*process
}

type process struct {
	name string
	cmd  *exec.Cmd
	out  *programtest.Log
	done chan struct{}
	// binary, args and env are what the process was started with, so that
	// Restart starts the same program on the same database and address.
	binary string
	args   []string
	env    map[string]string
}

// Start builds (once per test binary) and starts the platform; it stops when
// the test ends, and shows the systems' logs if the test failed.
func Start(t *testing.T, o Options) *Platform {
	t.Helper()
	if o.ChatInstances <= 0 {
		o.ChatInstances = 1
	}
	bin := build(t)
	vh := VHost(t)
	p := &Platform{Direct: map[string][]string{}, AMQPURL: vh.URL, SystemAMQPURLs: vh.Systems, procs: map[string][]*process{}}

	// The front door starts last, in front of the instances, but the systems
	// need its URL first (PUBLIC_URL).
	door := programtest.FreeAddr(t)
	p.URL = "http://" + door
	dir := t.TempDir()
	counts := map[string]int{"users": 1, "chat": o.ChatInstances, "cards": 1}
	chatDB := filepath.Join(dir, "chat.db")
	if o.ChatInstances > 1 {
		chatDB = servicetest.PostgresURL(t)
	}
	backends := map[string][]*url.URL{}
	for _, name := range []string{"users", "chat", "cards"} {
		for i := range counts[name] {
			addr := programtest.FreeAddr(t)
			env := map[string]string{
				"HTTP_ADDR":    addr,
				"PUBLIC_URL":   p.URL,
				"AMQP_URL":     p.SystemAMQPURLs[name],
				"DATABASE_URL": filepath.Join(dir, name+".db"),
				"LOG_FORMAT":   "text",
			}
			if name != "users" {
				env["USERS_FEED_URL"] = p.Direct["users"][0] + "/users/internal/events/feed"
			}
			if name == "chat" {
				env["DATABASE_URL"] = chatDB
			}
			for k, v := range o.Env {
				env[k] = v
			}
			for k, v := range o.SystemEnv[name] {
				env[k] = v
			}
			proc := startProcess(t, fmt.Sprintf("%s-%d", name, i+1), filepath.Join(bin, "scs-"+name), nil, env)
			p.procs[name] = append(p.procs[name], proc)
			base := "http://" + addr
			waitHealthy(t, proc, base)
			p.Direct[name] = append(p.Direct[name], base)
			u, _ := url.Parse(base)
			backends[name] = append(backends[name], u)
		}
	}
	FrontDoor(t, door, backends, o.FrontDoor)
	return p
}

// WaitReady waits until every instance answers /readyz with 200: connected to
// the broker, its consumers bootstrapped.
func (p *Platform) WaitReady(t *testing.T) {
	t.Helper()
	for name, bases := range p.Direct {
		for _, base := range bases {
			servicetest.Eventually(t, 30*time.Second, "scs-"+name+" at "+base+" to be ready", func() bool {
				resp, err := http.Get(base + "/readyz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			})
		}
	}
}

// Stop stops every instance of the system name (SIGTERM, then a kill after
// ten seconds), as an operator would.
func (p *Platform) Stop(t *testing.T, name string) {
	t.Helper()
	for _, proc := range p.procs[name] {
		proc.stop()
	}
}

func (proc *process) stop() {
	select {
	case <-proc.done:
		return
	default:
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.done:
	case <-time.After(10 * time.Second):
		_ = proc.cmd.Process.Kill()
		<-proc.done
	}
}

// startProcess starts binary with args and env (see environ), until the test
// ends; its output is shown if the test fails.
func startProcess(t *testing.T, name, binary string, args []string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = environ(env)
	out := &programtest.Log{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	proc := &process{name: name, cmd: cmd, out: out, done: make(chan struct{}), binary: binary, args: args, env: env}
	go func() {
		_ = cmd.Wait()
		close(proc.done)
	}()
	t.Cleanup(func() {
		proc.stop()
		if t.Failed() {
			// The pid tells the runs of a restarted instance apart.
			t.Logf("log of %s (pid %d):\n%s", name, cmd.Process.Pid, out.String())
		}
	})
	return proc
}

// environ is a process's environment: PATH and HOME of the test, and env.
func environ(env map[string]string) []string {
	vars := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	return vars
}

func waitHealthy(t *testing.T, proc *process, base string) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, proc.name+" to answer /healthz", func() bool {
		select {
		case <-proc.done:
			t.Fatalf("%s exited while starting:\n%s", proc.name, proc.out.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// build compiles the three systems, each in its own module as its Dockerfile
// does, into a directory shared by the tests of this test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "scs-platform-bin-")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		for _, s := range []string{"scs-users", "scs-chat", "scs-cards"} {
			cmd := exec.Command("go", "build", "-o", buildDir, "./cmd/"+s)
			cmd.Dir = filepath.Join(root, s)
			cmd.Env = append(os.Environ(), "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", s, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// Cleanup removes the binaries; call it from TestMain after the tests ran.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// VHost makes a RabbitMQ virtual host for the test with a user per system,
// deleted when it ends: the systems declare their real exchanges and queues
// there, apart from every other test's.
func VHost(t *testing.T) vhost.VHost {
	t.Helper()
	base := servicetest.BrokerURL(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		servicetest.Unavailable(t, "rabbitmqctl (to make a virtual host)", err)
	}
	v, err := vhost.Create(context.Background(), base, "e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Remove(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return v
}
