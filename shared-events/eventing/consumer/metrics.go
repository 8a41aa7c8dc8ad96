package consumer

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	outcomes     *prometheus.CounterVec
	lag          prometheus.Histogram
	redeliveries prometheus.Counter
	deadLetters  *prometheus.CounterVec
	// databaseRetries counts batches the replica's database refused and the
	// consumer retried in place.
	databaseRetries prometheus.Counter
}

func newMetrics(queue string) metrics {
	labels := prometheus.Labels{"queue": queue}
	m := metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consumer_events_total", Help: "Events processed, by outcome (applied, duplicate, stale).", ConstLabels: labels,
		}, []string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "consumer_apply_lag_seconds",
			Help:        "Time from the event's commit in the owner's outbox to its commit in the replica.",
			ConstLabels: labels,
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "consumer_redeliveries_total", Help: "Deliveries the broker marked as redelivered.", ConstLabels: labels,
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consumer_dead_letters_total", Help: "Events sent to the dead-letter queue, by reason.", ConstLabels: labels,
		}, []string{"reason"}),
		databaseRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "consumer_database_retries_total", Help: "Batches the replica's database refused, retried in place.", ConstLabels: labels,
		}),
	}
	// Every series exists from the start, at 0, so that an alert on
	// rate(consumer_dead_letters_total[5m]) > 0 sees the first dead letter
	// rather than a series that appears out of nothing.
	for _, out := range []Outcome{Applied, Duplicate, Stale, Ignored} {
		m.outcomes.WithLabelValues(string(out))
	}
	for _, kind := range []string{deadLetterUndecodable, deadLetterSignature, deadLetterContract, deadLetterHandler} {
		m.deadLetters.WithLabelValues(kind)
	}
	return m
}

func (m metrics) describe(ch chan<- *prometheus.Desc) {
	m.outcomes.Describe(ch)
	m.lag.Describe(ch)
	m.redeliveries.Describe(ch)
	m.deadLetters.Describe(ch)
	m.databaseRetries.Describe(ch)
}

func (m metrics) collect(ch chan<- prometheus.Metric) {
	m.outcomes.Collect(ch)
	m.lag.Collect(ch)
	m.redeliveries.Collect(ch)
	m.deadLetters.Collect(ch)
	m.databaseRetries.Collect(ch)
}
