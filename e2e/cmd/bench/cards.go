package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/e2e/vhost"
)

// This file measures scs-cards: authorisations through the terminal API from
// 64 clients at once, spread over 64 accounts and all on one hot account, and
// the overview page of an account with 1,000 transactions; on SQLite and on
// PostgreSQL, one scs-cards process each.

// postgresNoFlush is PostgreSQL with synchronous_commit off, run side by side
// to show what the commit's WAL flush costs; not a setting to deploy.
const postgresNoFlush = "PostgreSQL, commits not waiting for the WAL flush"

// cardsTerminalToken is the benchmark's terminal credential.
const cardsTerminalToken = "bench-terminal-credential"

// cardsRun is what one database measured.
type cardsRun struct {
	Database string
	// Spread and Hot are the authorisation runs: each client on its own
	// account, and every client on one.
	Spread, Hot authRun
	// Overview is GET /cards/ of the busy account, one client and eight.
	Overview, Overview8 latency
	Requests            int
}

// authRun is one closed-loop run of authorisations.
type authRun struct {
	Approved, Failed int64
	Took             time.Duration
	P50, P99         time.Duration
}

func (r authRun) perSecond() float64 { return rate(int(r.Approved), r.Took) }

// benchCards builds scs-cards and measures it on both databases.
func benchCards(ctx context.Context, cfg config, stdout io.Writer) (section, error) {
	dir, err := os.MkdirTemp("", "bench-cards-")
	if err != nil {
		return section{}, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildSystem(ctx, cfg.CardsDir, "scs-cards", dir)
	if err != nil {
		return section{}, err
	}
	var runs []cardsRun
	for _, database := range []string{"SQLite", "PostgreSQL", postgresNoFlush} {
		fmt.Fprintf(stdout, "\ncard authorisations on one scs-cards (%s), %d clients ...\n", database, cfg.CardsClients)
		r, err := benchCardsOn(ctx, cfg, bin, dir, database, stdout)
		if err != nil {
			return section{}, fmt.Errorf("cards on %s: %w", database, err)
		}
		runs = append(runs, r)
	}
	res := cardsResult{Clients: cfg.CardsClients, Duration: cfg.CardsDuration, Transactions: cfg.CardsTransactions, Runs: runs}
	res.printTable(stdout)
	return res.section(), nil
}

func benchCardsOn(ctx context.Context, cfg config, bin, dir, database string, stdout io.Writer) (res cardsRun, err error) {
	res.Database = database
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	public := "http://" + addr
	// One holder per client, and one more whose account gets the 1,000
	// transactions of the overview.
	users, err := newChatUsers(cfg.CardsClients+1, public)
	if err != nil {
		return res, err
	}
	feedURL, closeFeed := users.serveFeed()
	defer closeFeed()
	vh, err := vhost.Create(ctx, cfg.AMQPURL, "bench-cards-")
	if err != nil {
		return res, err
	}
	defer func() {
		if rerr := vh.Remove(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	databaseURL := filepath.Join(dir, "cards.db")
	if database != "SQLite" {
		dbURL, drop, err := createDatabase(ctx, cfg.PostgresURL)
		if err != nil {
			return res, err
		}
		databaseURL = dbURL
		if database == postgresNoFlush {
			// pgx sends an unknown URL parameter as a run-time setting.
			sep := "?"
			if strings.Contains(databaseURL, "?") {
				sep = "&"
			}
			databaseURL += sep + "synchronous_commit=off"
		}
		defer func() {
			if derr := drop(context.WithoutCancel(ctx)); err == nil {
				err = derr
			}
		}()
	} else {
		_ = os.Remove(databaseURL)
	}
	cards, err := startSystem(ctx, bin, addr,
		"DATABASE_URL="+databaseURL, "AMQP_URL="+vh.Systems["cards"], "PUBLIC_URL="+public,
		"USERS_FEED_URL="+feedURL, "USERS_FEED_TOKEN="+feedToken, "TERMINAL_TOKEN="+cardsTerminalToken,
		// A limit no run reaches: what is measured is approvals, not declines.
		"CARDS_DEFAULT_LIMIT=1000000000000")
	if err != nil {
		return res, err
	}
	defer cards.stop()
	c := &cardsClient{base: cards.Base, users: users, http: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: cfg.CardsClients + 8},
	}}
	if err := c.waitKnown(ctx, len(users.IDs)-1, 2*time.Minute); err != nil {
		return res, err
	}
	cardIDs := make([]string, len(users.IDs))
	if err := forEach(ctx, len(users.IDs), setupWorkers, func(i int) error {
		cardIDs[i], err = c.openAccount(ctx, i)
		return err
	}); err != nil {
		return res, err
	}
	spread := cardIDs[:cfg.CardsClients]
	hot := slices.Repeat([]string{cardIDs[0]}, cfg.CardsClients)
	// A warm-up, then the runs.
	if _, err := c.authorise(ctx, spread, 2*time.Second); err != nil {
		return res, err
	}
	if res.Spread, err = c.authorise(ctx, spread, cfg.CardsDuration); err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "  spread over %d accounts: %.0f/s\n", len(spread), res.Spread.perSecond())
	if res.Hot, err = c.authorise(ctx, hot, cfg.CardsDuration); err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "  all on one account: %.0f/s\n", res.Hot.perSecond())

	busy := len(users.IDs) - 1
	if err := forEach(ctx, cfg.CardsTransactions, setupWorkers, func(i int) error {
		_, err := c.authoriseOnce(ctx, cardIDs[busy], int64(100+i))
		return err
	}); err != nil {
		return res, err
	}
	res.Requests = cfg.CardsOverviews
	if res.Overview, err = c.overviews(ctx, busy, cfg.CardsOverviews, 1); err != nil {
		return res, err
	}
	if res.Overview8, err = c.overviews(ctx, busy, cfg.CardsOverviews, 8); err != nil {
		return res, err
	}
	return res, nil
}

