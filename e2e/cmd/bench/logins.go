package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// loginPassword is every benchmark user's password.
const loginPassword = "correct horse battery staple"

// loginRun is one run of the login benchmark against one scs-users process.
type loginRun struct {
	// Concurrency is the process's PASSWORD_HASH_CONCURRENCY.
	Concurrency int
	Logins      int
	Failures    int
	Took        time.Duration
	Latency     latency
	// BaselineRSS is the process's resident memory before the logins start,
	// PeakRSS the most it held while they ran (VmHWM, reset before the run).
	BaselineRSS, PeakRSS int64
}

func (r loginRun) perSecond() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.Logins) / r.Took.Seconds()
}

// loginsResult compares the bounded hasher with an unbounded one.
type loginsResult struct {
	Clients  int
	Duration time.Duration
	Argon2   string
	Ours     loginRun // PASSWORD_HASH_CONCURRENCY at its default, the CPU count
	Naive    loginRun // one hash slot per client: no bound at all
}

// benchLogins builds scs-users and measures, twice, cfg.LoginClients clients
// logging in as fast as they can for cfg.LoginDuration: once with the hashes
// bounded as shipped, once with a slot for every client.
func benchLogins(ctx context.Context, cfg config, stdout io.Writer) (loginsResult, error) {
	dir, err := os.MkdirTemp("", "bench-logins-")
	if err != nil {
		return loginsResult{}, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildSystem(ctx, cfg.UsersDir, "scs-users", dir)
	if err != nil {
		return loginsResult{}, err
	}
	res := loginsResult{Clients: cfg.LoginClients, Duration: cfg.LoginDuration, Argon2: "m=19456 KiB, t=2, p=1 (OWASP; the default)"}
	for _, run := range []struct {
		concurrency int
		into        *loginRun
	}{{runtime.NumCPU(), &res.Ours}, {cfg.LoginClients, &res.Naive}} {
		fmt.Fprintf(stdout, "  %d clients, PASSWORD_HASH_CONCURRENCY=%d ...\n", cfg.LoginClients, run.concurrency)
		r, err := loginRunOnce(ctx, cfg, bin, filepath.Join(dir, strconv.Itoa(run.concurrency)), run.concurrency)
		if err != nil {
			return loginsResult{}, err
		}
		*run.into = r
	}
	return res, nil
}

func loginRunOnce(ctx context.Context, cfg config, bin, dir string, concurrency int) (loginRun, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return loginRun{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return loginRun{}, err
	}
	// The limits would stop a benchmark that logs in 50 times a second from
	// one address; they are not what is measured.
	const unlimited = "1000000/1ms"
	var logs bytes.Buffer
	proc := exec.Command(bin)
	proc.Env = append(os.Environ(),
		"HTTP_ADDR="+addr, "DATABASE_URL="+filepath.Join(dir, "users.db"), "AMQP_URL="+cfg.AMQPURL,
		"PASSWORD_HASH_CONCURRENCY="+strconv.Itoa(concurrency),
		"LIMIT_LOGIN_PER_ACCOUNT="+unlimited, "LIMIT_LOGIN_PER_IP="+unlimited, "LIMIT_SIGNUP_PER_IP="+unlimited)
	proc.Stdout, proc.Stderr = &logs, &logs
	if err := proc.Start(); err != nil {
		return loginRun{}, err
	}
	defer func() {
		_ = proc.Process.Signal(syscall.SIGTERM)
		_ = proc.Wait()
	}()
	base := "http://" + addr
	if err := waitOK(ctx, base+"/healthz", "scs-users did not answer /healthz", 30*time.Second); err != nil {
		return loginRun{}, fmt.Errorf("%w\n%s", err, logs.String())
	}
	client := &http.Client{
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: cfg.LoginClients},
	}
	emails := make([]string, cfg.LoginClients)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench%d@example.com", i)
		if err := postForm(ctx, client, base+"/users/signup", url.Values{"email": {emails[i]},
			"display_name": {"Bench " + strconv.Itoa(i)}, "password": {loginPassword}}); err != nil {
			return loginRun{}, fmt.Errorf("sign up: %w\n%s", err, logs.String())
		}
	}
	// Warm up: one login each, then start counting the peak afresh.
	for _, e := range emails {
		if err := postForm(ctx, client, base+"/users/login", url.Values{"email": {e}, "password": {loginPassword}}); err != nil {
			return loginRun{}, fmt.Errorf("log in: %w", err)
		}
	}
	pid := proc.Process.Pid
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return loginRun{}, fmt.Errorf("reset the peak memory of scs-users: %w", err)
	}
	run := loginRun{Concurrency: concurrency, BaselineRSS: procKiB(pid, "VmRSS")}

	var mu sync.Mutex
	var samples []time.Duration
	deadline := time.Now().Add(cfg.LoginDuration)
	started := time.Now()
	var wg sync.WaitGroup
	for _, email := range emails {
		wg.Go(func() {
			form := url.Values{"email": {email}, "password": {loginPassword}}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := postForm(ctx, client, base+"/users/login", form)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					run.Failures++
				} else {
					run.Logins++
					samples = append(samples, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	run.Took = time.Since(started)
	run.PeakRSS = procKiB(pid, "VmHWM")
	run.Latency = summarise(0, run.Took, samples)
	if err := ctx.Err(); err != nil {
		return loginRun{}, err
	}
	if run.Logins == 0 {
		return loginRun{}, fmt.Errorf("no login succeeded (%d failed)\n%s", run.Failures, logs.String())
	}
	return run, nil
}

// postForm posts form as a browser on the site would and wants the 303 of a
// successful sign-up or login.
func postForm(ctx context.Context, c *http.Client, u string, form url.Values) error {
	resp, err := sendForm(ctx, c, "", u, nil, form)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST %s answered %s", u, resp.Status)
	}
	return nil
}

// waitOK polls url until it answers 200 or timeout passes; what names the
// wait in the error.
func waitOK(ctx context.Context, url, what string, timeout time.Duration) error {
	if err := waitPage(ctx, http.DefaultClient, url, nil, timeout); err != nil {
		return fmt.Errorf("%s within %s: %w", what, timeout, err)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// procKiB reads a "kB" line of /proc/<pid>/status, in KiB (0 if absent).
func procKiB(pid int, field string) int64 {
	v := procField(fmt.Sprintf("/proc/%d/status", pid), field)
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// printTable writes the results for a terminal.
func (r loginsResult) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nlogins, %d clients for %s (argon2id %s):\n", r.Clients, r.Duration, r.Argon2)
	for _, run := range []loginRun{r.Ours, r.Naive} {
		fmt.Fprintf(w, "  concurrency %2d: %.1f logins/s, p50 %s, p99 %s, peak %s (baseline %s), %d failed\n",
			run.Concurrency, run.perSecond(), ms(run.Latency.P50), ms(run.Latency.P99), mib(run.PeakRSS), mib(run.BaselineRSS), run.Failures)
	}
}

func (r loginsResult) section() section {
	var b strings.Builder
	fmt.Fprintf(&b, "Password hashing is argon2id at %s. The number of hashes running at once is bounded "+
		"(PASSWORD_HASH_CONCURRENCY, by default the number of CPUs), so that a burst of logins queues for the CPUs instead of holding "+
		"19 MiB per login at once. Measured side by side in one run: the bound as shipped, and a slot for every client (no bound).\n\n", r.Argon2)
	fmt.Fprintf(&b, "| Hashes at once | Logins/s | Login p50 | Login p99 | Peak memory (VmHWM) | Before the logins | Failed |\n|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, run := range []loginRun{r.Ours, r.Naive} {
		name := strconv.Itoa(run.Concurrency) + []string{" (ours: the CPU count)", " (no bound)"}[i]
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %s | %d |\n", name, run.perSecond(), ms(run.Latency.P50), ms(run.Latency.P99),
			mib(run.PeakRSS), mib(run.BaselineRSS), run.Failures)
	}
	if r.Naive.PeakRSS > 0 && r.Ours.perSecond() > 0 {
		fmt.Fprintf(&b, "\nWith the bound, the %d concurrent logins peak at %.0f%% of the memory of the unbounded run, at %.0f%% of its throughput.\n",
			r.Clients, 100*float64(r.Ours.PeakRSS)/float64(r.Naive.PeakRSS), 100*r.Ours.perSecond()/r.Naive.perSecond())
	}
	fmt.Fprintf(&b, "\n- The real scs-users binary (built with `GOWORK=off go build`) on a SQLite file, its rate limits lifted for the run. "+
		"%d users signed up, then %d clients (one per user, one connection each) POST the login form in a loop for %s; "+
		"a login is the 303 that sets the session cookie: the limiter's buckets, the hash, the new session row.\n", r.Clients, r.Clients, r.Duration)
	fmt.Fprintf(&b, "- Peak memory: the process's VmHWM from /proc, reset (clear_refs) after one warm-up login per user; \"before\" is VmRSS at that moment. "+
		"The Go heap is not limited (no GOMEMLIMIT), so garbage the hashes leave behind counts too, as it would in production.\n")
	fmt.Fprintf(&b, "- `go test -bench . ./internal/password/` in scs-users times one hash alone.\n")
	return section{Title: "Logins: argon2id with a bounded number of hashes", Body: b.String()}
}
