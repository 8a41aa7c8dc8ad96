package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/e2e/frontdoor"
	"github.com/scs-platform/e2e/vhost"
)

// This file measures the pages a signed-in user reads most, through the front
// door that ops run (Caddy with deploy/Caddyfile) and, side by side in the same
// run, straight from each system: the three real systems on SQLite files,
// replicating over a virtual host of their own, with real sign-ups.

// mainPages are the pages measured, in turn: each system's main page for a
// signed-in user.
var mainPages = []string{"/users/account", "/chat/", "/cards/"}

// pagesRun is what one target (the front door or the systems directly) measured.
type pagesRun struct {
	Target string
	// Paced is the open-loop run at a fixed rate: a request's latency counts
	// from when it was due, so a stall shows in the figures instead of
	// slowing the schedule down.
	Paced       latency
	PacedFailed int64
	// Saturated is the closed-loop run, as fast as the clients can go.
	Saturated       latency
	SaturatedServed int64
	SaturatedFailed int64
	// CPU is the CPU time per page served in the saturated run, by process:
	// "front door", "users", "chat", "cards" and "load generator" (this one).
	CPU map[string]time.Duration
}

// pagesResult is the section's figures.
type pagesResult struct {
	Users, Rate, Clients int
	Duration, Saturation time.Duration
	CaddyVersion         string
	Door, Direct         pagesRun
}

// pageTarget is where the pages are read: prefix → base URL.
type pageTarget struct {
	name  string
	bases map[string]string
}

func (t pageTarget) url(path string) string {
	for prefix, base := range t.bases {
		if strings.HasPrefix(path, prefix) {
			return base + path
		}
	}
	return t.bases[""] + path
}

