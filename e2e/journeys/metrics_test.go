package journeys

import (
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/platform"
)

// requiredMetrics are the series ops watch on each system (README, "When
// replication lags"), each with a label it must carry.
var requiredMetrics = map[string][]string{
	"users": {
		`http_request_duration_seconds_count{method="POST",route="/users/signup",status="303"}`,
		`outbox_backlog`, `outbox_oldest_unsent_age_seconds`, `outbox_published_total`,
		`consumer_apply_lag_seconds_count{queue="users.from-chat"}`,
		`consumer_redeliveries_total{queue="users.from-chat"}`,
		`consumer_dead_letters_total{queue="users.from-chat",reason="handler"}`,
		`consumer_dead_letters_total{queue="users.from-chat",reason="undecodable"}`,
	},
	"chat": {
		`http_request_duration_seconds_count{method="GET",route="/chat/",status="200"}`,
		`outbox_backlog`, `outbox_oldest_unsent_age_seconds`,
		`consumer_apply_lag_seconds_count{queue="chat.from-users"}`,
		`consumer_events_total{outcome="applied",queue="chat.from-users"}`,
		`consumer_redeliveries_total{queue="chat.from-users"}`,
		`consumer_dead_letters_total{queue="chat.from-users",reason="handler"}`,
		`chat_live_connections`, `chat_matches_total`,
	},
	"cards": {
		`http_request_duration_seconds_count{method="GET",route="/cards/",status="200"}`,
		`outbox_backlog`, `outbox_oldest_unsent_age_seconds`,
		`consumer_apply_lag_seconds_count{queue="cards.from-users"}`,
		`consumer_redeliveries_total{queue="cards.from-users"}`,
		`consumer_dead_letters_total{queue="cards.from-users",reason="handler"}`,
		`cards_authorisations_total{outcome="approved"}`, `cards_authorisations_total{outcome="declined"}`, `cards_statements_issued_total`,
	},
}

// TestEverySystemExposesItsMetrics: after a sign-up that replicates to chat
// and cards and a page read on each, every system's /metrics (at the root of
// its own port) holds the series of requiredMetrics, and the front door does
// not serve /metrics at all.
func TestEverySystemExposesItsMetrics(t *testing.T) {
	p := platform.Start(t, platform.Options{})
	ada := newPerson(t, "Ada")
	ada.signUp(p.URL)
	ada.known(p.URL)
	servicetest.Eventually(t, 15*time.Second, "cards to know Ada", func() bool {
		resp, err := ada.client.Get(p.URL + "/cards/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		// Without an account, the overview offers to open one: still a 200.
		return resp.StatusCode == http.StatusOK
	})
	for system, want := range requiredMetrics {
		body := get(t, p.Direct[system][0]+"/metrics")
		for _, series := range want {
			// A series line is its name and labels, then a space and a value.
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` \S+$`).MatchString(body) {
				t.Errorf("scs-%s's /metrics has no series %s", system, series)
			}
		}
	}
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the front door answers /metrics with %d, want 404: metrics are for the internal network", resp.StatusCode)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}
