package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	backlogDesc = prometheus.NewDesc("outbox_backlog", "Events committed but not yet confirmed by the broker.", nil, nil)
	oldestDesc  = prometheus.NewDesc("outbox_oldest_unsent_age_seconds", "Age of the oldest event not yet confirmed by the broker (0 when none).", nil, nil)
)

// Describe implements prometheus.Collector: the outbox reports its backlog.
func (o *Outbox) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector. It asks the database at scrape time, so
// the figures hold for every instance and even while the relay is stuck; the
// partial index on unsent rows keeps the query cheap.
func (o *Outbox) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	count, oldest, err := o.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(backlogDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(count))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest.Seconds())
}