// cardsClient acts as the terminal and as the holders' browsers.
type cardsClient struct {
	base  string
	users *chatUsers
	http  *http.Client
}

func (c *cardsClient) do(req *http.Request) (int, string, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// page requests path as user, with the user's cookie and a same-origin form.
func (c *cardsClient) page(ctx context.Context, user int, method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, "", err
	}
	req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: c.users.Tokens[user]})
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
	}
	return c.do(req)
}

// waitKnown waits until scs-cards knows the user from the feed.
func (c *cardsClient) waitKnown(ctx context.Context, user int, timeout time.Duration) error {
	cookie := &http.Cookie{Name: authn.CookieName, Value: c.users.Tokens[user]}
	if err := waitPage(ctx, c.http, c.base+"/cards/", cookie, timeout); err != nil {
		return fmt.Errorf("the replica has not caught up with the feed: %w", err)
	}
	return nil
}

var cardIDPattern = regexp.MustCompile(`data-testid="card" data-card-id="([0-9a-f-]{36})"`)

// openAccount opens user's account through the page and returns the card.
func (c *cardsClient) openAccount(ctx context.Context, user int) (string, error) {
	status, body, err := c.page(ctx, user, http.MethodPost, "/cards/account", url.Values{"name": {"Bench AB"}})
	if err != nil {
		return "", err
	}
	if status != http.StatusSeeOther {
		return "", fmt.Errorf("open an account: %d %.200s", status, body)
	}
	status, body, err = c.page(ctx, user, http.MethodGet, "/cards/", nil)
	if err != nil {
		return "", err
	}
	m := cardIDPattern.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		return "", fmt.Errorf("the overview (%d) shows no card", status)
	}
	return m[1], nil
}

// authoriseOnce sends one authorisation and reports whether it was approved.
func (c *cardsClient) authoriseOnce(ctx context.Context, card string, minor int64) (bool, error) {
	body := fmt.Sprintf(`{"card_id":%q,"amount_minor":%d,"currency":"SEK","merchant":"Bench Shop"}`, card, minor)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/cards/api/v1/authorisations", strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+cardsTerminalToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	status, answer, err := c.do(req)
	if err != nil {
		return false, err
	}
	if status != http.StatusCreated {
		return false, fmt.Errorf("authorise: %d %.200s", status, answer)
	}
	return strings.Contains(answer, `"approved":true`), nil
}

