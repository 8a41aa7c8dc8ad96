package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/identity/authn"
)

// This file runs scs-chat for the live benchmarks: the binary, its users (a
// stand-in for scs-users' feed and tokens signed with the feed's key), its own
// RabbitMQ virtual host, its processes, and the joins that pair users up.

// benchChat builds scs-chat and runs the live benchmarks the flags ask for.
func benchChat(ctx context.Context, cfg config, stdout io.Writer) ([]section, error) {
	dir, err := os.MkdirTemp("", "bench-chat-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildSystem(ctx, cfg.ChatDir, "scs-chat", dir)
	if err != nil {
		return nil, err
	}
	if err := raiseOpenFiles(); err != nil {
		return nil, err
	}
	var sections []section
	if cfg.LiveConns > 0 {
		fmt.Fprintf(stdout, "\nlive delivery on one scs-chat (SQLite), %d connections ...\n", cfg.LiveConns)
		res, err := benchLive(ctx, cfg, bin, dir, stdout)
		if err != nil {
			return nil, fmt.Errorf("live delivery: %w", err)
		}
		res.printTable(stdout)
		sections = append(sections, res.section())
	}
	if cfg.CrossPairs > 0 {
		fmt.Fprintf(stdout, "\ncross-instance delivery, two scs-chat on PostgreSQL, %d pairs of each kind ...\n", cfg.CrossPairs)
		res, err := benchCross(ctx, cfg, bin, stdout)
		if err != nil {
			return nil, fmt.Errorf("cross-instance delivery: %w", err)
		}
		res.printTable(stdout)
		sections = append(sections, res.section())
	}
	return sections, nil
}

// raiseOpenFiles lifts this process's limit on open files to the hard limit:
// the benchmark holds one socket per connection, and the scs-chat it starts
// inherits the limit for its side of them.
func raiseOpenFiles() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open files limit: %w", err)
	}
	if lim.Cur >= lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open files limit to %d: %w", lim.Max, err)
	}
	return nil
}

