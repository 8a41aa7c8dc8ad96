package chaos

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/e2e/platform"
)

// counters are Prometheus series by their full name with labels
// (`consumer_events_total{outcome="duplicate",queue="chat.from-users"}`),
// summed over the runs of a process: a restarted process counts from zero, so
// the test reads each run's counters just before it ends it.
type counters map[string]float64

// scrape adds the counters of the instance at base (its /metrics) to c.
func (c counters) scrape(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s/metrics: %v", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s/metrics: %d", base, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// "name{labels} value": label values may hold spaces, the value does not.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		c[line[:i]] += v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s/metrics: %v", base, err)
	}
}

// sum adds up the series of the metric name whose labels include every one of
// labels (each written as in the exposition, `outcome="duplicate"`).
func (c counters) sum(name string, labels ...string) float64 {
	var total float64
	for series, v := range c {
		metric, rest, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		all := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				all = false
				break
			}
		}
		if all {
			total += v
		}
	}
	return total
}

// consumerReport is one consumer's counters in a line of the test's log.
func (c counters) consumerReport(queue string) string {
	q := `queue="` + queue + `"`
	return fmt.Sprintf("%s: applied %.0f, duplicate %.0f, stale %.0f, redeliveries %.0f, dead letters %.0f, database retries %.0f",
		queue,
		c.sum("consumer_events_total", q, `outcome="applied"`),
		c.sum("consumer_events_total", q, `outcome="duplicate"`),
		c.sum("consumer_events_total", q, `outcome="stale"`),
		c.sum("consumer_redeliveries_total", q),
		c.sum("consumer_dead_letters_total", q),
		c.sum("consumer_database_retries_total", q))
}

// add adds other's series to c.
func (c counters) add(other counters) {
	for k, v := range other {
		c[k] += v
	}
}

// killWhen polls the metrics of the system name until busy holds, then kills
// it at once, so that the crash lands while the metrics show it at work (a
// crash of an idle process proves little). It adds the last scrape to tally
// and returns it.
func killWhen(t *testing.T, p *platform.Platform, name, what string, tally counters, busy func(counters) bool) counters {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := counters{}
		c.scrape(t, p.Direct[name][0])
		if busy(c) {
			p.Kill(t, name)
			tally.add(c)
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("scs-%s did not show %s within 30s", name, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