// authorise runs one closed-loop client per card for d.
func (c *cardsClient) authorise(ctx context.Context, cards []string, d time.Duration) (authRun, error) {
	var run authRun
	var approved, failed atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for _, card := range cards {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(end) && ctx.Err() == nil {
				t0 := time.Now()
				ok, err := c.authoriseOnce(ctx, card, 100)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				if ok {
					approved.Add(1)
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	run.Took = time.Since(start)
	run.Approved, run.Failed = approved.Load(), failed.Load()
	if firstErr != nil {
		return run, firstErr
	}
	slices.Sort(lats)
	run.P50, run.P99 = percentile(lats, 50), percentile(lats, 99)
	return run, nil
}

// overviews reads user's overview n times from workers clients at once.
func (c *cardsClient) overviews(ctx context.Context, user, n, workers int) (latency, error) {
	lats := make([]time.Duration, n)
	start := time.Now()
	err := forEach(ctx, n, workers, func(i int) error {
		t0 := time.Now()
		status, body, err := c.page(ctx, user, http.MethodGet, "/cards/", nil)
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(body, `data-testid="older"`) {
			return fmt.Errorf("overview: %d, or no second page of transactions", status)
		}
		lats[i] = time.Since(t0)
		return nil
	})
	if err != nil {
		return latency{}, err
	}
	slices.Sort(lats)
	return summarise(0, time.Since(start), lats), nil
}

// cardsResult is the section's figures.
type cardsResult struct {
	Clients      int
	Duration     time.Duration
	Transactions int
	Runs         []cardsRun
}

func (r cardsResult) printTable(w io.Writer) {
	for _, run := range r.Runs {
		fmt.Fprintf(w, "%-10s spread %6.0f/s (p50 %s, p99 %s)  hot %6.0f/s (p99 %s)  overview p50 %s p99 %s; 8 clients p50 %s p99 %s\n",
			run.Database, run.Spread.perSecond(), ms(run.Spread.P50), ms(run.Spread.P99), run.Hot.perSecond(), ms(run.Hot.P99),
			ms(run.Overview.P50), ms(run.Overview.P99), ms(run.Overview8.P50), ms(run.Overview8.P99))
	}
}

func (r cardsResult) section() section {
	var b strings.Builder
	fmt.Fprintf(&b, "One scs-cards process per database, its terminal API over HTTP with keep-alive: %d closed-loop clients, each sending "+
		"authorisations of SEK 1.00 with a new `Idempotency-Key`, for %s after a 2 s warm-up. *Spread*: each client on its own account; "+
		"*hot*: all %d on one account, so every authorisation waits for the one account row. The accounts' limit is raised so that "+
		"none is declined. The overview is `GET /cards/` of an account with %d transactions (the page shows the newest 20 and a link to older "+
		"ones), %d requests from one client and then from eight.\n\n", r.Clients, r.Duration, r.Clients, r.Transactions, r.Runs[0].Requests)
	b.WriteString("| database | authorisations/s, spread | p50 / p99 | target ≥ 2,000/s | hot account | overview p50 / p99 | overview, 8 clients, p50 / p99 |\n")
	b.WriteString("|---|--:|--:|---|--:|--:|--:|\n")
	for _, run := range r.Runs {
		met := "**no**"
		if run.Spread.perSecond() >= 2000 {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s/s | %s / %s | %s / %s |\n", run.Database, thousands(run.Spread.perSecond()),
			ms(run.Spread.P50), ms(run.Spread.P99), met, thousands(run.Hot.perSecond()),
			ms(run.Overview.P50), ms(run.Overview.P99), ms(run.Overview8.P50), ms(run.Overview8.P99))
	}
	b.WriteString("\nThe benchmark's clients, scs-cards and the database share the machine's cores. On PostgreSQL an approval is three " +
		"statements and a commit (the key's advisory lock and look-up, the conditional hold with its ledger row, the key's answer); " +
		"each commit waits for the WAL flush (`synchronous_commit = on`). The third row, measured in the same run, is the same " +
		"PostgreSQL with `synchronous_commit = off`: what the flush costs on this machine (an approval must survive a crash, so it stays on).\n")
	return section{Title: "Card authorisations and the overview", Body: b.String()}
}