// benchPages builds and starts the platform behind Caddy and measures it.
func benchPages(ctx context.Context, cfg config, stdout io.Writer) (section, error) {
	caddy, err := exec.LookPath(cfg.Caddy)
	if err != nil {
		return section{}, fmt.Errorf("the front-door benchmark runs Caddy (apt-get install caddy): %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-pages-")
	if err != nil {
		return section{}, err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for name, module := range map[string]string{"users": cfg.UsersDir, "chat": cfg.ChatDir, "cards": cfg.CardsDir} {
		if bins[name], err = buildSystem(ctx, module, "scs-"+name, dir); err != nil {
			return section{}, err
		}
	}
	vh, err := vhost.Create(ctx, cfg.AMQPURL, "bench-pages-")
	if err != nil {
		return section{}, err
	}
	defer func() { _ = vh.Remove(context.WithoutCancel(ctx)) }()

	addrs := map[string]string{}
	for _, name := range []string{"door", "door-health", "users", "chat", "cards"} {
		if addrs[name], err = freeAddr(); err != nil {
			return section{}, err
		}
	}
	public := "http://" + addrs["door"]
	direct := pageTarget{name: "direct", bases: map[string]string{}}
	pids := map[string]int{}
	// The limits would stop a benchmark that signs up and reads pages from one
	// address; they are not what is measured.
	const unlimited = "1000000/1ms"
	for _, name := range []string{"users", "chat", "cards"} {
		env := []string{"DATABASE_URL=" + filepath.Join(dir, name+".db"), "AMQP_URL=" + vh.Systems[name], "PUBLIC_URL=" + public}
		switch name {
		case "users":
			env = append(env, "LIMIT_LOGIN_PER_ACCOUNT="+unlimited, "LIMIT_LOGIN_PER_IP="+unlimited, "LIMIT_SIGNUP_PER_IP="+unlimited)
		default:
			env = append(env, "USERS_FEED_URL="+direct.bases["/users/"]+"/users/internal/events/feed")
		}
		p, err := startSystem(ctx, bins[name], addrs[name], env...)
		if err != nil {
			return section{}, err
		}
		defer p.stop()
		direct.bases["/"+name+"/"] = p.Base
		pids[name] = p.pid()
	}
	door, version, err := startCaddy(ctx, caddy, cfg.Caddyfile, dir, addrs)
	if err != nil {
		return section{}, err
	}
	defer door.stop()
	pids["front door"] = door.pid()
	front := pageTarget{name: "front door", bases: map[string]string{"": public}}

	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConns: 4 * cfg.PagesClients, MaxIdleConnsPerHost: 2 * cfg.PagesClients},
	}
	fmt.Fprintf(stdout, "\npages through the front door (Caddy %s): signing up %d users ...\n", version, cfg.PagesUsers)
	cookies, err := signUpUsers(ctx, client, public, cfg.PagesUsers)
	if err != nil {
		return section{}, fmt.Errorf("%w\nCaddy's log ends:\n%s", err, door.logs)
	}
	res := pagesResult{Users: cfg.PagesUsers, Rate: cfg.PagesRate, Clients: cfg.PagesClients,
		Duration: cfg.PagesDuration, Saturation: cfg.PagesSaturation, CaddyVersion: version}
	for _, run := range []struct {
		target pageTarget
		into   *pagesRun
	}{{front, &res.Door}, {direct, &res.Direct}} {
		r := pagesRun{Target: run.target.name}
		if r.Paced, r.PacedFailed, err = pacedPages(ctx, client, run.target, cookies, cfg.PagesRate, cfg.PagesDuration); err != nil {
			return section{}, err
		}
		fmt.Fprintf(stdout, "  %s at %d/s: p50 %s, p99 %s, %d failed\n", r.Target, cfg.PagesRate, ms(r.Paced.P50), ms(r.Paced.P99), r.PacedFailed)
		before := cpuTimes(pids)
		if r.Saturated, r.SaturatedServed, r.SaturatedFailed, err = saturatePages(ctx, client, run.target, cookies, cfg.PagesClients, cfg.PagesSaturation); err != nil {
			return section{}, err
		}
		r.CPU = map[string]time.Duration{}
		for name, t := range cpuTimes(pids) {
			r.CPU[name] = (t - before[name]) / time.Duration(max(r.SaturatedServed, 1))
		}
		fmt.Fprintf(stdout, "  %s, %d clients: %.0f pages/s, p50 %s, p99 %s, %d failed\n", r.Target, cfg.PagesClients,
			rate(int(r.SaturatedServed), r.Saturated.Duration), ms(r.Saturated.P50), ms(r.Saturated.P99), r.SaturatedFailed)
		for _, name := range cpuOrder {
			fmt.Fprintf(stdout, "    CPU per page, %s: %s\n", name, us(r.CPU[name]))
		}
		*run.into = r
	}
	return res.section(), nil
}

// signUpUsers signs n users up through the front door and returns their
// session cookies, once every system accepts each of them: the users
// replica and the signing key have reached chat and cards, and each has a
// card account, so that every page measured is the full page.
func signUpUsers(ctx context.Context, c *http.Client, public string, n int) ([]*http.Cookie, error) {
	cookies := make([]*http.Cookie, n)
	err := forEach(ctx, n, setupWorkers, func(i int) error {
		form := url.Values{"email": {fmt.Sprintf("pages%d@example.com", i)}, "display_name": {"Reader " + strconv.Itoa(i)},
			"password": {loginPassword}}
		resp, err := sendForm(ctx, c, public, public+"/users/signup", nil, form)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("sign up through the front door: %s", resp.Status)
		}
		for _, k := range resp.Cookies() {
			if k.Name == authn.CookieName {
				cookies[i] = k
			}
		}
		if cookies[i] == nil {
			return errors.New("sign up set no session cookie")
		}
		if err := waitPage(ctx, c, public+"/cards/", cookies[i], 2*time.Minute); err != nil {
			return fmt.Errorf("the replicas have not caught up with the sign-up: %w", err)
		}
		if resp, err = sendForm(ctx, c, public, public+"/cards/account", cookies[i], url.Values{"name": {"Reader AB"}}); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("open a card account: %s", resp.Status)
		}
		return waitPage(ctx, c, public+"/chat/", cookies[i], 2*time.Minute)
	})
	return cookies, err
}