// openFilesLimit is the soft limit on open files, for the error that says why
// the connections could not all be opened.
func openFilesLimit() uint64 {
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// feedToken is the bearer token of the stand-in feed.
const feedToken = "bench-feed-token"

// chatUsers are the users of one deployment: what scs-users would have
// published about them, and a session token for each.
type chatUsers struct {
	IDs    []string
	Tokens []string
	// events are the feed: the signing key, then one registration per user.
	events []cloudevent.Event
}

// newChatUsers registers n users and signs a token for each, valid for an
// hour, for the origin audience ("http://127.0.0.1:PORT").
func newChatUsers(n int, audience string) (*chatUsers, error) {
	public, private, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	const keyID = "bench"
	key, err := contracts.NewEvent(contracts.SigningKeyPublishedV1{KeyID: keyID, Algorithm: contracts.AlgorithmEdDSA,
		PublicKey: base64.RawURLEncoding.EncodeToString(public), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour)}, 1)
	if err != nil {
		return nil, err
	}
	u := &chatUsers{IDs: make([]string, n), Tokens: make([]string, n), events: make([]cloudevent.Event, 0, n+1)}
	u.events = append(u.events, key)
	for i := range n {
		id := uuid.Must(uuid.NewV7()).String()
		ev, err := contracts.NewEvent(contracts.UserRegisteredV1{UserSnapshot: contracts.UserSnapshot{
			UserID: id, DisplayName: "Bench " + strconv.Itoa(i), Role: contracts.RoleUser, Status: contracts.StatusActive,
			TokensValidAfter: now.Add(-time.Minute),
		}}, 1)
		if err != nil {
			return nil, err
		}
		token, err := authn.Sign(private, authn.Claims{KeyID: keyID, UserID: id, SessionID: uuid.NewString(), Role: contracts.RoleUser,
			Audience: audience, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			return nil, err
		}
		u.IDs[i], u.Tokens[i] = id, token
		u.events = append(u.events, ev)
	}
	// Signed once, as scs-users' outbox signs what it stores, with the
	// development key that chat pins while USERS_EVENT_KEYS is unset.
	signer := eventsig.DevelopmentSigner("users")
	for i := range u.events {
		u.events[i].Sequence = int64(i + 1)
		if u.events[i], err = signer.Sign(u.events[i]); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Read implements feed.Source: the events are numbered 1, 2, 3... in order.
func (u *chatUsers) Read(_ context.Context, after int64, limit int) ([]cloudevent.Event, int64, error) {
	head := int64(len(u.events))
	from := min(max(after, 0), head)
	to := min(from+int64(limit), head)
	return u.events[from:to], head, nil
}

// serveFeed serves the users as scs-users' event feed would, until close.
func (u *chatUsers) serveFeed() (feedURL string, close func()) {
	srv := httptest.NewServer(feed.Handler(u, eventsig.DevelopmentSigner("users"), slog.New(slog.DiscardHandler), feedToken))
	return srv.URL, srv.Close
}

// urlPath is the path of u, such as a database URL's "/name".
func urlPath(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return parsed.Path
}

// buildSystem builds the program name (such as "scs-chat") of the module in
// moduleDir into dir, alone with GOWORK=off as its Dockerfile does, and
// returns the binary's path.
func buildSystem(ctx context.Context, moduleDir, name, dir string) (string, error) {
	bin := filepath.Join(dir, name)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/"+name)
	build.Dir = moduleDir
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s in %s: %v\n%s", name, moduleDir, err, out)
	}
	return bin, nil
}

// systemProcess is one running system (scs-users, scs-chat or scs-cards).
type systemProcess struct {
	cmd  *exec.Cmd
	Base string // http://127.0.0.1:PORT
	logs *tailLog
}

// startSystem starts bin on addr with env added to this process's environment
// and waits until /readyz answers 200: the database migrated, the broker
// connected, the relay running.
func startSystem(ctx context.Context, bin, addr string, env ...string) (*systemProcess, error) {
	p := &systemProcess{Base: "http://" + addr, logs: &tailLog{max: 64 << 10}}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=" + addr}, env...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitOK(ctx, p.Base+"/readyz", filepath.Base(bin)+" at "+p.Base+" was not ready", 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\nits log ends:\n%s", err, p.logs)
	}
	return p, nil
}

// stop ends the process with SIGTERM, as an orchestrator would, and waits.
func (p *systemProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func (p *systemProcess) pid() int { return p.cmd.Process.Pid }

// procCPU is the user and system CPU time process pid has used, from
// /proc/PID/stat (0 if it cannot be read).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(string(b))
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux
// whatever the kernel's own tick rate.
const clockTicks = 100

// parseStatCPU reads utime and stime, the 14th and 15th fields, counting from
// after the command name, which is in parentheses and may hold spaces.
func parseStatCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// metrics reads the process's /metrics and returns its unlabelled samples.
func (p *systemProcess) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics answered %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the samples without labels from Prometheus text, such as
// "chat_live_connections 10000".
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		value, _, _ = strings.Cut(value, " ") // an optional timestamp follows
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m, s.Err()
}

