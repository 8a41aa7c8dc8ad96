package platform

import (
	"database/sql"
	"maps"
	"os/exec"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// Kill crashes every instance of the system name: SIGKILL, so that nothing of
// its shutdown runs (no last ack, no last confirm, no checkpoint), as when the
// kernel's OOM killer or a failing host takes a process. It returns once every
// instance is gone; Restart starts them again.
func (p *Platform) Kill(t *testing.T, name string) {
	t.Helper()
	for _, proc := range p.instances(t, name) {
		proc.kill()
	}
}

func (proc *process) kill() {
	select {
	case <-proc.done:
		return
	default:
	}
	_ = proc.cmd.Process.Kill()
	<-proc.done
}

// Restart starts every instance of the system name again: the same binary,
// environment and database, and the same HTTP_ADDR, so that the front door and
// p.Direct reach it where they did. It waits until each answers /healthz. An
// instance still running is first stopped as Stop does, so Restart is also an
// operator's restart.
func (p *Platform) Restart(t *testing.T, name string) {
	t.Helper()
	for i, proc := range p.instances(t, name) {
		proc.stop()
		next := startProcess(t, proc.name, proc.binary, proc.args, proc.env)
		p.procs[name][i] = next
		waitHealthy(t, next, "http://"+proc.env["HTTP_ADDR"])
	}
}

// Reconfigure restarts every instance of the system name as Restart does,
// with env changed: a variable set to "" is removed, as an operator would
// change a setting and restart.
func (p *Platform) Reconfigure(t *testing.T, name string, env map[string]string) {
	t.Helper()
	for _, proc := range p.instances(t, name) {
		proc.env = maps.Clone(proc.env)
		for k, v := range env {
			if v == "" {
				delete(proc.env, k)
			} else {
				proc.env[k] = v
			}
		}
	}
	p.Restart(t, name)
}

// ReadOnly opens a system's SQLite file (see DatabasePath) without taking part
// in it: no WAL switch, no migrations, no writes, so that a test watches the
// systems rather than joins them.
func ReadOnly(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
}

// DatabasePath is the SQLite file of the system name (with its -wal and -shm
// files beside it). It fails the test if the system runs on PostgreSQL.
func (p *Platform) DatabasePath(t *testing.T, name string) string {
	t.Helper()
	u := p.instances(t, name)[0].env["DATABASE_URL"]
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		t.Fatalf("scs-%s runs on PostgreSQL, not on a SQLite file", name)
	}
	return u
}

// Command runs "scs-<name> args..." as an operator would next to the running
// system (such as "scs-users admin grant ada@example.com"): the same binary and
// environment, DATABASE_URL and AMQP_URL above all. It returns what the command
// printed and fails the test if it fails.
func (p *Platform) Command(t *testing.T, name string, args ...string) string {
	t.Helper()
	proc := p.instances(t, name)[0]
	cmd := exec.Command(proc.binary, args...)
	cmd.Env = environ(proc.env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scs-%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *Platform) instances(t *testing.T, name string) []*process {
	t.Helper()
	procs := p.procs[name]
	if len(procs) == 0 {
		t.Fatalf("the platform runs no system %q (it runs users, chat and cards)", name)
	}
	return procs
}