// sendForm posts form as the site's own page would (same-origin, and from
// origin if it is not ""), with cookie if not nil; the body is drained.
func sendForm(ctx context.Context, c *http.Client, origin, target string, cookie *http.Cookie, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// waitPage waits until target answers 200, as the cookie's user if cookie is
// not nil.
func waitPage(ctx context.Context, c *http.Client, target string, cookie *http.Cookie, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		status, err := getPage(ctx, c, target, cookie)
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s still answers %d (%v) after %s", target, status, err, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// getPage reads target as the cookie's user and returns the status.
func getPage(ctx context.Context, c *http.Client, target string, cookie *http.Cookie) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// pacedPages reads the pages at rate per second for d, request i being page
// i mod 3 as user i mod len(cookies), each request in a goroutine of its own
// so that a slow answer does not hold the next one back.
func pacedPages(ctx context.Context, c *http.Client, t pageTarget, cookies []*http.Cookie, perSecond int, d time.Duration) (latency, int64, error) {
	total := max(1, int(int64(perSecond)*int64(d)/int64(time.Second)))
	lats := make([]time.Duration, total)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(perSecond)
	err := pace(ctx, perSecond, total, func(i int) error {
		due := start.Add(time.Duration(i) * interval)
		wg.Go(func() {
			status, err := getPage(ctx, c, t.url(mainPages[i%len(mainPages)]), cookies[i%len(cookies)])
			lats[i] = time.Since(due)
			if err != nil || status != http.StatusOK {
				failed.Add(1)
			}
		})
		return nil
	})
	wg.Wait()
	return summarise(perSecond, time.Since(start), lats), failed.Load(), err
}

// saturatePages runs clients closed-loop readers for d.
func saturatePages(ctx context.Context, c *http.Client, t pageTarget, cookies []*http.Cookie, clients int, d time.Duration) (latency, int64, int64, error) {
	var served, failed atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for k := range clients {
		wg.Go(func() {
			var mine []time.Duration
			for i := k; time.Now().Before(end) && ctx.Err() == nil; i += clients {
				t0 := time.Now()
				status, err := getPage(ctx, c, t.url(mainPages[i%len(mainPages)]), cookies[i%len(cookies)])
				if err != nil || status != http.StatusOK {
					failed.Add(1)
					continue
				}
				served.Add(1)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	took := time.Since(start)
	if served.Load() == 0 {
		return latency{}, 0, failed.Load(), fmt.Errorf("%s: no page was served (%d failed)", t.name, failed.Load())
	}
	return summarise(0, took, lats), served.Load(), failed.Load(), ctx.Err()
}

// cpuTimes is the CPU time each process of pids has used so far, and this
// one's as "load generator".
func cpuTimes(pids map[string]int) map[string]time.Duration {
	t := map[string]time.Duration{"load generator": processCPU()}
	for name, pid := range pids {
		t[name] = procCPU(pid)
	}
	return t
}

// cpuOrder is how the CPU per page is listed.
var cpuOrder = []string{"front door", "users", "chat", "cards", "load generator"}

// startCaddy runs Caddy with the Caddyfile that compose uses, its upstreams
// pointed at the local systems, and waits until it routes a page.
func startCaddy(ctx context.Context, caddy, caddyfile, dir string, addrs map[string]string) (*systemProcess, string, error) {
	out, err := exec.CommandContext(ctx, caddy, "version").Output()
	if err != nil {
		return nil, "", fmt.Errorf("caddy version: %w", err)
	}
	version := strings.Fields(string(out))[0]
	p := &systemProcess{Base: "http://" + addrs["door"], logs: &tailLog{max: 64 << 10}}
	p.cmd = exec.Command(caddy, "run", "--config", caddyfile, "--adapter", "caddyfile")
	p.cmd.Env = os.Environ()
	env := frontdoor.CaddyEnv(port(addrs["door"]), port(addrs["door-health"]), dir,
		map[string][]string{"users": {addrs["users"]}, "chat": {addrs["chat"]}, "cards": {addrs["cards"]}}, frontdoor.CaddyOptions{})
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, "", err
	}
	if err := waitOK(ctx, p.Base+"/users/login", "Caddy at "+p.Base+" did not route /users/login", 30*time.Second); err != nil {
		p.stop()
		return nil, "", fmt.Errorf("%w\nits log ends:\n%s", err, p.logs)
	}
	return p, version, nil
}

// port is the port of a host:port.
func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func (r pagesResult) section() section {
	var b strings.Builder
	fmt.Fprintf(&b, "The three real systems, each on its own SQLite file, behind Caddy %s running the `deploy/Caddyfile` that compose "+
		"uses. %d users signed up through the front door, each with a card account; the pages are each system's main page for "+
		"a signed-in user, in turn: %s. Every request carries the session cookie, so each system verifies the token "+
		"(Ed25519) and checks its replica before it renders. Side by side in the same run, the same requests straight to "+
		"each system's port, to show what the front door costs. Targets: p99 < 20 ms at 1,000 pages/s; ≥ 5,000 pages/s at saturation.\n\n",
		r.CaddyVersion, r.Users, "`"+strings.Join(mainPages, "`, `")+"`")
	b.WriteString("| path | paced: rate | p50 | p99 | failed | p99 < 20 ms | saturated: clients | pages/s | p50 | p99 | failed | ≥ 5,000/s |\n")
	b.WriteString("|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|\n")
	for _, run := range []pagesRun{r.Door, r.Direct} {
		perSecond := rate(int(run.SaturatedServed), run.Saturated.Duration)
		fmt.Fprintf(&b, "| %s | %s/s for %s | %s | %s | %d | %s | %d for %s | %s | %s | %s | %d | %s |\n",
			run.Target, thousands(float64(r.Rate)), r.Duration, ms(run.Paced.P50), ms(run.Paced.P99), run.PacedFailed,
			metCell(run.Paced.P99 < 20*time.Millisecond), r.Clients, r.Saturation, thousands(perSecond),
			ms(run.Saturated.P50), ms(run.Saturated.P99), run.SaturatedFailed, metCell(perSecond >= 5000))
	}
	b.WriteString("\nCPU time per page served in the saturated runs, by process (each system serves a third of the pages; " +
		"the systems' figures are per page of all three kinds):\n\n| path | " + strings.Join(cpuOrder, " | ") + " | all |\n|---|" +
		strings.Repeat("--:|", len(cpuOrder)+1) + "\n")
	for _, run := range []pagesRun{r.Door, r.Direct} {
		var all time.Duration
		fmt.Fprintf(&b, "| %s |", run.Target)
		for _, name := range cpuOrder {
			all += run.CPU[name]
			fmt.Fprintf(&b, " %s |", us(run.CPU[name]))
		}
		fmt.Fprintf(&b, " %s |\n", us(all))
	}
	if d := rate(int(r.Direct.SaturatedServed), r.Direct.Saturated.Duration); d > 0 {
		fmt.Fprintf(&b, "\nThrough the front door the platform serves %.0f%% of the pages per second that the systems serve directly.",
			100*rate(int(r.Door.SaturatedServed), r.Door.Saturated.Duration)/d)
	}
	b.WriteString(" The load generator, Caddy and the three systems share the machine's two cores, so every figure here " +
		"includes the cost of the client that makes the load. Latency in the paced run counts from when a request was due, " +
		"not from when it was sent.\n")
	return section{Title: "Pages through the front door", Body: b.String()}
}