// waitConnections waits until chat_live_connections is want: the server
// counts a websocket a moment after its handshake answered.
func (p *systemProcess) waitConnections(ctx context.Context, want int, timeout time.Duration) (map[string]float64, error) {
	deadline := time.Now().Add(timeout)
	var got float64
	for {
		m, err := p.metrics(ctx)
		if err != nil {
			return nil, err
		}
		if got = m["chat_live_connections"]; int(got) == want {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s counts %.0f live connections after %s, want %d", p.Base, got, timeout, want)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tailLog keeps the last max bytes a process wrote, for the error message of
// a failed run: a chat with ten thousand connections may log a lot.
type tailLog struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (l *tailLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if over := len(l.b) - l.max; over > 0 {
		l.b = append(l.b[:0], l.b[over:]...)
	}
	return len(p), nil
}

func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// chatEnv is the environment of a benchmark scs-chat.
func chatEnv(databaseURL, amqpURL, publicURL, feedURL string) []string {
	return []string{
		"DATABASE_URL=" + databaseURL, "AMQP_URL=" + amqpURL, "PUBLIC_URL=" + publicURL,
		"USERS_FEED_URL=" + feedURL, "USERS_FEED_TOKEN=" + feedToken,
		// The per-user limit (20 messages, then one every half second) would
		// stop a benchmark sender at once; it is not what is measured.
		"LIMIT_MESSAGES_PER_USER=1000000/1ms",
	}
}

// chatClient is what the benchmark uses to act as the users' browsers.
type chatClient struct {
	base  string
	users *chatUsers
	http  *http.Client
}

func newChatClient(base string, users *chatUsers, workers int) *chatClient {
	return &chatClient{base: base, users: users, http: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// One kept-alive connection per worker, not a new one per join.
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
	}}
}

// waitKnown waits until scs-chat knows the last user from the feed: until then
// its pages answer 503 "one moment".
func (c *chatClient) waitKnown(ctx context.Context, timeout time.Duration) error {
	last := len(c.users.IDs) - 1
	deadline := time.Now().Add(timeout)
	status := 0
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/chat/", nil)
		if err != nil {
			return err
		}
		req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: c.users.Tokens[last]})
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if status = resp.StatusCode; status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("GET /chat/ for the last of %d users still answers %d after %s: the replica has not caught up with the feed", len(c.users.IDs), status, timeout)
}

// join posts the start form for user at (lat, lon) with the smallest range and
// returns where the 303 sends the browser.
func (c *chatClient) join(ctx context.Context, user int, lat, lon float64) (string, error) {
	form := url.Values{"lat": {strconv.FormatFloat(lat, 'f', 6, 64)}, "lon": {strconv.FormatFloat(lon, 'f', 6, 64)}, "range": {"0.1"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/chat/join", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: c.users.Tokens[user]})
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /chat/join answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return resp.Header.Get("Location"), nil
}

// pair is two users in one conversation.
type pair struct {
	A, B         int // user indexes
	Conversation string
}

// joinPairs makes a conversation of users 2i and 2i+1 for every pair i: both
// join at point i of a grid whose points are kilometres apart, with a range of
// 100 m, so the second join matches the first and nobody else. workers pairs
// join at once.
func (c *chatClient) joinPairs(ctx context.Context, pairs, workers int) ([]pair, error) {
	out := make([]pair, pairs)
	err := forEach(ctx, pairs, workers, func(i int) error {
		lat, lon := gridPoint(i)
		a, b := 2*i, 2*i+1
		if loc, err := c.join(ctx, a, lat, lon); err != nil {
			return err
		} else if loc != "/chat/waiting" {
			return fmt.Errorf("the first of pair %d was sent to %q, not to wait: another pair is too close", i, loc)
		}
		loc, err := c.join(ctx, b, lat, lon)
		if err != nil {
			return err
		}
		id, ok := strings.CutPrefix(loc, "/chat/conversations/")
		if !ok {
			return fmt.Errorf("the second of pair %d was sent to %q, not to a conversation", i, loc)
		}
		out[i] = pair{A: a, B: b, Conversation: id}
		return nil
	})
	return out, err
}

// gridSpacing is the distance between neighbouring join points, in degrees:
// about 2.2 km near the equator, twenty times the range.
const gridSpacing = 0.02

// gridPoint is the join point of pair i: rows of 100 points from (0, 0)
// northwards, all within a few degrees of the equator.
func gridPoint(i int) (lat, lon float64) {
	return float64(i/100) * gridSpacing, float64(i%100) * gridSpacing
}

// forEach calls fn(i) for i in [0, n) on workers goroutines and returns the
// first error, after which no new call starts.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// createDatabase makes a fresh PostgreSQL database next to the one at
// serverURL and returns its URL; drop removes it.
func createDatabase(ctx context.Context, serverURL string) (dbURL string, drop func(context.Context) error, err error) {
	admin, err := sqldb.Open(ctx, serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", serverURL, err)
	}
	name := "bench_chat_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop = func(ctx context.Context) error {
		defer admin.Close()
		// FORCE: a connection the stopped processes left is no reason to keep it.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}
